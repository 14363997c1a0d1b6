"""Zero-shot diagnosis of real 12-lead records by a model pretrained on synthetic records only:
its head read as the target's labels (:func:`ecgfast.torch.matched_head`), no real label used
for anything but the score. Per-label AUROC with a 95 % bootstrap interval (records resampled),
and the macro AUROC over the labels with at least ``--min-positives`` positive records.

    python benches/zero_shot.py cinc2021 --root ../shared/data/cinc2021
    python benches/zero_shot.py ludb --root ../shared/data/ludb --sources pathology-matched,dipole

The pretrained weights come from ``--cache`` (as ``ecgfast ludb --cache`` stores them; the
same settings as that command's defaults: ResNet1d at 100 Hz, 2000 records, 8 epochs, seed 0)
or are pretrained here and stored there. The label maps are
:data:`ecgfast.diagnoses.LUDB_FROM_SYNTHETIC` and :data:`ecgfast.diagnoses.CINC2021_FROM_SYNTHETIC`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ecgfast import evaluate
from ecgfast.apps import records
from ecgfast.diagnoses import (
    CINC2021_FROM_SYNTHETIC,
    LUDB_FROM_SYNTHETIC,
    cinc2021_diagnoses,
    ludb_diagnoses,
)


def _table(dataset: str, root: str, min_positives: int) -> tuple[pd.DataFrame, dict]:
    """Labels of the records (the mapped labels with enough positives) and the label map."""
    if dataset == "ludb":
        table, terms = ludb_diagnoses(root), LUDB_FROM_SYNTHETIC
    else:
        table, terms = cinc2021_diagnoses(root), CINC2021_FROM_SYNTHETIC
    keep = [c for c in table.columns[1:] if c in terms and table[c].sum() >= min_positives]
    if not keep:
        raise SystemExit(f"no mapped label has {min_positives} positive records in {root}")
    return table[["record", *keep]], terms


def _bootstrap(y: np.ndarray, p: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        if 0 < y[i].sum() < len(i):
            values.append(evaluate.auroc(y[i], p[i]))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=("cinc2021", "ludb"))
    p.add_argument("--root", required=True)
    p.add_argument("--sources", default="pathology-matched", help="comma list of sources")
    p.add_argument("--cache", default="runs/ludb_cache_head", help="pretrained weights folder")
    p.add_argument("--min-positives", type=int, default=2)
    p.add_argument("--pretrain-seed", type=int, default=0, help="seed of the pretraining")
    args = p.parse_args()

    from ecgfast.torch import WFDBDataset, matched_head, predict
    from ecgfast.torch.tasks import Task

    table, terms = _table(args.dataset, args.root, args.min_positives)
    labels = tuple(table.columns[1:])
    cfg = records.RecordExperiment(labels=labels, pretrain_seed=args.pretrain_seed)
    data = WFDBDataset(args.root, table, fs=cfg.fs, duration=10.0)
    if data.skipped:
        print(f"skipped {len(data.skipped)} unreadable records: {data.skipped[:3]} ...")
    rows = []
    for source in args.sources.split(","):
        state, summary = records._pretrained(cfg, source, Path(args.cache), print)
        model = records._new_model(cfg, data.x.shape[1], len(labels), 0)
        backbone = {k: v for k, v in state.items() if not k.startswith("head.")}
        model.load_state_dict(backbone, strict=False)
        matched = matched_head(model, state, summary["outputs"], summary["scaler"], labels, terms)
        y, prob = predict(model, data, Task.multilabel(labels))
        for c, label in enumerate(labels):
            lo, hi = _bootstrap(y[:, c], prob[:, c])
            rows.append(
                {
                    "source": source,
                    "label": label,
                    "positives": int(y[:, c].sum()),
                    "matched": label in matched,
                    "auroc": evaluate.auroc(y[:, c], prob[:, c]),
                    "ci95": f"[{lo:.2f}, {hi:.2f}]",
                }
            )
    out = pd.DataFrame(rows)
    print(f"\n{args.dataset}: {len(data.records)} records, zero-shot (no real label used)\n")
    print(out.to_markdown(index=False, floatfmt=".3f"))
    for source, g in out.groupby("source", sort=False):
        m = g[g.matched]
        print(f"{source}: macro AUROC over the {len(m)} matched labels {m.auroc.mean():.3f}")


if __name__ == "__main__":
    main()
