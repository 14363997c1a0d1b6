"""torch Datasets over synthetic ECG: generated on demand (:class:`SyntheticECG`,
:class:`SyntheticBeats`) or read from ``synthesize_to`` shards (:class:`ShardDataset`).

An item is ``(signal float32 tensor (leads, samples), target float32 tensor (n_targets,))``.
Items are generated (or read) a batch at a time: the DataLoader asks for whole batches through
``__getitems__``, and :class:`BlockBatchSampler` makes each batch a contiguous run of records,
which the Rust core generates in one call. Records are independent draws, so a shuffled order
of contiguous blocks is as random as a shuffled order of records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from .. import shards as _shards
from .. import synth as _synth
from .._threads import set_num_threads
from .._validate import check_int, check_positive
from ..diagnoses import DIAGNOSES, FINDINGS
from ..errors import InvalidParameterError
from ..preprocessing import NORMALIZATIONS, Preprocessing, beat_window, normalize, resample

__all__ = [
    "BEAT_TARGETS",
    "DIAGNOSES",
    "FINDINGS",
    "TARGETS",
    "BlockBatchSampler",
    "ShardDataset",
    "SyntheticBeats",
    "SyntheticECG",
    "TargetScaler",
    "record_targets",
]

#: Record-level regression targets (columns of ``SynthBatch.labels``; ms, HR in bpm).
TARGETS = ("hr", "rr_std", "pr", "qrs", "qt", "qtc_bazett", "qtc_fridericia")


def record_targets(labels: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """The columns ``names`` (:data:`TARGETS`, :data:`DIAGNOSES`, :data:`FINDINGS`) of
    synthetic record labels as a float array (diagnoses and findings 0/1)."""
    derived = {  # computed only when asked for (GAN records have no pathology labels)
        "AF": lambda: labels["param_af"] > 0,
        "LBBB": lambda: labels["param_conduction"] == 1,
        "RBBB": lambda: labels["param_conduction"] == 2,
        "PAC": lambda: labels["n_pac"] > 0,
        "PVC": lambda: labels["n_pvc"] > 0,
        "AVB": lambda: labels["param_av_block"] > 0,  # second- or third-degree AV block
        "LAD": lambda: labels["param_qrs_axis"] < -30.0,
        "LAFB": lambda: labels["param_lafb"] > 0,
        "PACE": lambda: labels["param_paced"] > 0,
    }
    missing = [n for n in names if n not in derived and n not in labels]
    if missing:
        raise InvalidParameterError(f"these records have no label(s) {missing}")
    cols = [derived[n]() if n in derived else labels[n] for n in names]
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1)


#: Beat-level targets of :class:`SyntheticBeats` (this beat's intervals, local HR from its RR).
BEAT_TARGETS = ("hr", "pr", "qrs", "qt")


@dataclass
class TargetScaler:
    """Standardisation of targets: ``(y - mean) / std`` per target, with its inverse."""

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, names: Sequence[str], values: np.ndarray) -> TargetScaler:
        values = np.asarray(values, dtype=np.float64)
        # missing targets (NaN: an interval the labeller could not measure) are left out
        finite = np.isfinite(values)
        count = finite.sum(axis=0)
        mean = np.where(finite, values, 0.0).sum(axis=0) / np.maximum(count, 1)
        var = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count, 1)
        std = np.sqrt(var)
        return cls(tuple(names), mean, np.where(std > 0, std, 1.0))

    def transform(self, y: Any) -> Any:
        return (y - self._like(self.mean, y)) / self._like(self.std, y)

    def inverse(self, y: Any) -> Any:
        return y * self._like(self.std, y) + self._like(self.mean, y)

    @staticmethod
    def _like(v: np.ndarray, y: Any) -> Any:
        if isinstance(y, torch.Tensor):
            return torch.as_tensor(v, dtype=y.dtype, device=y.device)
        return v.astype(np.asarray(y).dtype, copy=False)

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetScaler:
        return cls(tuple(d["names"]), np.asarray(d["mean"]), np.asarray(d["std"]))


def _check_targets(targets: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(targets, str):
        targets = tuple(t.strip() for t in targets.split(","))
    targets = tuple(targets)
    if not targets:
        raise InvalidParameterError("targets must not be empty")
    for t in targets:
        if t not in allowed:
            raise InvalidParameterError(f"unknown target {t!r}; choose from {', '.join(allowed)}")
    return targets


def _runs(indices: Sequence[int]) -> list[tuple[int, int, list[int]]]:
    """Split indices into runs of consecutive values: (start, stop, positions in the batch)."""
    order = sorted(range(len(indices)), key=lambda k: indices[k])
    runs: list[tuple[int, int, list[int]]] = []
    for k in order:
        i = indices[k]
        if runs and i == runs[-1][1]:
            runs[-1] = (runs[-1][0], i + 1, [*runs[-1][2], k])
        elif runs and i < runs[-1][1]:  # repeated index
            runs[-1][2].append(k)
        else:
            runs.append((i, i + 1, [k]))
    return runs


def _cap_threads_in_worker() -> None:
    """Inside a DataLoader worker, one core thread: the workers are the parallelism."""
    info = torch.utils.data.get_worker_info()
    if info is not None and not getattr(_cap_threads_in_worker, "_done", False):
        set_num_threads(1)
        _cap_threads_in_worker._done = True  # type: ignore[attr-defined]


class _RecordDataset(Dataset):
    """Shared machinery: options, batched fetching, crop, normalisation, transform."""

    def __init__(
        self,
        n: int,
        targets: Any,
        allowed: Sequence[str],
        *,
        normalize: str | None,
        crop: float | None,
        transform: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None,
        seed: int,
    ) -> None:
        self.n = check_int(n, name="n", low=0, high=2**40)
        self.targets = _check_targets(targets, allowed)
        if normalize not in NORMALIZATIONS:
            raise InvalidParameterError(
                f"normalize must be one of {NORMALIZATIONS}, not {normalize!r}"
            )
        self.normalize = normalize
        self.crop = None if crop is None else check_positive(crop, name="crop")
        if transform is not None and not callable(transform):
            raise InvalidParameterError(
                "transform must be callable (signal, target) -> (signal, target)"
            )
        self.transform = transform
        self.seed = check_int(seed, name="seed", low=0, high=2**63 - 1)
        self.scaler: TargetScaler | None = None

    # subclasses provide: fs, lead_names, n_samples and _load(start, stop) -> (x, y)
    fs: float
    lead_names: tuple[str, ...]
    n_samples: int

    def __len__(self) -> int:
        return self.n

    @property
    def preprocessing(self) -> Preprocessing:
        """The input pipeline (stored in checkpoints): records cut to ``crop`` seconds from
        their start at inference (training crops at a random offset)."""
        length = self.crop if self.crop is not None else self.n_samples / self.fs
        return Preprocessing("record", self.fs, self.lead_names, length, self.normalize)

    def _load(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _fit_scaler(self, scaler: Any, probe: int = 512) -> None:
        if scaler is None or isinstance(scaler, TargetScaler):
            self.scaler = scaler
            return
        if scaler != "fit":
            raise InvalidParameterError("scaler must be 'fit', None or a TargetScaler")
        m = min(self.n, probe)
        if m == 0:
            self.scaler = None
            return
        _, y = self._load(0, m)
        self.scaler = TargetScaler.fit(self.targets, y)
        binary = np.isin(self.targets, DIAGNOSES + FINDINGS)
        if binary.any():  # 0/1 targets stay 0/1 (for a BCE loss)
            self.scaler.mean[binary], self.scaler.std[binary] = 0.0, 1.0

    def _finish(self, i: int, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if self.crop is not None:
            length = round(self.crop * self.fs)
            if length < x.shape[-1]:
                # the same crop for item i on every call and in every worker
                rng = np.random.default_rng([self.seed, i, 0x5EED])
                off = int(rng.integers(0, x.shape[-1] - length + 1))
                x = x[:, off : off + length]
        x = normalize(x, self.normalize)
        if self.scaler is not None:
            y = self.scaler.transform(y)
        if self.transform is not None:
            x, y = self.transform(x, y)
        return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32)), torch.as_tensor(
            np.asarray(y, dtype=np.float32)
        )

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.__getitems__([i])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        _cap_threads_in_worker()
        out: list[Any] = [None] * len(indices)
        idx = [int(i) for i in indices]
        for i in idx:
            if not -self.n <= i < self.n:
                raise IndexError(f"index {i} out of range for {self.n} items")
        idx = [i % self.n for i in idx] if self.n else idx
        for start, stop, positions in _runs(idx):
            x, y = self._load(start, stop)
            for k in positions:
                j = idx[k] - start
                out[k] = self._finish(idx[k], x[j], y[j])
        return out

    def batch_sampler(
        self, batch_size: int, *, shuffle: bool = True, seed: int = 0, drop_last: bool = False
    ) -> BlockBatchSampler:
        """Batches of consecutive items (generated/read in one call), blocks in random order."""
        return BlockBatchSampler(
            self.n, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last
        )


class SyntheticECG(_RecordDataset):
    """Synthetic records generated on demand: item ``i`` is record ``i`` of the stream
    ``(seed, i)`` of :func:`ecgfast.synthesize`, identical on every call and in every worker.

    Parameters
    ----------
    n : int
        Number of records (the dataset's length).
    targets : sequence of str or comma-separated str
        Label columns to regress (:data:`TARGETS`) and/or 0/1 diagnoses (:data:`DIAGNOSES`,
        :data:`FINDINGS`, for a multi-label task; never standardised).
    seed : int
        Stream seed (use different seeds for train and validation sets).
    leads, fs, duration, hr, pr, qrs, qt, qtc, hrv, noise, method, rhythm, ectopy, conduction,
    morphology
        Passed to :func:`ecgfast.synthesize` (``fs`` is the model's sampling rate: records are
        generated at it, no resampling, except with ``method="deepfake"``, whose GAN makes
        500 Hz only: its records are resampled to ``fs``). GAN records whose interval the
        labeller could not measure have NaN targets, which the regression loss, the scaler and
        the metrics leave out.
    normalize : {"zscore", "minmax", None}
        Per record and lead: z-score, or min-max to [0, 1] (as in the regression-to-
        classification paper).
    scaler : "fit", None or TargetScaler
        Target standardisation: fitted on the first 512 records by default (stored in
        ``.scaler``, with ``.scaler.inverse``); pass the training set's scaler to a validation set.
    crop : float, optional
        Random crop of this many seconds (the same crop for item ``i`` every time).
    transform : callable, optional
        Augmentation hook ``(signal ndarray, target ndarray) -> (signal, target)`` applied last.
    """

    def __init__(
        self,
        n: int,
        targets: Any = ("hr", "pr", "qrs", "qt"),
        *,
        seed: int = 0,
        normalize: str | None = "zscore",
        scaler: Any = "fit",
        crop: float | None = None,
        transform: Any = None,
        **synth_params: Any,
    ) -> None:
        super().__init__(
            n,
            targets,
            TARGETS + DIAGNOSES + FINDINGS,
            normalize=normalize,
            crop=crop,
            transform=transform,
            seed=seed,
        )
        for bad in ("start", "seed"):
            synth_params.pop(bad, None)
        model_fs = None
        if synth_params.get("method") == "deepfake":
            model_fs = synth_params.pop("fs", None)
            if synth_params.get("duration") == 10.0:
                synth_params.pop("duration")
        self.synth_params = synth_params
        probe = _synth.synthesize(0, seed=self.seed, **synth_params)  # validates the parameters
        self.source_fs = probe.fs
        self.fs = probe.fs if model_fs is None else check_positive(model_fs, name="fs")
        self.lead_names = tuple(probe.lead_names)
        self.n_samples = round(probe.signals.shape[-1] * self.fs / self.source_fs)
        self._fit_scaler(scaler)

    def _load(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        b = _synth.synthesize(stop - start, seed=self.seed, start=start, **self.synth_params)
        x = b.signals
        if self.fs != self.source_fs:
            x = resample(x, self.source_fs, self.fs).astype(np.float32, copy=False)
        return x, record_targets(b.labels, self.targets)


class SyntheticBeats(_RecordDataset):
    """Beat-level windows of synthetic records, for pretraining beat-level backbones.

    Item ``i`` is beat ``i % beats_per_record`` of record ``i // beats_per_record``: a window of
    ``window`` seconds centred on that beat's R peak, with that beat's own intervals as targets
    (``pr``, ``qrs``, ``qt`` in ms; ``hr`` = 60 000 / the RR interval before the beat). Beats
    whose window does not fit in the record are skipped; records with fewer usable beats repeat
    them. Other parameters as :class:`SyntheticECG`.
    """

    def __init__(
        self,
        n_records: int,
        targets: Any = BEAT_TARGETS,
        *,
        window: float = 1.0,
        beats_per_record: int = 8,
        seed: int = 0,
        normalize: str | None = "zscore",
        scaler: Any = "fit",
        transform: Any = None,
        **synth_params: Any,
    ) -> None:
        self.beats_per_record = check_int(
            beats_per_record, name="beats_per_record", low=1, high=1000
        )
        n_records = check_int(n_records, name="n_records", low=0, high=2**40)
        super().__init__(
            n_records * self.beats_per_record,
            targets,
            BEAT_TARGETS,
            normalize=normalize,
            crop=None,
            transform=transform,
            seed=seed,
        )
        self.window = check_positive(window, name="window")
        for bad in ("start", "seed"):
            synth_params.pop(bad, None)
        self.synth_params = synth_params
        probe = _synth.synthesize(0, seed=self.seed, **synth_params)
        self.fs = probe.fs
        self.lead_names = tuple(probe.lead_names)
        self.n_samples, _ = beat_window(self.window, self.fs)
        if self.n_samples >= probe.signals.shape[-1]:
            raise InvalidParameterError("window must be shorter than the records (duration)")
        self._fit_scaler(scaler)

    @property
    def preprocessing(self) -> Preprocessing:
        """Beat windows of ``window`` seconds centred on the R peak."""
        return Preprocessing("beat", self.fs, self.lead_names, self.window, self.normalize)

    def _load(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        k = self.beats_per_record
        r0, r1 = start // k, (stop - 1) // k + 1
        b = _synth.synthesize(r1 - r0, seed=self.seed, start=r0, **self.synth_params)
        _, half = beat_window(self.window, self.fs)
        total = b.signals.shape[-1]
        xs = np.zeros((stop - start, b.signals.shape[1], self.n_samples), dtype=np.float32)
        ys = np.zeros((stop - start, len(self.targets)), dtype=np.float64)
        beats = b.beats
        for rec in range(r0, r1):
            t = beats[beats["record"] == rec]
            r = t["r_peak"].to_numpy(dtype=np.float64, na_value=np.nan)
            # the beat table's own intervals (ecgfast.beats): one definition everywhere
            values = {
                "hr": 60000.0 / t["pre_rr"].to_numpy(dtype=np.float64),
                **{k: t[k].to_numpy(dtype=np.float64) for k in ("pr", "qrs", "qt")},
            }
            y = np.stack([values[name] for name in self.targets], axis=1)
            ok = (r - half >= 0) & (r - half + self.n_samples <= total) & np.all(np.isfinite(y), 1)
            usable = np.flatnonzero(ok)
            if usable.size == 0:
                raise InvalidParameterError(
                    f"record {rec} has no beat whose {self.window:g}-s window fits; use a longer "
                    "duration or a shorter window"
                )
            for j in range(k):
                item = rec * k + j
                if not start <= item < stop:
                    continue
                beat = usable[j % usable.size]
                lo = int(r[beat]) - half
                xs[item - start] = b.signals[rec - r0, :, lo : lo + self.n_samples]
                ys[item - start] = y[beat]
        return xs, ys


class ShardDataset(_RecordDataset):
    """Records written by :func:`ecgfast.synthesize_to`, read through memory maps.

    Parameters
    ----------
    root : path
        The folder with ``manifest.json`` and the shards.
    targets, normalize, scaler, crop, transform
        As :class:`SyntheticECG`.
    leads : sequence of str, optional
        Leads to keep (names as in the manifest); default all.
    fs : float, optional
        Resample to this rate (polyphase, ``scipy.signal.resample_poly``); default the shards'.
    rank, world_size : int, optional
        For distributed training (``torch.distributed``, e.g. under ``torchrun``); by default
        taken from the initialised process group, else 0 and 1. Each rank sees one contiguous
        block of records (so a node reads only its own shards), disjoint from every other
        rank's. DataLoader workers split the batches of a map-style dataset among themselves, so
        nothing else is needed for workers.
    equal_split : bool
        Give every rank the same number of records (``n_records // world_size``; the last
        ``n_records % world_size`` records are left out), so that every rank runs the same
        number of batches, as DistributedDataParallel needs. With ``False`` the blocks differ by
        at most one record and together hold every record.
    """

    def __init__(
        self,
        root: str | Path,
        targets: Any = ("hr", "pr", "qrs", "qt"),
        *,
        leads: Sequence[str] | None = None,
        fs: float | None = None,
        normalize: str | None = "zscore",
        scaler: Any = "fit",
        crop: float | None = None,
        transform: Any = None,
        rank: int | None = None,
        world_size: int | None = None,
        equal_split: bool = True,
    ) -> None:
        self.root = Path(root)
        path = self.root / _shards.MANIFEST
        if not path.is_file():
            raise InvalidParameterError(
                f"{self.root} has no {_shards.MANIFEST}: not a shard folder"
            )
        self.manifest = json.loads(path.read_text())
        shards = self.manifest["shards"]
        missing = [s["index"] for s in shards if not _shards.is_complete(self.root, s)]
        if not shards or missing:
            raise InvalidParameterError(
                f"{self.root}: incomplete dataset ({len(missing)} of {len(shards)} shards "
                f"not committed, e.g. shard {missing[:1]}); rerun synthesize_to with the same "
                "arguments to finish it"
            )
        rank, world_size = _distributed_rank(rank, world_size)
        self.world_size = check_int(world_size, name="world_size", low=1, high=1 << 20)
        self.rank = check_int(rank, name="rank", low=0, high=self.world_size - 1)
        total = int(self.manifest["n_records"])
        if equal_split:
            per_rank = total // self.world_size
            self._records = np.arange(self.rank * per_rank, (self.rank + 1) * per_rank)
        else:
            self._records = np.array_split(np.arange(total), self.world_size)[self.rank]
        super().__init__(
            len(self._records),
            targets,
            TARGETS,
            normalize=normalize,
            crop=crop,
            transform=transform,
            seed=0,
        )
        all_leads = list(self.manifest["lead_names"])
        if leads is None:
            self._lead_idx = list(range(len(all_leads)))
        else:
            lookup = {name.lower(): k for k, name in enumerate(all_leads)}
            try:
                self._lead_idx = [lookup[str(name).lower()] for name in leads]
            except KeyError as exc:
                raise InvalidParameterError(
                    f"unknown lead {exc.args[0]!r}; have {all_leads}"
                ) from exc
        self.lead_names = tuple(all_leads[k] for k in self._lead_idx)
        self.source_fs = float(self.manifest["fs"])
        self.fs = self.source_fs if fs is None else check_positive(fs, name="fs")
        self.n_samples = round(int(self.manifest["n_samples"]) * self.fs / self.source_fs)
        self._starts = np.array([s["start"] for s in shards])
        self._signals: dict[int, np.ndarray] = {}
        self._labels: dict[int, np.ndarray] = {}
        self._fit_scaler(scaler)

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k not in self._signals:  # opened lazily: each worker maps its own view
            files = self.manifest["shards"][k]["files"]
            self._signals[k] = np.load(self.root / files[0], mmap_mode="r")
            labels = pd.read_parquet(self.root / files[1])
            self._labels[k] = labels[list(self.targets)].to_numpy(dtype=np.float64)
        return self._signals[k], self._labels[k]

    def _load(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for rec in self._records[start:stop]:
            k = int(np.searchsorted(self._starts, rec, side="right") - 1)
            sig, lab = self._shard(k)
            j = int(rec - self._starts[k])
            xs.append(np.asarray(sig[j, self._lead_idx], dtype=np.float32))
            ys.append(lab[j])
        x = resample(np.stack(xs), self.source_fs, self.fs).astype(np.float32, copy=False)
        return x, np.stack(ys)


def _distributed_rank(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """Explicit values win; otherwise those of the initialised process group, else (0, 1)."""
    group = torch.distributed.is_available() and torch.distributed.is_initialized()
    if world_size is None:
        world_size = torch.distributed.get_world_size() if group else 1
    if rank is None:
        rank = torch.distributed.get_rank() if group else 0
    return rank, world_size


def batch_bounds(n: int, batch_size: int, *, drop_last: bool = False) -> list[tuple[int, int]]:
    """``(start, stop)`` of the batches of ``n`` items: ``batch_size`` each, the rest last; a
    last batch of a single item joins the one before it (batch norm cannot train on one
    item), or with ``drop_last`` an incomplete last batch is dropped."""
    bounds = [(s, min(n, s + batch_size)) for s in range(0, n, batch_size)]
    if drop_last and bounds and bounds[-1][1] - bounds[-1][0] < batch_size:
        bounds.pop()
    elif len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class BlockBatchSampler(Sampler[list[int]]):
    """Batches of ``batch_size`` consecutive indices, the blocks in a seeded random order that
    changes with :meth:`set_epoch` (call it once per epoch, as with ``DistributedSampler``).

    A last block of a single index joins the block before it (batch norm cannot train on a
    batch of one)."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        self.n = check_int(n, name="n", low=0, high=2**40)
        self.batch_size = check_int(batch_size, name="batch_size", low=1, high=1 << 20)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(batch_bounds(self.n, self.batch_size, drop_last=self.drop_last))

    def __iter__(self) -> Iterator[list[int]]:
        blocks = batch_bounds(self.n, self.batch_size, drop_last=self.drop_last)
        order = np.arange(len(blocks))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        for k in order:
            yield list(range(*blocks[int(k)]))
