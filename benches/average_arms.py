"""Average a subset of the trained arms of ``ecgfast beats`` runs after the fact, from their
per-beat predictions (``beats_predictions.csv``: each arm's calibrated probabilities), and pair
the average with a reference arm on the same (seed, fold): what ``--combine`` would have
scored for that subset, without training anything again.

    python benches/average_arms.py --fraction 0.1 --arms pretrained,boosted \
        runs/beats_cv_all3_f10/beats_predictions.csv \
        runs/beats_cv_all3_f10_s678/beats_predictions.csv

Which subset to average is a choice: make it on seeds no reported figure uses
(BENCHMARKS.md, issue 16). ``--gate-leads MLII,V`` applies the morphology gate
(:func:`ecgfast.evaluate.morphology_gate`, the default of ``ecgfast beats`` since 2026-12-04,
shape share on those leads) to the average and to the reference, for runs made without it.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from ecgfast.apps._stats import mean_ci_text
from ecgfast.apps.beats import CLASSES, PAIRED_METRICS
from ecgfast.evaluate import MORPHOLOGY_GATE_INPUTS, beat_classification, morphology_gate
from morphology_gate import beat_context  # benches/morphology_gate.py

PROBS = [f"p_{c}" for c in CLASSES]


def _scores(table: pd.DataFrame) -> dict[str, float]:
    y = table["label"].map(CLASSES.index).to_numpy()
    m = beat_classification(y, table[PROBS].to_numpy(), CLASSES)
    return {"macro_f1": m["macro_f1"], **{f"f1_{c}": m["per_class"][c]["f1"] for c in "SVF"}}


def _gated(table: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """``table``'s probabilities through the morphology gate (inputs from ``context``)."""
    t = table.merge(context, on=["record", "sample"], how="left", validate="many_to_one")
    t[PROBS] = morphology_gate(
        t[PROBS].to_numpy(), *(t[c].to_numpy() for c in MORPHOLOGY_GATE_INPUTS), CLASSES
    )
    return t


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("predictions", nargs="+", help="beats_predictions.csv files")
    p.add_argument("--arms", required=True, help="inits to average, e.g. pretrained,boosted")
    p.add_argument("--reference", default="scratch", help="init to pair with (default scratch)")
    p.add_argument("--fraction", type=float, default=1.0, help="label fraction (default 1)")
    p.add_argument(
        "--gate-leads",
        default=None,
        help="apply the morphology gate with the shape share on these leads (e.g. MLII,V) to "
        "runs made without it (DS1 records, ../shared/data/mitdb or --root)",
    )
    p.add_argument("--root", default="../shared/data/mitdb")
    args = p.parse_args()
    table = pd.concat(
        [pd.read_csv(f, dtype={"record": str}) for f in args.predictions], ignore_index=True
    )
    table = table[np.isclose(table["fraction"], args.fraction)]
    key = ["seed", "fold", "record", "sample"]
    parts = []
    arms = args.arms.split(",")
    for init in arms:
        got = table[table["init"] == init].set_index(key)[[*PROBS, "label"]]
        if got.empty:
            raise SystemExit(f"no predictions of arm {init!r} at fraction {args.fraction}")
        parts.append(got)
    mean = parts[0].copy()
    mean[PROBS] = np.mean([part.loc[mean.index, PROBS].to_numpy() for part in parts], axis=0)
    mean = mean.reset_index()
    ref = table[table["init"] == args.reference]
    if args.gate_leads:
        context = beat_context(args.root, tuple(args.gate_leads.split(",")))
        mean, ref = (_gated(t, context) for t in (mean, ref))
    name = " + ".join(arms)
    per_seed, per_fold = [], []
    for seed, got in mean.groupby("seed"):
        r = ref[ref["seed"] == seed]
        a, b = _scores(r), _scores(got)
        per_seed.append((seed, a, b))
        for fold, gf in got.groupby("fold"):
            per_fold.append((_scores(r[r["fold"] == fold]), _scores(gf)))
    seeds = [s for s, _, _ in per_seed]
    print(f"{name} vs {args.reference}, {args.fraction:.0%} labels, seeds {seeds}")
    for seed, a, b in per_seed:
        print(
            f"  seed {seed}: {name} {b['macro_f1']:.3f} (S {b['f1_S']:.3f} V {b['f1_V']:.3f} "
            f"F {b['f1_F']:.3f}); {args.reference} {a['macro_f1']:.3f}"
        )
    for metric in PAIRED_METRICS:
        ours = [b[metric] for _, _, b in per_seed]
        fold = mean_ci_text([b[metric] - a[metric] for a, b in per_fold])
        seed = mean_ci_text([b[metric] - a[metric] for _, a, b in per_seed])
        print(
            f"{metric:9s} {name} {np.mean(ours):.3f} ± {np.std(ours, ddof=1):.3f}; "
            f"- {args.reference}: per fold {fold} ({len(per_fold)} pairs), per seed {seed}"
        )


if __name__ == "__main__":
    main()
