"""Inter-patient beat classification (AAMI N, S, V, F) from scratch, with a protocol whose
figures can be believed: every choice (early stopping, the best epoch) is made on patients
inside the training records, every reported figure on patients no choice saw.

- ``test_records`` given (e.g. DS1 -> DS2, de Chazal et al. 2004): per seed, the training
  patients are split (stratified by class) into fitting and early-stopping patients, and the
  test patients are scored once.
- no ``test_records``: patient-wise k-fold cross-validation inside ``train_records``; in each
  fold the other folds' patients are split again for early stopping; the held-out fold is
  scored. Predictions of all folds are pooled (every beat predicted by a model that never saw
  its patient) and the per-fold figures are reported as mean ± sd.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..beatdata import BEAT_FEATURES, patient_of
from ..errors import InvalidParameterError
from ..evaluate import beat_classification

CLASSES = ("N", "S", "V", "F")


@dataclass
class BeatExperiment:
    """Settings of :func:`run_beat_experiment` (inputs, model, training)."""

    model: str = "resnet1d"
    width: int = 16
    leads: tuple[str, ...] = ("MLII",)
    window: tuple[float, float] = (0.25, 0.45)
    features: tuple[str, ...] = BEAT_FEATURES
    template: bool = True
    balance: str | None = "weights"
    focal_gamma: float = 0.0
    epochs: int = 8
    batch_size: int = 256
    lr: float = 3e-3
    patience: int = 4
    folds: int = 5
    val_fraction: float = 0.25
    seeds: tuple[int, ...] = (0,)
    beats: str = "annotations"


def patient_folds(counts: dict[str, np.ndarray], k: int) -> dict[str, int]:
    """Patient -> fold, spreading the carriers of each rare class over the folds: patients
    sorted by their F, then S, then V beats (most first) and dealt out in a snake order."""
    if k < 2 or k > len(counts):
        raise InvalidParameterError(f"folds must be in 2..{len(counts)} (patients), got {k}")
    order = sorted(counts, key=lambda p: (-counts[p][3], -counts[p][1], -counts[p][2], p))
    out = {}
    for i, p in enumerate(order):
        j = i % (2 * k)
        out[p] = j if j < k else 2 * k - 1 - j
    return out


def _fit_and_predict(beats: Any, fit_recs, val_recs, test_recs, cfg: BeatExperiment, seed: int):
    import torch

    from ..torch import create_model, fit, predict
    from ..torch.finetune import class_weights
    from ..torch.tasks import Task

    tr, va, te = beats.subset(fit_recs), beats.subset(val_recs), beats.subset(test_recs)
    weights = class_weights(tr.labels, len(CLASSES), cfg.balance)
    torch.manual_seed(seed)
    opts = {"width": cfg.width} if cfg.model == "resnet1d" else {}
    model = create_model(
        cfg.model,
        tr.x.shape[1],
        len(CLASSES),
        extra_features=len(cfg.features),
        **opts,
    )
    task = Task.classification(CLASSES, weights=weights.tolist(), focal_gamma=cfg.focal_gamma)
    training = {k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr", "patience")}
    result = fit(model, tr, va, task, seed=seed, progress=False, **training)
    _, prob = predict(model, te, Task.classification(CLASSES))
    return te, prob, result.best_epoch


def _plan(
    counts: Any, train_records: list[str], test_records: list[str], folds: int
) -> list[tuple[int | None, list[str], list[str]]]:
    """(fold or None, training records, scored records) of each model to fit: one train/test
    pair, or one per patient fold of the training records."""
    if test_records:
        return [(None, train_records, test_records)]
    per_patient = {
        p: counts.loc[[r for r in train_records if patient_of(r) == p]].sum().to_numpy()
        for p in {patient_of(r) for r in train_records}
    }
    fold_of = patient_folds(per_patient, folds)
    return [
        (
            k,
            [r for r in train_records if fold_of[patient_of(r)] != k],
            [r for r in train_records if fold_of[patient_of(r)] == k],
        )
        for k in range(folds)
    ]


def _summary(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0}
    return {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "n": int(v.size),
    }


def run_beat_experiment(
    root: str | Path,
    train_records: Sequence[str],
    test_records: Sequence[str] | None = None,
    *,
    config: BeatExperiment | None = None,
    out: str | Path | None = None,
    say: Any = print,
) -> dict[str, Any]:
    """Train from scratch and score on held-out patients (see the module docstring).

    Returns the report (also written to ``out/beats.json`` and ``out/beats.md``): per seed the
    pooled :func:`ecgfast.evaluate.beat_classification` figures, per fold (CV) the fold's,
    ``summary`` with mean ± sd of macro-F1, S/V/F F1 and jκ over seeds (and folds), and
    ``predictions``, a DataFrame with one row per scored beat and seed (record, sample,
    symbol, label, predicted, class probabilities; ``out/beats_predictions.csv``)."""
    from tqdm.auto import tqdm

    from ..torch.real import MITBIHBeats, patient_split

    cfg = config or BeatExperiment()
    quiet = say is None
    say = say or (lambda *_: None)
    train_records = [str(r) for r in train_records]
    test_records = [str(r) for r in (test_records or [])]
    overlap = {patient_of(r) for r in train_records} & {patient_of(r) for r in test_records}
    if overlap:
        raise InvalidParameterError(f"patients {sorted(overlap)} are in both train and test")
    inputs = {k: getattr(cfg, k) for k in ("window", "leads", "features", "template", "beats")}
    beats = MITBIHBeats(root, train_records + test_records, classes=CLASSES, **inputs)
    say(f"{len(beats)} beats of {beats.meta['record'].nunique()} records: {beats.class_counts()}")
    counts = beats.record_class_counts()
    have = set(counts.index)
    train_records = [r for r in train_records if r in have]
    test_records = [r for r in test_records if r in have]
    runs: list[dict] = []
    folds_out: list[dict] = []
    predictions: list[Any] = []
    plan = _plan(counts, train_records, test_records, cfg.folds)
    bar = tqdm(total=len(plan) * len(cfg.seeds), desc="beat classification", disable=quiet)
    for seed in cfg.seeds:
        truth, probs = [], []
        for k, inner, held_out in plan:
            fit_recs, val_recs = patient_split(
                inner, cfg.val_fraction, seed=seed, class_counts=counts.loc[inner]
            )
            te, p, best = _fit_and_predict(beats, fit_recs, val_recs, held_out, cfg, seed)
            y = te.labels
            truth.append(y)
            probs.append(p)
            predictions.append(_predictions(te, p, seed, k))
            m = beat_classification(y, p, CLASSES)
            folds_out.append(
                {
                    "seed": seed,
                    "fold": k,
                    "test_records": held_out,
                    "val_records": val_recs,
                    "best_epoch": best,
                    **m,
                }
            )
            bar.update()
        pooled = beat_classification(np.concatenate(truth), np.concatenate(probs), CLASSES)
        runs.append({"seed": seed, **pooled})
    bar.close()
    report = {
        "ecgfast_version": __version__,
        "protocol": "train/test" if test_records else f"{cfg.folds}-fold patient CV",
        "train_records": train_records,
        "test_records": test_records,
        "config": asdict(cfg),
        "class_counts": beats.class_counts(),
        "skipped": beats.skipped,
        "runs": runs,
        "folds": folds_out,
        "summary": _report_summary(runs, folds_out, bool(test_records)),
    }
    table = pd.concat(predictions, ignore_index=True)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "beats.json").write_text(json.dumps(report, indent=1, default=float))
        table.to_csv(out / "beats_predictions.csv", index=False, float_format="%.5f")
        (out / "beats.md").write_text(markdown(report))
        _plot_confusion(report, out / "beats_confusion.png")
    report["predictions"] = table
    return report


def _predictions(te: Any, prob: np.ndarray, seed: int, fold: int | None) -> Any:
    """One row per scored beat: where it is, its class, the predicted class and probabilities."""
    rows = te.meta[["record", "sample", "symbol"]].copy()
    rows.insert(0, "fold", -1 if fold is None else fold)
    rows.insert(0, "seed", seed)
    rows["label"] = [CLASSES[i] for i in te.labels]
    rows["predicted"] = [CLASSES[i] for i in prob.argmax(axis=1)]
    for j, c in enumerate(CLASSES):
        rows[f"p_{c}"] = prob[:, j]
    return rows


def _report_summary(runs: list[dict], folds: list[dict], has_test: bool) -> dict[str, Any]:
    def stats(rows: list[dict]) -> dict[str, Any]:
        return {
            "macro_f1": _summary([r["macro_f1"] for r in rows]),
            **{f"f1_{c}": _summary([r["per_class"][c]["f1"] for r in rows]) for c in CLASSES},
            "jkappa": _summary([r["jkappa"] for r in rows]),
        }

    out = {"pooled_over_seeds": stats(runs)}
    if not has_test:
        out["per_fold"] = stats(folds)
    return out


def _fmt(s: dict[str, float]) -> str:
    if s["n"] == 0:
        return "n/a"
    return f"{s['mean']:.3f} ± {s['sd']:.3f}" if s["n"] > 1 else f"{s['mean']:.3f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: protocol, per-class table of the first seed, summaries."""
    lines = [
        f"# Beat classification ({report['protocol']}, from scratch)",
        "",
        f"train records: {' '.join(report['train_records'])}",
        f"test records: {' '.join(report['test_records']) or '(cross-validation)'}",
        f"beats: {report['class_counts']}",
        "",
        "| class | Se | +P | F1 | beats |",
        "|---|---|---|---|---|",
    ]
    first = report["runs"][0]
    for c in CLASSES:
        m = first["per_class"][c]
        lines.append(f"| {c} | {m['se']:.3f} | {m['ppv']:.3f} | {m['f1']:.3f} | {m['support']} |")
    lines += [
        "",
        f"seed {first['seed']}: macro-F1 {first['macro_f1']:.3f}, accuracy "
        f"{first['accuracy']:.3f}, jκ {first['jkappa']:.3f}",
        "",
    ]
    for scope, stats in report["summary"].items():
        parts = ", ".join(f"{k} {_fmt(v)}" for k, v in stats.items())
        lines.append(f"- {scope.replace('_', ' ')}: {parts}")
    return "\n".join(lines) + "\n"


def _plot_confusion(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(report["runs"][0]["confusion"], dtype=np.float64)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(CLASSES)):
        for j in range(len(CLASSES)):
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if rows[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(len(CLASSES)), CLASSES)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("annotated")
    ax.set_title(f"{report['protocol']}: macro-F1 {report['runs'][0]['macro_f1']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
