"""Record-level multi-label diagnosis on real 12-lead ECG (LUDB), from scratch and from synthetic
pretraining, paired on the same folds and seeds: ``ecgfast ludb``.

The task is the small-data regime where pretraining should matter most: 10-s 12-lead records,
one per patient, with the cardiologists' diagnoses of ``ludb.csv`` grouped into
:data:`ecgfast.diagnoses.LUDB_LABELS` (AF, bradycardia, left axis, RBBB, LAFB, AV block, LVH,
ischaemia, ...). Every arm trains the same backbone (ResNet1d, 12 leads at 100 Hz) with a
multi-label head and binary cross-entropy:

- ``scratch``: random weights;
- ``dipole``: regressed HR, PR, QRS and QT on sinus-rhythm records of ecgfast's dynamical model
  (the regression-pretraining recipe);
- ``deepfake``: the same on records of the deepfake-ecg GAN, labelled by ecgfast's delineator;
- ``pathology``: multi-task (the four intervals plus the generator's diagnoses: AF, bundle-branch
  and AV blocks, ectopy, MI, ST-T, hypertrophy) on records with :data:`RECORD_PATHOLOGY_MIX`.
- ``dipole-ludb``, ``pathology-ludb``: ``dipole`` and ``pathology`` on records of
  ``population="ludb"`` (waves fitted to the median beats of LUDB 1-100);
- ``pathology-matched``: ``pathology`` with fascicular blocks added and three more findings
  learnt (left axis deviation, LAFB, pacing), so that every LUDB label has a counterpart among
  its outputs.

A pretrained arm's head is fresh by default. With ``head="matched"`` it is the pretrained head,
its last layer's row for each LUDB label built from the outputs that mean the same
(:data:`ecgfast.diagnoses.LUDB_FROM_SYNTHETIC`: AF from AF, SBRAD from the regressed heart rate
below 60 bpm, AVB from AV block or PR above 200 ms, ...), so the model names the diagnoses
before it has seen a labelled record; ``zero_shot=True`` scores it so, untrained.

Protocol: records are split into ``folds`` patient folds stratified by label (fixed, the same
for every arm and seed); inside the training records of a fold, ``val_fraction`` of them are
held out for early stopping (on macro AUROC) and for the per-label decision thresholds (F1-best);
the test fold is seen only for the reported figures. ``fractions`` < 1 keep that fraction of the
training records (the labelled budget). Every pretrained arm is compared with scratch on the same
(seed, fold, fraction): mean, sd and the 95 % t interval of the difference.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validate import check_fs, check_int
from ..diagnoses import (
    DIAGNOSES,
    FINDINGS,
    LUDB_FROM_SYNTHETIC,
    LUDB_LABELS,
    PTBXL_FROM_SYNTHETIC,
    ludb_diagnoses,
)
from ..errors import InvalidParameterError
from ._stats import mean_ci

__all__ = [
    "DATASETS",
    "HEADS",
    "PRETRAIN_SOURCES",
    "RECORD_PATHOLOGY_MIX",
    "RECORD_PATHOLOGY_MIX_LAFB",
    "RecordExperiment",
    "label_folds",
    "markdown",
    "pretrain_on_synthetic_records",
    "run_record_experiment",
]

#: Synthetic pathology of the ``pathology`` source, probabilities per record (morphology options
#: independently), a heart rate of 40-130 bpm and up to 10 % ectopic beats.
RECORD_PATHOLOGY_MIX: dict[str, Any] = {
    "hr": (40.0, 130.0),
    "rhythm": {"af": 0.15, "paced": 0.05},
    "conduction": {
        "lbbb": 0.06,
        "rbbb": 0.12,
        "wenckebach": 0.03,
        "mobitz2": 0.03,
        "complete": 0.03,
    },
    "ectopy": {"pac": (0.0, 0.1), "pvc": (0.0, 0.1)},
    "morphology": {
        "st_elevation": 0.1,
        "st_depression": 0.1,
        "t_inversion": 0.1,
        "q_waves": 0.1,
        "lvh": 0.25,
        "low_voltage": 0.05,
        "left_axis": 0.25,
        "right_axis": 0.05,
    },
}

INTERVALS = ("hr", "pr", "qrs", "qt")
#: The ``pathology`` mix with left anterior fascicular blocks added, for ``pathology-matched``.
RECORD_PATHOLOGY_MIX_LAFB: dict[str, Any] = {
    **RECORD_PATHOLOGY_MIX,
    "morphology": {**RECORD_PATHOLOGY_MIX["morphology"], "lafb": 0.1},
}
#: Pretraining sources: synthesis parameters and the generator's 0/1 labels learnt beside the
#: four intervals (:data:`ecgfast.diagnoses.DIAGNOSES`, :data:`ecgfast.diagnoses.FINDINGS`).
PRETRAIN_SOURCES: dict[str, dict[str, Any]] = {
    "dipole": {"synth": {}, "diagnoses": ()},
    "dipole-ludb": {"synth": {"population": "ludb"}, "diagnoses": ()},
    "deepfake": {"synth": {"method": "deepfake"}, "diagnoses": ()},
    "pathology": {"synth": RECORD_PATHOLOGY_MIX, "diagnoses": DIAGNOSES},
    "pathology-ludb": {
        "synth": {**RECORD_PATHOLOGY_MIX, "population": "ludb"},
        "diagnoses": DIAGNOSES,
    },
    # every LUDB label has a counterpart among its outputs (LUDB_FROM_SYNTHETIC)
    "pathology-matched": {
        "synth": RECORD_PATHOLOGY_MIX_LAFB,
        "diagnoses": DIAGNOSES + FINDINGS,
    },
}


#: Heads of the pretrained arms: a fresh one, the pretrained one matched to the labels
#: (:func:`ecgfast.torch.matched_head`), or both arms.
HEADS = ("new", "matched", "both")
#: The real record sets: their labels, how the labels read from synthetic outputs, and a title.
DATASETS: dict[str, dict[str, Any]] = {
    "ludb": {"labels": tuple(LUDB_LABELS), "terms": LUDB_FROM_SYNTHETIC, "title": "LUDB"},
    "ptbxl": {
        "labels": tuple(PTBXL_FROM_SYNTHETIC),
        "terms": PTBXL_FROM_SYNTHETIC,
        "title": "PTB-XL superdiagnostic",
    },
}


@dataclass
class RecordExperiment:
    """Settings of :func:`run_record_experiment`.

    ``head``: what each pretrained arm's head starts from: ``"new"`` (fresh, the arm is named
    after its source), ``"matched"`` (the pretrained head with each label's row read from its
    counterparts, :data:`ecgfast.diagnoses.LUDB_FROM_SYNTHETIC`; arm ``SOURCE+head``) or ``"both"``.
    ``dataset``: ``"ludb"`` or ``"ptbxl"`` (:data:`DATASETS`; ``labels`` must be among its
    labels: for PTB-XL the five superclasses).
    ``zero_shot``: also score the matched head without fine-tuning (arm ``SOURCE:zero-shot``;
    the labelled budget, fitting and validation records, sets only its thresholds)."""

    labels: tuple[str, ...] = tuple(LUDB_LABELS)
    dataset: str = "ludb"
    model: str = "resnet1d"
    fs: float = 100.0
    epochs: int = 40
    batch_size: int = 16
    lr: float = 1e-3
    patience: int = 10
    folds: int = 5
    val_fraction: float = 0.25
    seeds: tuple[int, ...] = (0, 1)
    fractions: tuple[float, ...] = (1.0, 0.25)
    pretrain: tuple[str, ...] = ()
    pretrain_records: int = 2000
    pretrain_epochs: int = 8
    pretrain_seed: int = 0
    policy: str = "full"
    backbone_lr_factor: float = 1.0
    head: str = "new"
    zero_shot: bool = False


def label_folds(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold (0..k-1) of each row of the 0/1 label matrix ``y``, stratified greedily: records
    are placed rarest label first, each into the fold that holds fewest of its labels so far
    (then the smallest fold). Deterministic in ``seed``."""
    y = np.asarray(y) > 0.5
    n = len(y)
    if not 2 <= k <= n:
        raise InvalidParameterError(f"folds must be between 2 and the {n} records, got {k}")
    order = np.random.default_rng([seed, 0xF01D]).permutation(n)
    freq = y.sum(axis=0)
    rarest = np.array([freq[y[i]].min() if y[i].any() else n + 1 for i in order])
    order = order[np.argsort(rarest, kind="stable")]
    held = np.zeros((k, y.shape[1]))
    sizes = np.zeros(k)
    cap = math.ceil(n / k)
    fold = np.empty(n, dtype=np.int64)
    for i in order:
        load = (held[:, y[i]] / freq[y[i]]).sum(axis=1) if y[i].any() else np.zeros(k)
        best = np.lexsort((np.arange(k), sizes, load, sizes >= cap))[0]
        fold[i] = best
        held[best] += y[i]
        sizes[best] += 1
    return fold


