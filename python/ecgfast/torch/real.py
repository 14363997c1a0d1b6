"""Real ECG datasets for classification transfer: MIT-BIH beats (AAMI EC57 classes) with the de
Chazal inter-patient split and patient-wise validation splits.

Records are read with ``wfdb``; a record that fails to read is reported with its path (the
dataset is built from the others), never a stack trace.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .._validate import check_positive
from ..beatdata import AAMI_CLASSES, AAMI_MAP, DS1, DS2, PACED, patient_of, read_beats
from ..errors import InvalidParameterError
from ..preprocessing import NORMALIZATIONS, Preprocessing, normalize, resample
from ..synth import SUPERCLASSES

__all__ = [
    "AAMI_CLASSES",
    "AAMI_MAP",
    "DS1",
    "DS2",
    "PACED",
    "PTBXL",
    "PTBXL_FOLDS",
    "PTBXL_SUPERCLASSES",
    "MITBIHBeats",
    "WFDBDataset",
    "patient_split",
]


def patient_split(
    records: Sequence[str],
    val_fraction: float = 0.2,
    seed: int = 0,
    class_counts: Any = None,
) -> tuple[list[str], list[str]]:
    """Split records into train and validation by patient (no patient in both).

    Parameters
    ----------
    records : sequence of str
    val_fraction : float
        Share of the patients that go to validation (at least one patient on each side).
    seed : int
    class_counts : DataFrame or mapping, optional
        Beats per record and class (rows = records, e.g.
        :meth:`MITBIHBeats.record_class_counts`). When given, the split is stratified: of 256
        seeded candidate splits, the one that puts every class carried by two or more patients
        on both sides and brings each class's validation share closest to ``val_fraction`` is
        returned. Without it, patients are drawn at random.

    Returns
    -------
    (train_records, val_records)
    """
    if not 0 < val_fraction < 1:
        raise InvalidParameterError("val_fraction must be in (0, 1)")
    patients = sorted({patient_of(r) for r in records})
    if len(patients) < 2:
        raise InvalidParameterError("need records of at least two patients to split")
    rng = np.random.default_rng(seed)
    k = min(len(patients) - 1, max(1, round(val_fraction * len(patients))))
    if class_counts is None:
        val_patients = set(list(rng.permutation(patients))[:k])
    else:
        table = pd.DataFrame(class_counts)
        table.index = table.index.map(str)
        absent = sorted(set(map(str, records)) - set(table.index))
        if absent:
            raise InvalidParameterError(f"class_counts has no row for records {absent}")
        per_patient = (
            table.loc[[str(r) for r in records]]
            .groupby(lambda r: patient_of(r))
            .sum()
            .reindex(patients)
            .to_numpy(dtype=np.float64)
        )
        total = per_patient.sum(axis=0)
        present = total > 0
        shared = (per_patient > 0).sum(axis=0) >= 2
        best_cost, val_patients = None, set()
        for _ in range(256):
            order = rng.permutation(len(patients))
            mask = np.zeros(len(patients), dtype=bool)
            mask[order[:k]] = True
            share = per_patient[mask].sum(axis=0)[present] / total[present]
            one_sided = int(np.sum(((share == 0) | (share == 1)) & shared[present]))
            cost = (one_sided, float(np.abs(share - k / len(patients)).mean()))
            if best_cost is None or cost < best_cost:
                best_cost, val_patients = cost, {patients[i] for i in order[:k]}
    train = [r for r in records if patient_of(r) not in val_patients]
    val = [r for r in records if patient_of(r) in val_patients]
    return train, val


class _ArrayDataset(Dataset):
    """Items from arrays held in memory: ``x`` (items, leads, samples) float32 and ``y``
    targets; normalisation per item and lead, then the ``transform`` hook."""

    x: np.ndarray
    y: np.ndarray
    normalize: str | None
    transform: Any

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = normalize(self.x[i].astype(np.float64), self.normalize)
        y = self.y[i]
        if self.transform is not None:
            x, y = self.transform(x, y)
        return torch.as_tensor(np.asarray(x, dtype=np.float32)), torch.as_tensor(y)


def _skip(skipped: list[tuple[str, str]], path: Any, why: str) -> None:
    """Report an unusable record: kept in ``skipped`` and warned, the dataset built without it."""
    skipped.append((str(path), why))
    warnings.warn(f"skipped {path}: {why}", stacklevel=3)


class MITBIHBeats(_ArrayDataset):
    """One window per annotated beat of MIT-BIH records with its AAMI class (index into
    ``classes``), built by :func:`ecgfast.beatdata.read_beats`: band-pass, per-record amplitude
    normalisation, a window that may hold the neighbouring beats, RR features as a second input.

    Parameters
    ----------
    root : path
        Folder with the WFDB records (``.hea``, ``.dat``, ``.atr``).
    records : sequence of str, optional
        Record names (default: every record in ``root``); paced records are rejected, and so
        are records missing from ``root``.
    window : float or (before, after)
        Seconds: a length centred on the beat, or the time before and after it.
    fs : float, optional
        Resample records to this rate first (polyphase); default keep theirs.
    leads : sequence of str
        Leads by name (``"MLII"``; ``"V"`` = the first precordial lead); records without them
        are skipped and reported.
    band : (low, high) Hz or None
        Zero-phase band-pass before cutting (ecgfast's filters).
    normalize : {"record", "zscore", "minmax", None}
        ``"record"``: per record and lead, by the median QRS peak-to-peak amplitude (keeps
        amplitude differences between a patient's beats); the others per window.
    features : sequence of str, optional
        Beat-table columns given as a second input: items become ``((signal, features),
        label)``; see :data:`ecgfast.beatdata.BEAT_FEATURES`. Default: the signal only.
    template : bool or {"record", "dominant"}
        Add per lead the beat minus the record's median beat (True, ``"record"``) or minus
        the dominant beat around it (``"dominant"``); see :func:`ecgfast.beatdata.read_beats`.
    beats : {"annotations", "detected"}
        Beat positions from the annotations or from ``detect_rpeaks`` (matched to them).
    classes : sequence of str
        AAMI classes kept, in label order (``("N", "S", "V", "F")`` leaves Q out).
    shape_leads : sequence of str, optional
        Leads the ``meta`` column ``shape_share`` (for
        :func:`ecgfast.evaluate.morphology_gate`) is measured on, which may include leads the
        model does not read (default: ``leads``); kept in :attr:`preprocessing`.
    fraction : float
        Keep this fraction of each record's beats (stratified by class, seeded): low-data
        experiments without moving a patient across splits.
    seed : int
        For ``fraction``.

    Attributes
    ----------
    meta : DataFrame
        One row per item: ``record, patient, sample, annotated_sample, symbol, label``.
    features : ndarray or None
        The second input, ``(items, len(feature_names))``.
    skipped : list of (path, reason)
        Records that could not be read, and records with beats left out because their window
        holds missing (NaN) samples (never zero-filled).
    detection : DataFrame or None
        For ``beats="detected"``: annotated, detected, matched, missed, extra per record.
    """

    def __init__(
        self,
        root: str | Path,
        records: Sequence[str] | None = None,
        *,
        window: Any = 0.8,
        fs: float | None = None,
        leads: Sequence[str] = ("MLII",),
        band: tuple[float, float] | None = (0.5, 40.0),
        normalize: str | None = "record",
        features: Sequence[str] | None = None,
        template: bool | str = False,
        beats: str = "annotations",
        classes: Sequence[str] = AAMI_CLASSES,
        shape_leads: Sequence[str] | None = None,
        fraction: float = 1.0,
        seed: int = 0,
        transform: Any = None,
    ) -> None:
        if normalize not in (*NORMALIZATIONS, "record"):
            raise InvalidParameterError(
                f"normalize must be one of {(*NORMALIZATIONS, 'record')}, got {normalize!r}"
            )
        if not 0 < fraction <= 1:
            raise InvalidParameterError("fraction must be in (0, 1]")
        self.root: Path | None = Path(root)
        got = read_beats(
            self.root,
            records,
            leads=leads,
            fs=fs,
            window=window,
            band=band,
            normalize="record" if normalize == "record" else None,
            features=() if features is None else tuple(features),
            beats=beats,
            classes=classes,
            exclude=PACED,
            template=template,
            shape_leads=shape_leads,
        )
        self._take(got, window, band, normalize, features is not None, template, transform)
        if fraction < 1:
            rows = [
                idx[_stratified_pick(got.labels[idx], fraction, seed, rec)]
                for rec in dict.fromkeys(self.meta["record"])
                if (idx := np.flatnonzero(self.meta["record"].to_numpy() == rec)).size
            ]
            self._select(np.concatenate(rows))
            self.labels = self.meta["label"].to_numpy(dtype=np.int64)
            self.y = self.labels

    @classmethod
    def from_beatset(
        cls,
        got: Any,
        *,
        window: Any,
        band: tuple[float, float] | None,
        normalize: str | None = "record",
        features: bool = True,
        template: bool | str = False,
        transform: Any = None,
    ) -> MITBIHBeats:
        """A dataset over beats already built by :func:`ecgfast.beatdata.read_beats` or
        :func:`ecgfast.beatdata.synthetic_beats` (pass the settings they were built with, so
        that ``preprocessing`` describes them)."""
        out = cls.__new__(cls)
        out.root = None
        out._take(got, window, band, normalize, features, template, transform)
        return out

    def _take(
        self,
        got: Any,
        window: Any,
        band: Any,
        normalize: str | None,
        features: bool,
        template: bool | str,
        transform: Any,
    ) -> None:
        self.window = window
        self.normalize = None if normalize == "record" else normalize
        self._pipeline_normalize = normalize
        self.transform = transform
        self.leads, self.template = got.leads, template
        self.shape_leads = getattr(got, "shape_leads", None)
        self.band = None if band is None else (float(band[0]), float(band[1]))
        self.classes = got.classes
        self.fs = got.fs
        self.feature_names = got.feature_names
        self.skipped = got.skipped
        self.detection = got.detection
        self.x, self.meta = got.x, got.meta
        self.features = got.features if features else None
        self.labels = self.meta["label"].to_numpy(dtype=np.int64)
        self.y = self.labels

    def _select(self, sel: np.ndarray) -> None:
        self.x = self.x[sel]
        self.meta = self.meta.iloc[sel].reset_index(drop=True)
        if self.features is not None:
            self.features = self.features[sel]

    def __getitem__(self, i: int) -> Any:
        x, y = super().__getitem__(i)
        if self.features is None:
            return x, y
        return (x, torch.from_numpy(self.features[i])), y

    def with_features(self, names: Sequence[str]) -> MITBIHBeats:
        """The same beats with only the feature columns ``names`` (in that order), without
        reading the records again (e.g. one build for models that read different features)."""
        names = tuple(str(n) for n in names)
        if self.features is None:
            raise InvalidParameterError("this dataset was built without features")
        missing = [n for n in names if n not in self.feature_names]
        if missing or not names:
            raise InvalidParameterError(
                f"features {missing or names} not in this dataset's {self.feature_names}"
            )
        cols = [self.feature_names.index(n) for n in names]
        out = copy.copy(self)
        out.features = np.ascontiguousarray(self.features[:, cols])
        out.feature_names = names
        return out

    @property
    def preprocessing(self) -> Preprocessing:
        before, after = self._bounds()
        return Preprocessing(
            "beat",
            float(self.fs),
            self.leads,
            (before + after) / self.fs,
            self._pipeline_normalize,
            band=self.band,
            before=before / self.fs,
            features=self.feature_names if self.features is not None else (),
            template=self.template,
            shape_leads=self.shape_leads,
        )

    def _bounds(self) -> tuple[int, int]:
        from ..beatdata import window_bounds

        return window_bounds(self.window, self.fs)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(AAMI_CLASSES))
        return dict(zip(AAMI_CLASSES, counts.tolist(), strict=True))

    def subset(
        self, records: Sequence[str] | None = None, *, fraction: float = 1.0, seed: int = 0
    ) -> MITBIHBeats:
        """The beats of ``records`` (default: all), optionally a class-stratified ``fraction``
        of each record's beats, without reading the records again.

        ``ds.subset(recs, fraction=f, seed=s)`` holds the same windows as
        ``MITBIHBeats(root, recs, fraction=f, seed=s)`` with the same other arguments.
        """
        if not 0 < fraction <= 1:
            raise InvalidParameterError("fraction must be in (0, 1]")
        have = list(dict.fromkeys(self.meta["record"]))
        wanted = have if records is None else [str(r) for r in records]
        missing = sorted(set(wanted) - set(have))
        if missing:
            raise InvalidParameterError(f"records not in this dataset: {missing}")
        rows = []
        for rec in wanted:
            idx = np.flatnonzero(self.meta["record"].to_numpy() == rec)
            if fraction < 1:
                idx = idx[_stratified_pick(self.labels[idx], fraction, seed, rec)]
            rows.append(idx)
        sel = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if sel.size == 0:
            raise InvalidParameterError("the subset holds no beats")
        out = copy.copy(self)
        out._select(sel)
        out.labels = out.meta["label"].to_numpy(dtype=np.int64)
        out.y = out.labels
        return out

    def record_class_counts(self, by: str = "class") -> pd.DataFrame:
        """Beats per record (rows) and AAMI class (``by="class"``) or annotation symbol
        (``by="symbol"``: N, L, R, A, V, ... — finer than the classes, e.g. bundle-branch-block
        beats are class N but look like no other N beat) (columns)."""
        if by == "symbol":
            return pd.crosstab(self.meta["record"], self.meta["symbol"])
        if by != "class":
            raise InvalidParameterError("by must be 'class' or 'symbol'")
        table = pd.crosstab(self.meta["record"], self.meta["label"])
        table = table.reindex(columns=range(len(AAMI_CLASSES)), fill_value=0)
        table.columns = list(AAMI_CLASSES)
        return table


def _stratified_pick(labels: np.ndarray, fraction: float, seed: int, record: str) -> np.ndarray:
    """Sorted indices of a class-stratified ``fraction`` of one record's beats (at least one
    beat of every class present), seeded by ``(seed, record)``."""
    rng = np.random.default_rng([seed, int(record) if record.isdigit() else len(record)])
    chosen: list[int] = []
    for c in range(len(AAMI_CLASSES)):
        idx = np.flatnonzero(labels == c)
        if idx.size:
            m = max(1, round(fraction * idx.size))
            chosen.extend(rng.choice(idx, m, replace=False).tolist())
    return np.array(sorted(chosen), dtype=np.int64)


class WFDBDataset(_ArrayDataset):
    """A folder of WFDB records with a label table: record-level classification.

    Parameters
    ----------
    root : path
        Folder with the records (searched recursively for ``.hea``).
    labels : DataFrame or path to a CSV
        Column ``record`` (name or path relative to ``root``, without extension) and either one
        ``label`` column (single-label: classes sorted, targets are class indices) or several
        0/1 columns (multi-label: targets are float multi-hot vectors, in column order).
    fs : float, optional
        Resample every record to this rate (default: the first record's).
    duration : float
        Seconds per item: longer records are cut (from the start), shorter ones zero-padded.
    leads : sequence of str, optional
        Leads by name (case-insensitive); default every lead of the first record.
    normalize : {"zscore", "minmax", None}
        Per item and lead.

    Attributes
    ----------
    classes : tuple of str
    records : list of str
        The records in item order (those that could be read).
    skipped : list of (path, reason)
    """

    def __init__(
        self,
        root: str | Path,
        labels: Any,
        *,
        fs: float | None = None,
        duration: float = 10.0,
        leads: Sequence[str] | None = None,
        normalize: str | None = "zscore",
        transform: Any = None,
    ) -> None:
        import wfdb

        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidParameterError(f"{self.root} is not a folder")
        table = pd.read_csv(labels) if isinstance(labels, (str, Path)) else pd.DataFrame(labels)
        if "record" not in table.columns or len(table.columns) < 2:
            raise InvalidParameterError("labels needs a 'record' column and label column(s)")
        if normalize not in NORMALIZATIONS:
            raise InvalidParameterError(f"normalize must be one of {NORMALIZATIONS}")
        self.duration = check_positive(duration, name="duration")
        self.normalize = normalize
        self.transform = transform
        label_cols = [c for c in table.columns if c != "record"]
        self.multilabel = label_cols != ["label"]
        if self.multilabel:
            self.classes = tuple(str(c) for c in label_cols)
        else:
            self.classes = tuple(sorted(str(v) for v in table["label"].unique()))
        self.fs = None if fs is None else check_positive(fs, name="fs")
        wanted = None if leads is None else [str(v).lower() for v in leads]
        self.skipped: list[tuple[str, str]] = []
        xs: list[np.ndarray] = []
        ys: list[Any] = []
        names: list[str] = []
        for _, row in table.iterrows():
            path = self.root / str(row["record"])
            try:
                rec = wfdb.rdrecord(str(path))
                sig = np.asarray(rec.p_signal, dtype=np.float64).T
                lead_names = [n.lower() for n in rec.sig_name]
                if wanted is None:
                    wanted = lead_names
                idx = [lead_names.index(n) for n in wanted]
            except Exception as exc:  # unreadable record or missing lead: report, go on
                _skip(self.skipped, path, f"{type(exc).__name__}: {exc}")
                continue
            sig = sig[idx]
            if not np.all(np.isfinite(sig)):
                _skip(self.skipped, path, "missing (NaN) samples; not zero-filled")
                continue
            self.fs = self.fs or float(rec.fs)
            sig = resample(sig, float(rec.fs), self.fs)
            n = round(self.duration * self.fs)
            out = np.zeros((len(idx), n), dtype=np.float32)
            out[:, : min(n, sig.shape[1])] = sig[:, :n]
            xs.append(out)
            if self.multilabel:
                ys.append(np.asarray([float(row[c]) for c in label_cols], dtype=np.float32))
            else:
                ys.append(self.classes.index(str(row["label"])))
            names.append(str(row["record"]))
        if not xs:
            raise InvalidParameterError(f"no readable records among {len(table)} in {self.root}")
        self.lead_names = tuple(wanted or ())
        self.records = names
        self.x = np.stack(xs)
        self.y = np.stack(ys) if self.multilabel else np.asarray(ys, dtype=np.int64)
        self.labels = None if self.multilabel else self.y

    @property
    def preprocessing(self) -> Preprocessing:
        """Records cut from their start (or zero-padded) to ``duration`` seconds."""
        return Preprocessing(
            "record", float(self.fs or 0), self.lead_names, self.duration, self.normalize
        )


#: PTB-XL diagnostic superclasses, in target order (the generator labels its records with the
#: same five: :data:`ecgfast.synth.SUPERCLASSES`).
PTBXL_SUPERCLASSES = SUPERCLASSES
#: The recommended split of PTB-XL's ``strat_fold`` (Wagner et al. 2020).
PTBXL_FOLDS = {"train": tuple(range(1, 9)), "val": (9,), "test": (10,)}


class PTBXL(_ArrayDataset):
    """PTB-XL in its official layout (``ptbxl_database.csv``, ``scp_statements.csv``,
    ``records100/``, ``records500/``), the five diagnostic superclasses as multi-label targets.

    Parameters
    ----------
    root : path
        The PTB-XL folder.
    sampling_rate : {100, 500}
        Which copy of the signals to read (``filename_lr`` or ``filename_hr``).
    split : {"train", "val", "test"} or sequence of int
        ``strat_fold`` 1-8, 9, 10 (the recommended split) or explicit folds.
    task : "superdiagnostic"
        Targets: multi-hot over :data:`PTBXL_SUPERCLASSES`; records with no diagnostic
        superclass are left out, as in the PTB-XL benchmark.
    normalize : {"zscore", "minmax", None}

    Attributes
    ----------
    meta : DataFrame
        The database rows in item order (``ecg_id`` index, ``patient_id``, ``strat_fold``...).
    """

    def __init__(
        self,
        root: str | Path,
        sampling_rate: int = 100,
        *,
        split: Any = "train",
        task: str = "superdiagnostic",
        normalize: str | None = "zscore",
        transform: Any = None,
    ) -> None:
        import ast

        import wfdb

        self.root = Path(root)
        db_path = self.root / "ptbxl_database.csv"
        scp_path = self.root / "scp_statements.csv"
        if not db_path.is_file() or not scp_path.is_file():
            raise InvalidParameterError(
                f"{self.root} is not a PTB-XL folder (needs ptbxl_database.csv and "
                "scp_statements.csv)"
            )
        if sampling_rate not in (100, 500):
            raise InvalidParameterError("sampling_rate must be 100 or 500")
        if task != "superdiagnostic":
            raise InvalidParameterError("task must be 'superdiagnostic'")
        if normalize not in NORMALIZATIONS:
            raise InvalidParameterError(f"normalize must be one of {NORMALIZATIONS}")
        folds = PTBXL_FOLDS.get(split) if isinstance(split, str) else tuple(split)
        if folds is None:
            raise InvalidParameterError(f"split must be train, val, test or folds, not {split!r}")
        db = pd.read_csv(db_path, index_col="ecg_id")
        scp = pd.read_csv(scp_path, index_col=0)
        diagnostic = scp[scp["diagnostic"] == 1]["diagnostic_class"].to_dict()
        db = db[db["strat_fold"].isin(folds)]
        targets, keep = [], []
        for ecg_id, codes in db["scp_codes"].items():
            classes = {diagnostic[c] for c in ast.literal_eval(codes) if c in diagnostic}
            if classes:
                targets.append([float(c in classes) for c in PTBXL_SUPERCLASSES])
                keep.append(ecg_id)
        self.meta = db.loc[keep]
        self.classes = PTBXL_SUPERCLASSES
        self.fs = float(sampling_rate)
        self.normalize = normalize
        self.transform = transform
        column = "filename_lr" if sampling_rate == 100 else "filename_hr"
        xs, kept = [], []
        self.skipped: list[tuple[str, str]] = []
        self.lead_names: tuple[str, ...] = ()
        for k, name in enumerate(self.meta[column]):
            signal, fields = wfdb.rdsamp(str(self.root / name))
            if not np.all(np.isfinite(signal)):
                _skip(self.skipped, self.root / name, "missing (NaN) samples; not zero-filled")
                continue
            self.lead_names = tuple(fields["sig_name"])
            xs.append(np.asarray(signal, dtype=np.float32).T)
            kept.append(k)
        if not xs:
            raise InvalidParameterError(f"no records with a diagnostic superclass in folds {folds}")
        self.meta = self.meta.iloc[kept]
        self.x = np.stack(xs)
        self.y = np.asarray(targets, dtype=np.float32)[kept]

    @property
    def preprocessing(self) -> Preprocessing:
        """The 10-s records as they are, normalised per lead."""
        return Preprocessing(
            "record", self.fs, self.lead_names, self.x.shape[-1] / self.fs, self.normalize
        )
