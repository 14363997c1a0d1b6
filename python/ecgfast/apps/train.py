"""``ecgfast pretrain`` and ``ecgfast finetune`` as functions (need torch).

:func:`run_pretrain` regresses intervals from synthetic records or beats and writes a
checkpoint, ``metrics.json`` and plots; :func:`run_finetune` fine-tunes a pretrained
checkpoint (or a fresh model, ``policy="scratch"``) on MIT-BIH beats split by patient, and
writes ``finetune.json``. Both go through :func:`ecgfast.torch.fit`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from .. import __version__
from .._data import SHIPPED_MITDB, wfdb_records
from ..errors import InvalidParameterError
from ..torch import (
    AAMI_CLASSES,
    DS1,
    FinetuneConfig,
    FitConfig,
    FitResult,
    MITBIHBeats,
    SyntheticBeats,
    SyntheticECG,
    create_model,
    finetune_classifier,
    load,
    patient_split,
    pretrain_regression,
)

__all__ = ["run_finetune", "run_pretrain"]

#: Validation streams are offset from the training seed by this much (never overlapping).
VAL_SEED_OFFSET = 1_000_003


def run_pretrain(
    out: str | Path,
    *,
    n_train: int = 20_000,
    n_val: int = 2_000,
    model: str = "xresnet1d",
    targets: Any = ("hr", "pr", "qrs", "qt"),
    beats: bool = False,
    window: float = 0.8,
    fs: float = 250.0,
    duration: float = 10.0,
    leads: Any = "12",
    seed: int = 0,
    resume: bool = False,
    fit: FitConfig | None = None,
    method: str = "dipole",
) -> dict[str, Any]:
    """Pretrain ``model`` on synthetic data; returns the report written to ``metrics.json``.

    ``method="deepfake"`` pretrains on the deepfake-ecg GAN's records labelled by ecgfast
    (records, not beat windows; 10 s, resampled to ``fs``) instead of the dynamical model.

    ``seed`` seeds the training stream, the model's initialisation and training (the
    validation stream uses ``seed + 1_000_003``). ``beats=True`` trains on beat-centred windows
    of ``window`` seconds (``n_train``/``n_val`` then count records of 8 beats each).
    ``resume=True`` continues an interrupted run in the same ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fit = FitConfig.merge(fit, {"seed": seed})
    synth = {"fs": fs, "duration": duration, "leads": leads}
    if method != "dipole":
        if beats:
            raise InvalidParameterError("beat windows (--beats) need method='dipole'")
        synth["method"] = method
    kind: Any = SyntheticBeats if beats else SyntheticECG
    extra = {"window": window, "beats_per_record": 8} if beats else {}
    train = kind(n_train, targets=targets, seed=seed, **extra, **synth)
    val = kind(
        n_val,
        targets=train.targets,
        seed=seed + VAL_SEED_OFFSET,
        scaler=train.scaler,
        **extra,
        **synth,
    )
    torch.manual_seed(seed)
    net = create_model(model, len(train.lead_names), len(train.targets))
    if fit.progress:
        print(
            f"pretraining {model} ({sum(p.numel() for p in net.parameters()):,} parameters) on "
            f"{n_train} synthetic records ({len(train.lead_names)} leads, {train.fs:g} Hz, "
            f"{duration:g} s{', beat windows' if beats else ''}), validating on {n_val}; "
            f"targets {', '.join(train.targets)}"
        )
    result = pretrain_regression(net, train, val, fit, checkpoint=out / "model.pt", resume=resume)
    from ..plot import pretraining

    report = {
        "ecgfast_version": __version__,
        "model": model,
        "n_train": n_train,
        "n_val": n_val,
        "data": {**synth, "beats": beats, "window": window if beats else None},
        "targets": list(result.names),
        "best_epoch": result.best_epoch,
        "val_mae": result.best_mae,
        "seconds": result.seconds,
        "history": result.history,
        "checkpoint": result.checkpoint,
        "plots": pretraining(result, out),
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=1))
    return report


def _records(root: Path, records: list[str] | None) -> list[str]:
    """The records asked for (all must exist), else the DS1 records present, else all."""
    if records:
        return wfdb_records(root, records)
    available = wfdb_records(root)
    return [r for r in DS1 if r in available] or available


