"""The main job end to end: synthesize → pretrain → fine-tune on real MIT-BIH beats → report.

1. **Real data** — MIT-BIH beats (AAMI classes N, S, V, F, Q; lead MLII) of the DS1 records found
   in ``root`` (default: the records shipped with ecgfast), one window per annotated beat, at the
   model's rate. Patients are split into training and validation (stratified by class,
   :func:`patient_split`); DS2 records in ``root`` (de Chazal's inter-patient test half), or a
   stratified share of the patients with ``test_fraction``, form a test set.
2. **Pretraining** — a beat-level backbone regresses each synthetic beat's HR, PR, QRS and QT
   (:class:`SyntheticBeats`, lead II, generated on the fly).
3. **Transfer** — for every training fraction and seed, each policy (``scratch``: same
   architecture, random initialisation; ``linear``, ``partial``, ``full``: the pretrained
   backbone) is fine-tuned with the same data, epochs, learning rate and early stopping on
   validation macro-F1 (equal budget).
4. **Report** — a Markdown table (macro-F1, per-class F1, accuracy, macro AUROC: mean ± sd over
   seeds), ``report.json``, plots (pretraining curves, fine-tuning curves, confusion matrices,
   macro-F1 per policy).

``run_demo(out="runs/demo")`` with the defaults takes about 10 minutes on 2 CPU cores.
"""

from __future__ import annotations

import copy
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .._data import SHIPPED_MITDB, wfdb_records
from .._threads import get_num_threads
from ..errors import InvalidParameterError
from ..evaluate import classification
from ..torch import (
    AAMI_CLASSES,
    DS1,
    DS2,
    PACED,
    POLICIES,
    ECGModel,
    FitResult,
    MITBIHBeats,
    SyntheticBeats,
    Task,
    create_model,
    finetune_classifier,
    patient_split,
    predict,
    pretrain_regression,
)

__all__ = ["DemoConfig", "run_demo"]


@dataclass
class DemoConfig:
    """Settings of :func:`run_demo` (defaults: about 10 minutes on 2 CPU cores)."""

    fs: float = 250.0
    window: float = 0.8
    model: str = "xresnet1d"
    targets: tuple[str, ...] = ("hr", "pr", "qrs", "qt")
    #: synthetic 10-s lead-II records for pretraining (8 beats each) and its validation
    pretrain_records: int = 4000
    pretrain_val_records: int = 250
    pretrain_epochs: int = 3
    pretrain_minutes: float | None = 6.0
    pretrain_lr: float = 3e-3
    policies: tuple[str, ...] = ("scratch", "linear", "partial", "full")
    epochs: int = 8
    batch_size: int = 128
    lr: float = 1e-3
    patience: int = 3
    #: class weights ∝ 1/√frequency: ∝ 1/frequency lets a class of a few beats (Q) dominate
    balance: str | None = "sqrt"
    #: shares of each training patient's beats (class-stratified) to fine-tune on
    fractions: tuple[float, ...] = (1.0, 0.1)
    seeds: tuple[int, ...] = (0,)
    val_fraction: float = 1 / 3
    #: share of DS1 patients held out for testing when ``root`` has no DS2 record
    test_fraction: float = 0.0
    #: seeds the patient splits and the pretraining (data and initialisation)
    split_seed: int = 0
    progress: bool = True

    def validate(self) -> DemoConfig:
        bad = [p for p in self.policies if p not in POLICIES]
        if bad or not self.policies:
            raise InvalidParameterError(f"policies must be among {POLICIES}, got {bad}")
        if not self.seeds:
            raise InvalidParameterError("seeds must not be empty")
        if not self.fractions or not all(0 < f <= 1 for f in self.fractions):
            raise InvalidParameterError("fractions must be in (0, 1]")
        if not 0 <= self.test_fraction < 1:
            raise InvalidParameterError("test_fraction must be in [0, 1)")
        for name in ("pretrain_records", "pretrain_val_records", "pretrain_epochs", "epochs"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
        return self


def _choose_records(root: Path, records: list[str] | None) -> tuple[list[str], list[str]]:
    """(development records, DS2 test records) present in ``root``."""
    available = wfdb_records(root)
    if records:
        records = wfdb_records(root, records)
        return [r for r in records if r not in DS2], [r for r in records if r in DS2]
    dev = [r for r in available if r in DS1] or [
        r for r in available if r not in DS2 and r not in PACED
    ]
    return dev, [r for r in available if r in DS2]


def _summary(values: list[float]) -> dict[str, float]:
    v = np.array([x for x in values if x == x], dtype=np.float64)
    if v.size == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0}
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "n": int(v.size)}  # fmt: skip


