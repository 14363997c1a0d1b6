"""A beat with a common shape that comes on time is not a V beat: a post-hoc gate on the saved
predictions of ``ecgfast beats`` runs (issue 14, BENCHMARKS.md "Record 108 and the V target").

    python benches/morphology_gate.py runs/a/beats_predictions.csv [runs/b/...] --arm combined

The gate is :func:`ecgfast.evaluate.morphology_gate` (on in ``ecgfast beats`` by default;
the reasoning of template-matching beat classifiers such as Hamilton's OSEA: the patient's
dominant beat is normal): it removes the V prediction of a beat whose QRS shape is common in its
record (``beatdata.shape_share`` at least ``--common``) and that is not premature (RR before it
at least ``--on-time`` of the local mean RR; with ``--record-too`` of the record's mean RR as
well, the rule of the thirteenth session); the beat takes its next most probable class. Applied
here to the saved (averaged) probabilities of an arm of runs made without the gate
(``--no-morphology-gate``); ``--gate-leads MLII,V`` measures the shape share on both MIT-BIH
leads (the largest), whatever the models read, as ``ecgfast beats`` does by default. Prints per
seed the pooled macro-F1 and V F1 without and with the gate, and how many true and false V calls
it removed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ecgfast.apps.beats import CLASSES, BeatExperiment
from ecgfast.beatdata import DS1
from ecgfast.evaluate import MORPHOLOGY_GATE_INPUTS, beat_classification, morphology_gate
from ecgfast.torch.real import MITBIHBeats

PROBS = [f"p_{c}" for c in CLASSES]


def beat_context(root: str, leads: tuple[str, ...] = ("MLII",)) -> pd.DataFrame:
    """Per DS1 beat: record, sample and the gate's inputs (the experiment's default beats; the
    shape share the largest over ``leads``)."""
    cfg = BeatExperiment()
    b = MITBIHBeats(root, list(DS1), classes=CLASSES, window=cfg.window, features=(), leads=leads)
    cols = ["record", "sample", *MORPHOLOGY_GATE_INPUTS, "pre_rr_record"]
    return b.meta[cols].astype({"record": str})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("predictions", nargs="+", type=Path)
    p.add_argument("--arm", default="combined", help="init of the arm to gate")
    p.add_argument("--root", default="../shared/data/mitdb")
    p.add_argument("--common", type=float, default=0.4)
    p.add_argument("--on-time", type=float, default=0.95)
    p.add_argument(
        "--record-too",
        action="store_true",
        help="the beat must be on time against the record's mean RR too (the stricter rule)",
    )
    p.add_argument(
        "--gate-leads",
        default="MLII",
        help="leads the shape share is measured on, the largest taken (e.g. MLII,V; the "
        "predictions' models may have read fewer)",
    )
    args = p.parse_args()
    table = pd.concat([pd.read_csv(f, dtype={"record": str}) for f in args.predictions])
    table = table[table["init"] == args.arm]
    context = beat_context(args.root, tuple(args.gate_leads.split(",")))
    table = table.merge(context, on=["record", "sample"])
    v = CLASSES.index("V")
    rows = []
    for (seed, fraction), g in table.groupby(["seed", "fraction"]):
        y = g["label"].map(CLASSES.index).to_numpy()
        prob = g[PROBS].to_numpy()
        after = morphology_gate(
            prob,
            *(g[c].to_numpy() for c in MORPHOLOGY_GATE_INPUTS),
            CLASSES,
            pre_rr_record=g["pre_rr_record"].to_numpy() if args.record_too else None,
            common=args.common,
            on_time=args.on_time,
        )
        a, b = (beat_classification(y, q.argmax(axis=1), CLASSES) for q in (prob, after))
        removed = (prob.argmax(axis=1) == v) & (after.argmax(axis=1) != v)
        rows.append(
            {
                "seed": seed,
                "fraction": fraction,
                "macro_f1": a["macro_f1"],
                "macro_f1_gated": b["macro_f1"],
                "v_f1": a["per_class"]["V"]["f1"],
                "v_f1_gated": b["per_class"]["V"]["f1"],
                "true_v_removed": int((removed & (y == v)).sum()),
                "false_v_removed": int((removed & (y != v)).sum()),
            }
        )
    out = pd.DataFrame(rows)
    print(out.round(3).to_string(index=False))
    for frac, g in out.groupby("fraction"):
        d = g["macro_f1_gated"] - g["macro_f1"]
        print(
            f"{args.arm} {frac:.0%}: macro-F1 {g['macro_f1'].mean():.3f} -> "
            f"{g['macro_f1_gated'].mean():.3f} (per seed {d.mean():+.3f}, min {d.min():+.3f}); "
            f"V F1 {g['v_f1'].mean():.3f} -> {g['v_f1_gated'].mean():.3f}"
        )


if __name__ == "__main__":
    main()