def _model_for(pretrained: str | Path | None, policy: str, model: str, fs: float) -> tuple:
    """(model with a 5-class head, its sampling rate, its window or None, pretraining meta)."""
    if pretrained is None:
        if policy != "scratch":
            raise InvalidParameterError(
                f"policy {policy!r} transfers pretrained weights: pass a checkpoint "
                "(--pretrained) or use policy 'scratch'"
            )
        return create_model(model, 1, len(AAMI_CLASSES)), fs, None, {}
    if policy == "scratch":
        raise InvalidParameterError(
            "policy 'scratch' re-initialises the model, so a pretrained checkpoint would be "
            "ignored: drop --pretrained or choose linear, partial or full"
        )
    path = Path(pretrained)
    net, meta = load(path / "model.pt" if path.is_dir() else path)
    if net.config["in_channels"] != 1:
        raise InvalidParameterError(
            f"the pretrained model takes {net.config['in_channels']} leads; MIT-BIH beats have "
            "one (pretrain with --leads II --beats)"
        )
    pre = meta["preprocessing"]
    net.replace_head(len(AAMI_CLASSES))
    return net, (pre.fs if pre else fs), (pre.length if pre and pre.kind == "beat" else None), meta


def run_finetune(
    out: str | Path,
    *,
    pretrained: str | Path | None = None,
    root: str | Path | None = None,
    records: list[str] | None = None,
    policy: str | None = None,
    model: str = "xresnet1d",
    fs: float = 250.0,
    window: float | None = None,
    fraction: float = 1.0,
    val_fraction: float = 0.25,
    balance: str | None = "sqrt",
    seed: int = 0,
    fit: FinetuneConfig | None = None,
) -> tuple[dict[str, Any], FitResult]:
    """Fine-tune on MIT-BIH beats (AAMI classes), patients split into training and validation
    (stratified by beat symbol). Returns ``(report written to finetune.json, FitResult)``.

    ``policy`` defaults to ``full`` with a checkpoint and ``scratch`` without; any other
    combination of the two is an error, never silently changed. ``fs`` and ``window`` come
    from the checkpoint's pipeline when there is one (``window`` defaults to 0.8 s)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    policy = policy or ("full" if pretrained else "scratch")
    root = Path(root) if root else SHIPPED_MITDB
    recs = _records(root, records)
    net, fs, ckpt_window, meta = _model_for(pretrained, policy, model, fs)
    if window is not None and ckpt_window is not None and abs(window - ckpt_window) > 1e-9:
        raise InvalidParameterError(
            f"the checkpoint was pretrained on {ckpt_window:g}-s windows; --window {window:g} "
            "differs (leave it out to use the checkpoint's)"
        )
    window = window or ckpt_window or 0.8
    beats = MITBIHBeats(root, recs, window=window, fs=fs)
    train_recs, val_recs = patient_split(
        sorted(set(beats.meta["record"])),
        val_fraction,
        seed=seed,
        class_counts=beats.record_class_counts(by="symbol"),
    )
    train = beats.subset(train_recs, fraction=fraction, seed=seed)
    val = beats.subset(val_recs)
    if fit is None or fit.progress:
        print(
            f"fine-tuning ({policy}) on {len(train)} beats of {len(train_recs)} patients, "
            f"validating on {len(val)} beats of {len(val_recs)} other patients"
        )
    result = finetune_classifier(
        net, train, val, fit, checkpoint=out / "model.pt", policy=policy, balance=balance, seed=seed
    )
    report = {
        "ecgfast_version": __version__,
        "policy": policy,
        "pretrained": None if pretrained is None else str(pretrained),
        "train_records": train_recs,
        "val_records": val_recs,
        "train_counts": train.class_counts(),
        "val_counts": val.class_counts(),
        "best_epoch": result.best_epoch,
        "metrics": result.metrics,
        "history": result.history,
        "pretraining": meta.get("metrics"),
    }
    (out / "finetune.json").write_text(json.dumps(report, indent=1, default=float))
    return report, result