def _fmt(s: dict[str, float], n_seeds: int) -> str:
    if s["n"] == 0:
        return "-"
    return f"{s['mean']:.3f}" + (f" ± {s['sd']:.3f}" if n_seeds > 1 else "")


def run_demo(
    root: str | Path | None = None,
    records: list[str] | None = None,
    out: str | Path = "runs/demo",
    config: DemoConfig | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """Run the pipeline (module docstring) and write ``out/report.json``, ``out/report.md`` and
    plots. Returns the report (``report["markdown"]`` is the printed table).

    Parameters
    ----------
    root : path, optional
        Folder of MIT-BIH records (default: the records shipped with ecgfast).
    records : list of str, optional
        Records to use (default: the DS1 records in ``root``; DS2 records present are the test
        set).
    out : path
        Output folder.
    config, overrides
        :class:`DemoConfig` and single-field overrides (``epochs=2``).
    """
    cfg = DemoConfig(**{**asdict(config or DemoConfig()), **overrides}).validate()
    root = Path(root) if root is not None else SHIPPED_MITDB
    if not root.is_dir():
        raise InvalidParameterError(f"{root} is not a folder")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = print if cfg.progress else (lambda *a, **k: None)
    start = time.perf_counter()
    data = _real_data(root, records, cfg, say)
    backbone, pre, n_pre = _pretrain(cfg, out, say)
    runs = _finetune_all(backbone, data, cfg, say)
    report: dict[str, Any] = {
        "ecgfast_version": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": {"ecgfast": get_num_threads(), "torch": torch.get_num_threads()},
        "data": str(root),
        "config": asdict(cfg),
        "splits": data.splits,
        "pretraining": {
            "beats": n_pre,
            "best_epoch": pre.best_epoch,
            "val_mae": pre.best_mae,
            "seconds": pre.seconds,
            "history": pre.history,
            "checkpoint": pre.checkpoint,
        },
        "runs": runs,
    }
    report["summary"] = _summarise(runs, cfg, data.test is not None)
    report["markdown"] = _markdown(report, cfg)
    report["plots"] = _plots(out, report, pre, cfg)
    report["seconds"] = time.perf_counter() - start
    (out / "report.md").write_text(report["markdown"])
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    return report


@dataclass
class _RealData:
    beats: MITBIHBeats
    train_records: list[str]
    val: MITBIHBeats
    test: MITBIHBeats | None
    splits: dict[str, Any]


def _real_data(root: Path, records: list[str] | None, cfg: DemoConfig, say: Any) -> _RealData:
    """MIT-BIH beats and the patient-wise train / validation (/ test) split."""
    dev_records, test_records = _choose_records(root, records)
    if len(dev_records) < 2:
        raise InvalidParameterError(
            f"need at least two development (DS1) records in {root}, found {dev_records}"
        )
    beats = MITBIHBeats(root, dev_records + test_records, window=cfg.window, fs=cfg.fs)
    for path, why in beats.skipped:
        say(f"skipped {path}: {why}")
    counts = beats.record_class_counts()
    # Splits are stratified by beat symbol, finer than the AAMI class: left/right bundle-branch
    # block beats are class N but wide like V beats, so they must be seen in training too.
    symbols = beats.record_class_counts(by="symbol")
    dev_records = [r for r in dev_records if r in counts.index]
    test_records = [r for r in test_records if r in counts.index]
    test_kind = "DS2" if test_records else None
    if not test_records and cfg.test_fraction > 0:
        dev_records, test_records = patient_split(
            dev_records, cfg.test_fraction, seed=cfg.split_seed, class_counts=symbols
        )
        test_kind = "held-out DS1 patients"
    train_records, val_records = patient_split(
        dev_records, cfg.val_fraction, seed=cfg.split_seed, class_counts=symbols
    )
    val = beats.subset(val_records)
    test = beats.subset(test_records) if test_records else None
    splits: dict[str, Any] = {
        "train": {
            "records": train_records,
            "counts": {k: int(v) for k, v in counts.loc[train_records].sum().items()},
        },
        "val": {"records": val_records, "counts": val.class_counts()},
    }
    if test is not None:
        splits["test"] = {"records": test_records, "counts": test.class_counts(), "kind": test_kind}
    for name, sp in splits.items():
        c = ", ".join(f"{k} {v}" for k, v in sp["counts"].items())
        say(f"{name}: records {' '.join(sp['records'])} ({c})")
    return _RealData(beats, train_records, val, test, splits)


def _pretrain(cfg: DemoConfig, out: Path, say: Any) -> tuple[ECGModel, FitResult, int]:
    """Beat-level regression pretraining on synthetic lead-II beats."""
    synth: dict[str, Any] = {"fs": cfg.fs, "leads": "II", "duration": 10.0}
    pre_train = SyntheticBeats(
        cfg.pretrain_records, targets=cfg.targets, window=cfg.window, seed=cfg.split_seed, **synth
    )
    pre_val = SyntheticBeats(
        cfg.pretrain_val_records,
        targets=pre_train.targets,
        window=cfg.window,
        seed=cfg.split_seed + 1_000_003,
        scaler=pre_train.scaler,
        **synth,
    )
    torch.manual_seed(cfg.split_seed)
    model = create_model(cfg.model, 1, len(pre_train.targets))
    say(
        f"\npretraining {cfg.model} on {len(pre_train):,} synthetic lead-II beats "
        f"({cfg.fs:g} Hz, {cfg.window:g} s windows; targets {', '.join(pre_train.targets)})"
    )
    pre = pretrain_regression(
        model,
        pre_train,
        pre_val,
        epochs=cfg.pretrain_epochs,
        lr=cfg.pretrain_lr,
        batch_size=cfg.batch_size,
        seed=cfg.split_seed,
        max_minutes=cfg.pretrain_minutes,
        progress=cfg.progress,
        checkpoint=out / "pretrained.pt",
    )
    say(
        f"pretrained in {pre.seconds / 60:.1f} min; synthetic validation MAE "
        + ", ".join(f"{t} {v:.2f}" for t, v in pre.best_mae.items())
    )
    return model, pre, len(pre_train)


def _finetune_all(
    backbone: ECGModel, data: _RealData, cfg: DemoConfig, say: Any
) -> list[dict[str, Any]]:
    """Every fraction × seed × policy at the same budget."""
    runs: list[dict[str, Any]] = []
    task = Task.classification(AAMI_CLASSES)  # turns outputs into probabilities for the test
    for fraction in cfg.fractions:
        for seed in cfg.seeds:
            train = data.beats.subset(data.train_records, fraction=fraction, seed=seed)
            for policy in cfg.policies:
                model = copy.deepcopy(backbone)
                torch.manual_seed(seed)
                model.replace_head(len(AAMI_CLASSES))  # scratch re-initialises it all
                say(
                    f"\nfine-tuning: policy {policy}, fraction {fraction:g} "
                    f"({len(train):,} beats), seed {seed}"
                )
                res = finetune_classifier(
                    model,
                    train,
                    data.val,
                    policy=policy,
                    epochs=cfg.epochs,
                    batch_size=cfg.batch_size,
                    lr=cfg.lr,
                    patience=cfg.patience,
                    balance=cfg.balance,
                    seed=seed,
                    progress=cfg.progress,
                )
                run = {
                    "policy": policy,
                    "fraction": fraction,
                    "seed": seed,
                    "train_beats": len(train),
                    "best_epoch": res.best_epoch,
                    "seconds": res.seconds,
                    "history": res.history,
                    "val": res.metrics,
                }
                if data.test is not None:
                    y_true, y_prob = predict(model, data.test, task, batch_size=cfg.batch_size)
                    run["test"] = classification(y_true, y_prob, AAMI_CLASSES)
                runs.append(run)
    return runs


def _summarise(runs: list[dict], cfg: DemoConfig, has_test: bool) -> list[dict[str, Any]]:
    rows = []
    for fraction in cfg.fractions:
        for policy in cfg.policies:
            sel = [r for r in runs if r["policy"] == policy and r["fraction"] == fraction]
            row: dict[str, Any] = {"policy": policy, "fraction": fraction, "seeds": len(sel)}
            for split in ("val", "test") if has_test else ("val",):
                m = [r[split] for r in sel]
                row[split] = {
                    "macro_f1": _summary([x["macro_f1"] for x in m]),
                    "accuracy": _summary([x["accuracy"] for x in m]),
                    "macro_auroc": _summary([x["macro_auroc"] for x in m]),
                    "per_class_f1": {
                        c: _summary([x["per_class_f1"][c] for x in m]) for c in AAMI_CLASSES
                    },
                }
            rows.append(row)
    return rows


def _markdown(report: dict[str, Any], cfg: DemoConfig) -> str:
    n = len(cfg.seeds)
    pre = report["pretraining"]
    lines = [
        f"# ecgfast {report['ecgfast_version']} demo: synthetic pretraining → MIT-BIH beats",
        "",
        f"Data: {report['data']}. Pretraining: {cfg.model} on {pre['beats']:,} synthetic lead-II "
        f"beats, {pre['seconds'] / 60:.1f} min, synthetic validation MAE "
        + ", ".join(f"{t} {v:.2f}" for t, v in pre["val_mae"].items())
        + " (bpm/ms).",
        "",
    ]
    for name, s in report["splits"].items():
        c = ", ".join(f"{k} {v}" for k, v in s["counts"].items())
        lines.append(f"- {name} patients: {' '.join(s['records'])} ({c})")
    lines += [
        "",
        f"Fine-tuning: {cfg.epochs} epochs max, lr {cfg.lr:g}, batch {cfg.batch_size}, early "
        f"stopping on validation macro-F1 (patience {cfg.patience}); seeds {list(cfg.seeds)}"
        + (" (mean ± sd)" if n > 1 else "")
        + ". Macro-F1 over the classes present.",
        "",
    ]
    splits = ["val", "test"] if "test" in report["splits"] else ["val"]
    for split in splits:
        title = (
            "validation patients (used for early stopping)"
            if split == "val"
            else (f"test patients ({report['splits']['test']['kind']}, never seen in training)")
        )
        lines += [
            f"## {title}",
            "",
            "| policy | train fraction | macro-F1 | accuracy | macro AUROC | "
            + " | ".join(f"F1 {c}" for c in AAMI_CLASSES)
            + " |",
            "|---|---|---|---|---|" + "---|" * len(AAMI_CLASSES),
        ]
        for row in report["summary"]:
            m = row[split]
            cells = [
                row["policy"],
                f"{row['fraction']:g}",
                _fmt(m["macro_f1"], n),
                _fmt(m["accuracy"], n),
                _fmt(m["macro_auroc"], n),
                *(_fmt(m["per_class_f1"][c], n) for c in AAMI_CLASSES),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _plots(out: Path, report: dict[str, Any], pre: Any, cfg: DemoConfig) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    from ..plot import pretraining

    written = pretraining(pre, out, prefix="pretrain_")
    runs = report["runs"]
    colours = {p: f"C{i}" for i, p in enumerate(POLICIES)}

    # fine-tuning curves: validation macro-F1 per epoch, one panel per training fraction
    fig, axes = plt.subplots(1, len(cfg.fractions), figsize=(5 * len(cfg.fractions), 3.5))
    for ax, fraction in zip(np.atleast_1d(axes), cfg.fractions, strict=True):
        for r in runs:
            if r["fraction"] != fraction:
                continue
            h = r["history"]
            first = r["seed"] == cfg.seeds[0]
            ax.plot(
                [e["epoch"] for e in h],
                [e["val_macro_f1"] for e in h],
                color=colours[r["policy"]],
                alpha=0.9 if first else 0.35,
                label=r["policy"] if first else None,
            )
        ax.set(
            xlabel="epoch", ylabel="validation macro-F1", title=f"training fraction {fraction:g}"
        )
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "finetune_curves.png", dpi=110)
    plt.close(fig)
    written.append(str(out / "finetune_curves.png"))

    # confusion matrices of the first seed, first fraction (test set if there is one)
    split = "test" if "test" in report["splits"] else "val"
    sel = [r for r in runs if r["seed"] == cfg.seeds[0] and r["fraction"] == cfg.fractions[0]]
    fig, axes = plt.subplots(1, len(sel), figsize=(3.3 * len(sel), 3.4))
    for ax, r in zip(np.atleast_1d(axes), sel, strict=True):
        cm = np.asarray(r[split]["confusion"], dtype=np.float64)
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_xticks(range(len(AAMI_CLASSES)), AAMI_CLASSES)
        ax.set_yticks(range(len(AAMI_CLASSES)), AAMI_CLASSES)
        ax.set(xlabel="predicted", ylabel="true",
               title=f"{r['policy']}: macro-F1 {r[split]['macro_f1']:.2f}")  # fmt: skip
    fig.suptitle(f"confusion matrices ({'test' if split == 'test' else 'validation'} patients)")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=110)
    plt.close(fig)
    written.append(str(out / "confusion.png"))

    # macro-F1 per policy and fraction, mean ± sd over seeds
    fig, ax = plt.subplots(figsize=(1.8 + 1.3 * len(cfg.policies) * len(cfg.fractions) ** 0.5, 3.4))
    width = 0.8 / len(cfg.fractions)
    for k, fraction in enumerate(cfg.fractions):
        rows = [r for r in report["summary"] if r["fraction"] == fraction]
        means = [r[split]["macro_f1"]["mean"] for r in rows]
        sds = [r[split]["macro_f1"]["sd"] for r in rows]
        ax.bar(np.arange(len(rows)) + k * width, means, width, yerr=sds, capsize=3,
               label=f"fraction {fraction:g}")  # fmt: skip
    ax.set_xticks(np.arange(len(cfg.policies)) + 0.4 - width / 2, cfg.policies)
    ax.set(ylabel=f"macro-F1 ({'test' if split == 'test' else 'validation'})", ylim=(0, 1))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "macro_f1.png", dpi=110)
    plt.close(fig)
    written.append(str(out / "macro_f1.png"))
    return written