def _take(data: Any, idx: np.ndarray) -> Any:
    """The items ``idx`` of an in-memory dataset (shallow copy, arrays sliced)."""
    out = copy.copy(data)
    out.x, out.y = data.x[idx], data.y[idx]
    out.records = [data.records[i] for i in idx]
    return out


def _new_model(cfg: RecordExperiment, leads: int, outputs: int, seed: int) -> Any:
    import torch

    from ..torch import create_model

    torch.manual_seed(seed)
    return create_model(cfg.model, leads, outputs)


def pretrain_on_synthetic_records(
    cfg: RecordExperiment, source: str, say: Any = print
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pretrain the experiment's model on ``cfg.pretrain_records`` synthetic 12-lead 10-s
    records of ``source`` (:data:`PRETRAIN_SOURCES`) at ``cfg.fs``; 10 % more records (another
    stream) for early stopping on the loss. Returns the weights (head included: its outputs are
    the summary's ``outputs``, the intervals standardised by its ``scaler``) and a summary (best
    epoch, validation metrics)."""
    from ..torch import SyntheticECG, fit
    from ..torch.tasks import Task

    if source not in PRETRAIN_SOURCES:
        raise InvalidParameterError(
            f"unknown pretraining source {source!r}; choose from {', '.join(PRETRAIN_SOURCES)}"
        )
    progress = say is not None
    say = say or _quiet
    spec = PRETRAIN_SOURCES[source]
    targets = INTERVALS + tuple(spec["diagnoses"])
    common = {"targets": targets, "fs": cfg.fs, **spec["synth"]}
    seed = cfg.pretrain_seed
    train = SyntheticECG(cfg.pretrain_records, seed=seed, **common)
    n_val = max(16, cfg.pretrain_records // 10)
    val = SyntheticECG(n_val, seed=seed + 1_000_003, scaler=train.scaler, **common)
    if spec["diagnoses"]:
        task = Task.multitask(INTERVALS, spec["diagnoses"], train.scaler)
    else:
        task = Task.regression(INTERVALS, train.scaler)
    say(f"pretraining on {cfg.pretrain_records} synthetic records ({source})")
    model = _new_model(cfg, 12, len(targets), seed)
    result = fit(
        model,
        train,
        val,
        task,
        epochs=cfg.pretrain_epochs,
        batch_size=64,
        seed=seed,
        progress=progress,
    )
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    summary = {
        "source": source,
        "records": cfg.pretrain_records,
        "best_epoch": result.best_epoch,
        "val_mae": result.metrics.get("mae"),
        "val_macro_auroc": result.metrics.get("macro_auroc"),
        "seconds": result.seconds,
        "outputs": list(targets),
        "scaler": None if train.scaler is None else train.scaler.to_dict(),
    }
    say(f"{source}: best epoch {result.best_epoch}, validation MAE {summary['val_mae']}")
    return state, summary


def _thresholds(y: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Per label, the probability cut with the best F1 on (y, prob); 0.5 without positives."""
    out = np.full(y.shape[1], 0.5)
    for c in range(y.shape[1]):
        pos = y[:, c] > 0.5
        if not pos.any() or pos.all():
            continue
        cuts = np.unique(prob[:, c])
        tp = np.array([np.sum(pos & (prob[:, c] >= t)) for t in cuts])
        fp = np.array([np.sum(~pos & (prob[:, c] >= t)) for t in cuts])
        f1 = 2 * tp / np.maximum(2 * tp + fp + (pos.sum() - tp), 1)
        out[c] = float(cuts[int(np.argmax(f1))])
    return out


def _fit_one(
    data: Any,
    fit_idx: np.ndarray,
    val_idx: np.ndarray,
    cfg: RecordExperiment,
    seed: int,
    arm: tuple[Any, Any, str],
) -> tuple[Any, np.ndarray, int]:
    """One model on the fitting records, early-stopped on the validation records; returns the
    model, the per-label thresholds (F1-best on the validation records) and the best epoch.
    ``arm`` is (pretrained state or None, its summary, head): ``"new"`` (a fresh head),
    ``"matched"`` (:func:`ecgfast.torch.matched_head`) or ``"zero-shot"`` (the matched head, not
    trained: best epoch 0, thresholds from every labelled record)."""
    from ..torch import fit, matched_head, predict
    from ..torch.tasks import Task

    state, summary, head = arm
    tr, va = _take(data, fit_idx), _take(data, val_idx)
    pos = tr.y.sum(axis=0)
    pos_weight = np.sqrt((len(tr.y) - pos) / np.maximum(pos, 1)).clip(1.0, 10.0)
    task = Task.multilabel(cfg.labels, pos_weight=pos_weight.tolist())
    model = _new_model(cfg, data.x.shape[1], len(cfg.labels), seed)
    options: dict[str, Any] = {}
    best = 0
    if state is not None:
        backbone = {k: v for k, v in state.items() if not k.startswith("head.")}
        missing, unexpected = model.load_state_dict(backbone, strict=False)
        if unexpected or any(not k.startswith("head.") for k in missing):
            raise InvalidParameterError("pretrained weights do not fit the model's backbone")
        if head != "new":
            outputs, scaler = summary["outputs"], summary["scaler"]
            terms = DATASETS[cfg.dataset]["terms"]
            matched_head(model, state, outputs, scaler, cfg.labels, terms)
        options = {"policy": cfg.policy, "backbone_lr_factor": cfg.backbone_lr_factor}
    if head == "zero-shot":  # no record was fitted on: every labelled one sets thresholds
        va = _take(data, np.concatenate([fit_idx, val_idx]))
    else:
        training = {k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr", "patience")}
        result = fit(model, tr, va, task, seed=seed, progress=False, **training, **options)
        best = result.best_epoch
    y_val, p_val = predict(model, va, task)
    return model, _thresholds(y_val, p_val), best


def _budget(
    train_idx: np.ndarray, y: np.ndarray, cfg: RecordExperiment, seed: int, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """The labelled budget (``fraction`` of the training records, at least 4) split into fitting
    and validation records, stratified by label; seeded."""
    rng = np.random.default_rng([seed, round(fraction * 1e6), 0xB0D])
    keep = max(4, round(fraction * len(train_idx)))
    chosen = np.sort(rng.permutation(train_idx)[:keep])
    k = max(2, round(1 / cfg.val_fraction))
    inner = label_folds(y[chosen], min(k, len(chosen)), seed)
    return chosen[inner != 0], chosen[inner == 0]


def _splits(
    data: Any, cfg: RecordExperiment, test_records: Sequence[str] | None, seed: int
) -> list:
    """(fold, train indices, test indices): label-stratified folds drawn under ``seed``
    (repeated cross-validation: each seed its own partition, shared by every arm), or the given
    test records (fold -1)."""
    names = np.asarray(data.records)
    if test_records:
        test = np.isin(names, list(test_records))
        return [(-1, np.flatnonzero(~test), np.flatnonzero(test))]
    fold = label_folds(data.y, cfg.folds, seed)
    return [(f, np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(cfg.folds)]


def _pretrained(
    cfg: RecordExperiment, source: str, cache: Path | None, say: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`pretrain_on_synthetic_records`, or its result stored in ``cache`` by an earlier
    run with the same settings (source and its synthesis parameters, records, epochs, seed,
    rate, model)."""
    import hashlib

    import torch

    spec = json.dumps(PRETRAIN_SOURCES[source], sort_keys=True, default=str)
    mix = hashlib.sha256(spec.encode()).hexdigest()[:8]  # the synthesis settings
    key = f"{source}-{mix}-{cfg.model}-{cfg.fs:g}hz-{cfg.pretrain_records}rec-"
    key += f"{cfg.pretrain_epochs}ep-seed{cfg.pretrain_seed}-head.pt"  # head kept since 2026-12-04
    path = None if cache is None else cache / key
    if path is not None and path.is_file():
        stored = torch.load(path, map_location="cpu", weights_only=True)
        (say or _quiet)(f"{source}: pretrained backbone from {path}")
        return stored["state"], json.loads(stored["summary"])
    state, summary = pretrain_on_synthetic_records(cfg, source, say)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save({"state": state, "summary": json.dumps(summary, default=float)}, tmp)
        tmp.replace(path)
    return state, summary


def _arms(
    cfg: RecordExperiment, cache: Path | None, say: Any
) -> tuple[dict[str, tuple[Any, Any, str]], dict[str, Any]]:
    """The arms (name -> (pretrained state, its summary, head)) and the pretraining summaries:
    ``scratch``; per source ``SOURCE`` (fresh head), ``SOURCE+head`` (matched head) as
    ``cfg.head`` asks, and ``SOURCE:zero-shot`` with ``cfg.zero_shot``."""
    arms: dict[str, tuple[Any, Any, str]] = {"scratch": (None, None, "new")}
    pretraining = {}
    for source in cfg.pretrain:
        state, summary = _pretrained(cfg, source, cache, say)
        pretraining[source] = summary
        if cfg.head in ("new", "both"):
            arms[source] = (state, summary, "new")
        if cfg.head in ("matched", "both"):
            arms[f"{source}+head"] = (state, summary, "matched")
        if cfg.zero_shot:
            arms[f"{source}:zero-shot"] = (state, summary, "zero-shot")
    return arms, pretraining


def run_record_experiment(
    root: str | Path,
    cfg: RecordExperiment | None = None,
    *,
    train_records: Sequence[str] | None = None,
    test_records: Sequence[str] | None = None,
    out: str | Path | None = None,
    cache: str | Path | None = "default",
    say: Any = print,
) -> dict[str, Any]:
    """Train scratch and pretrained arms on LUDB diagnoses (module docstring) and report.

    Parameters
    ----------
    root : path
        LUDB folder (``ludb.csv`` and ``data/``).
    cfg : RecordExperiment
    train_records, test_records : sequence of str, optional
        LUDB record IDs. Without ``test_records``: ``cfg.folds``-fold cross-validation over the
        training records (default all present).
    out : path, optional
        Folder for ``report.json``, ``report.md``, ``runs.csv``, ``predictions.csv`` and the plot.
    cache : path, "default" or None
        Folder where pretrained backbones are kept and looked up by their settings (default:
        ``out/pretrained``, none without ``out``), so that a rerun with other seeds, folds or
        fractions does not pretrain again.

    Returns
    -------
    dict
        ``config``, ``pretraining`` (per source), ``runs`` (one row per seed, fold, fraction and
        arm: macro AUROC / F1 on the test records), ``summary`` (mean ± sd per arm and fraction),
        ``pooled`` (per-label AUROC over all test predictions), ``paired`` (each pretrained arm
        minus scratch).
    """
    from ..torch import predict
    from ..torch.tasks import Task

    cfg = _checked(cfg or RecordExperiment())
    if cache == "default":
        cache = None if out is None else Path(out) / "pretrained"
    cache = None if cache is None else Path(cache)
    if cfg.dataset == "ptbxl":
        data = _ptbxl_records(root, cfg, train_records, test_records)
        if not test_records:  # the recommended split: fold 10 is the test set
            test_records = [r for r, f in zip(data.records, data.folds, strict=True) if f == 10]
    else:
        data = _ludb_records(root, cfg, train_records, test_records)
    report_line = say or _quiet
    arms, pretraining = _arms(cfg, cache, say)
    runs, preds = [], []
    warned: set[float] = set()
    for seed in cfg.seeds:
        for fold, train_idx, test_idx in _splits(data, cfg, test_records, seed):
            te = _take(data, test_idx)
            for fraction in cfg.fractions:
                fit_idx, val_idx = _budget(train_idx, data.y, cfg, seed, fraction)
                if len(fit_idx) < len(cfg.labels) and fraction not in warned:
                    warned.add(fraction)
                    warnings.warn(
                        f"labels fraction {fraction:g} leaves {len(fit_idx)} labelled records "
                        f"to fit {len(cfg.labels)} labels on: expect chance-level AUROC for every "
                        "arm (on LUDB at 10 %, every arm's macro AUROC was 0.50-0.52 over ten "
                        "seeds; BENCHMARKS.md)",
                        stacklevel=2,
                    )
                for init, arm in arms.items():
                    model, thr, best = _fit_one(data, fit_idx, val_idx, cfg, seed, arm)
                    y, prob = predict(model, te, Task.multilabel(cfg.labels))
                    m = _score(y, prob, cfg.labels, thr)
                    row = {
                        "seed": seed,
                        "fold": fold,
                        "fraction": fraction,
                        "init": init,
                        "train_records": len(fit_idx),
                        "val_records": len(val_idx),
                        "best_epoch": best,
                        **m,
                    }
                    runs.append(row)
                    preds.append(_predictions(te.records, prob, y, cfg.labels, row))
                    report_line(
                        f"seed {seed} fold {fold} {fraction:.0%} {init}: macro AUROC "
                        f"{m['macro_auroc']:.3f}, macro F1 {m['macro_f1']:.3f}"
                    )
    report = _report(cfg, runs, pd.concat(preds, ignore_index=True), pretraining)
    if out is not None:
        _write(report, Path(out))
    return report


def _ludb_records(
    root: str | Path,
    cfg: RecordExperiment,
    train_records: Sequence[str] | None,
    test_records: Sequence[str] | None,
) -> Any:
    """The LUDB records asked for (all present by default) as a multi-label
    :class:`~ecgfast.torch.WFDBDataset` at ``cfg.fs``, records named by their ID."""
    from ..torch import WFDBDataset

    table = ludb_diagnoses(root, cfg.labels)
    table["record"] = table["record"].astype(str)
    ids = table["record"].str.split("/").str[-1]
    wanted = [str(r) for r in (train_records or [])] + [str(r) for r in (test_records or [])]
    missing = sorted(set(wanted) - set(ids))
    if missing:
        raise InvalidParameterError(f"LUDB records not found in {root}: {missing}")
    if wanted:
        table = table[ids.isin(wanted)].reset_index(drop=True)
    data = WFDBDataset(root, table, fs=cfg.fs, duration=10.0)
    data.records = [r.split("/")[-1] for r in data.records]
    return data


def _ptbxl_records(
    root: str | Path,
    cfg: RecordExperiment,
    train_records: Sequence[str] | None,
    test_records: Sequence[str] | None,
) -> Any:
    """PTB-XL's records with a diagnostic superclass (:class:`~ecgfast.torch.PTBXL`, folds
    1-10), named by ``ecg_id``, at ``cfg.fs`` (the 100-Hz copy up to 100 Hz, else the 500-Hz
    one, resampled when needed), the labels ``cfg.labels``; ``.folds`` holds ``strat_fold``."""
    from ..preprocessing import resample
    from ..torch import PTBXL

    data: Any = PTBXL(root, 100 if cfg.fs <= 100 else 500, split=tuple(range(1, 11)))
    if data.fs != cfg.fs:
        data.x = resample(data.x, data.fs, cfg.fs).astype(np.float32)
        data.fs = float(cfg.fs)
    data.y = data.y[:, [data.classes.index(c) for c in cfg.labels]]
    data.records = [str(i) for i in data.meta.index]
    wanted = [str(r) for r in (train_records or [])] + [str(r) for r in (test_records or [])]
    missing = sorted(set(wanted) - set(data.records))
    if missing:
        raise InvalidParameterError(
            f"PTB-XL records (ecg_id) without a diagnostic superclass or not in {root}: "
            f"{missing[:10]}"
        )
    if wanted:
        keep = np.flatnonzero(np.isin(data.records, wanted))
        data = _take(data, keep)
        data.meta = data.meta.iloc[keep]
    data.folds = data.meta["strat_fold"].to_numpy()
    return data


def _quiet(*_: Any) -> None:
    """``say`` when nothing should be printed."""


def _score(y: np.ndarray, prob: np.ndarray, labels: Sequence[str], thr: np.ndarray) -> dict:
    from .. import evaluate

    m = evaluate.multilabel(y, prob, labels, thr)
    return {
        "macro_auroc": m["macro_auroc"],
        "macro_f1": m["macro_f1"],
        **{f"auroc_{k}": v for k, v in m["per_label_auroc"].items()},
        **{f"f1_{k}": v for k, v in m["per_label_f1"].items()},
    }


def _predictions(
    records: list[str], prob: np.ndarray, y: np.ndarray, labels: Sequence[str], row: dict
) -> pd.DataFrame:
    out = pd.DataFrame(prob, columns=[f"p_{c}" for c in labels])
    for c, name in enumerate(labels):
        out[f"y_{name}"] = y[:, c]
    for key in ("seed", "fold", "fraction", "init"):
        out.insert(0, key, row[key])
    out.insert(0, "record", records)
    return out


def _checked(cfg: RecordExperiment) -> RecordExperiment:
    check_fs(cfg.fs)  # before any record is read (PTB-XL is read whole)
    check_int(cfg.folds, name="folds", low=2, high=100)
    check_int(cfg.epochs, name="epochs", low=1, high=10_000)
    check_int(cfg.pretrain_records, name="pretrain_records", low=16, high=10**7)
    unknown = sorted(set(cfg.pretrain) - set(PRETRAIN_SOURCES))
    if unknown:
        raise InvalidParameterError(
            f"unknown pretraining sources {unknown}; choose from {', '.join(PRETRAIN_SOURCES)}"
        )
    if not cfg.fractions or not all(0 < f <= 1 for f in cfg.fractions):
        raise InvalidParameterError(f"fractions must be in (0, 1], got {cfg.fractions}")
    if not 0 < cfg.val_fraction < 1:
        raise InvalidParameterError(f"val_fraction must be in (0, 1), got {cfg.val_fraction}")
    if not cfg.seeds:
        raise InvalidParameterError("give at least one seed")
    if cfg.dataset not in DATASETS:
        msg = f"dataset must be one of {tuple(DATASETS)}, got {cfg.dataset!r}"
        raise InvalidParameterError(msg)
    unknown_labels = sorted(set(cfg.labels) - set(DATASETS[cfg.dataset]["labels"]))
    if unknown_labels or not cfg.labels:
        raise InvalidParameterError(
            f"labels {unknown_labels} are not {cfg.dataset} labels; choose from "
            + ", ".join(DATASETS[cfg.dataset]["labels"])
        )
    if cfg.head not in HEADS:
        raise InvalidParameterError(f"head must be one of {HEADS}, got {cfg.head!r}")
    if (cfg.head != "new" or cfg.zero_shot) and not cfg.pretrain:
        raise InvalidParameterError("a matched head or zero-shot arm needs a pretraining source")
    return cfg


def _report(
    cfg: RecordExperiment, runs: list[dict], preds: pd.DataFrame, pretraining: dict
) -> dict[str, Any]:
    from .. import evaluate

    table = pd.DataFrame(runs)
    summary, paired, pooled = [], {}, []
    for (fraction, init), g in table.groupby(["fraction", "init"], sort=False):
        summary.append(
            {
                "fraction": fraction,
                "init": init,
                "macro_auroc": mean_ci(g["macro_auroc"].to_numpy()),
                "macro_f1": mean_ci(g["macro_f1"].to_numpy()),
            }
        )
        for seed, p in preds[(preds.fraction == fraction) & (preds.init == init)].groupby("seed"):
            y = p[[f"y_{c}" for c in cfg.labels]].to_numpy()
            prob = p[[f"p_{c}" for c in cfg.labels]].to_numpy()
            per = {c: evaluate.auroc(y[:, k], prob[:, k]) for k, c in enumerate(cfg.labels)}
            pooled.append({"fraction": fraction, "init": init, "seed": seed, **per})
    base = table[table.init == "scratch"].set_index(["seed", "fold", "fraction"])
    for init in [i for i in table.init.unique() if i != "scratch"]:
        arm = table[table.init == init].set_index(["seed", "fold", "fraction"])
        for fraction in cfg.fractions:
            a = arm.xs(fraction, level="fraction")
            b = base.xs(fraction, level="fraction").loc[a.index]
            paired[f"{init} - scratch, {fraction:.0%}"] = {
                m: mean_ci((a[m] - b[m]).to_numpy(dtype=float)) for m in ("macro_auroc", "macro_f1")
            }
    return {
        "config": asdict(cfg),
        "pretraining": pretraining,
        "runs": runs,
        "summary": summary,
        "pooled": pooled,
        "paired": paired,
        "predictions": preds,
    }


def _fmt(s: dict[str, Any]) -> str:
    if "sd" not in s:
        return f"{s['mean']:.3f}"
    return f"{s['mean']:.3f} ± {s['sd']:.3f}"


def _dataset(report: dict[str, Any]) -> str:
    """The report's dataset (reports written before PTB-XL was added are LUDB's)."""
    return str(report["config"].get("dataset", "ludb"))


def _title(report: dict[str, Any]) -> str:
    return f"{DATASETS[_dataset(report)]['title']} diagnoses: scratch vs synthetic pretraining"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: mean ± sd per arm, the paired differences, pooled AUROC per
    label."""
    cfg = report["config"]
    lines = [
        f"# {_title(report)}",
        "",
        f"{len(cfg['labels'])} labels ({', '.join(cfg['labels'])}), {cfg['model']} at "
        f"{cfg['fs']:g} Hz, seeds {list(cfg['seeds'])}, policy {cfg['policy']}. Test records "
        "were seen by no choice (early stopping and thresholds on held-out training records).",
        "",
        "| labels | init | macro AUROC | macro F1 | runs |",
        "|---|---|---|---|---|",
    ]
    for s in report["summary"]:
        lines.append(
            f"| {s['fraction']:.0%} | {s['init']} | {_fmt(s['macro_auroc'])} | "
            f"{_fmt(s['macro_f1'])} | {s['macro_auroc']['n']} |"
        )
    if report["paired"]:
        lines += [
            "",
            "Paired differences (same seed, fold and records):",
            "",
            "| comparison | Δ macro AUROC [95 % CI] | Δ macro F1 [95 % CI] |",
            "|---|---|---|",
        ]
        for name, d in report["paired"].items():
            cells = []
            for m in ("macro_auroc", "macro_f1"):
                s = d[m]
                ci = s.get("ci95")
                cells.append(f"{s['mean']:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""))
            lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    if any(str(s["init"]).endswith(":zero-shot") for s in report["summary"]):
        lines += [
            "",
            "Zero-shot arms are not trained: every labelled record of the budget (not only the "
            "validation quarter the trained arms keep) sets their F1 thresholds, so at small "
            "budgets part of their F1 gain is better-placed thresholds; AUROC does not depend "
            "on thresholds (BENCHMARKS.md: a head matched for 2 of 12 labels gained nearly as "
            "much F1 at 10 % labels).",
        ]
    pooled = pd.DataFrame(report["pooled"])
    if len(pooled):
        mean = pooled.drop(columns="seed").groupby(["fraction", "init"], sort=False).mean()
        mean.index = [f"{f:.0%} {init}" for f, init in mean.index]
        lines += [
            "",
            "Per-label AUROC over all test predictions (mean over seeds):",
            "",
            mean.round(3).to_markdown(),
        ]
    return "\n".join(lines) + "\n"


def _write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report["predictions"].to_csv(out / "predictions.csv", index=False)
    pd.DataFrame(report["runs"]).to_csv(out / "runs.csv", index=False)
    body = {k: v for k, v in report.items() if k != "predictions"}
    (out / "report.json").write_text(json.dumps(body, indent=2, default=float))
    (out / "report.md").write_text(markdown(report))
    _plot(report, out / f"{_dataset(report)}_transfer.png")


def _plot(report: dict[str, Any], path: Path) -> None:
    """Macro AUROC per arm and label fraction (mean ± sd over seeds and folds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = report["summary"]
    inits = list(dict.fromkeys(s["init"] for s in summary))
    fractions = list(dict.fromkeys(s["fraction"] for s in summary))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / len(inits)
    for k, init in enumerate(inits):
        rows = [
            next(s for s in summary if s["init"] == init and s["fraction"] == f) for f in fractions
        ]
        mean = [r["macro_auroc"]["mean"] for r in rows]
        sd = [r["macro_auroc"].get("sd", 0.0) for r in rows]
        ax.bar(np.arange(len(fractions)) + k * width, mean, width, yerr=sd, label=init, capsize=3)
    ax.set_xticks(np.arange(len(fractions)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{f:.0%} of the labels" for f in fractions])
    ax.set_ylabel("macro AUROC (test folds)")
    ax.set_ylim(0.4, 1.0)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(_title(report))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
