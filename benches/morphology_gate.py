"""A beat with a common shape that comes on time is not a V beat: a post-hoc gate on the saved
predictions of ``ecgfast beats`` runs (issue 14, BENCHMARKS.md "Record 108 and the V target").

    python benches/morphology_gate.py runs/a/beats_predictions.csv [runs/b/...] --arm combined

The gate is :func:`ecgfast.evaluate.morphology_gate` (on in ``ecgfast beats`` by default;
the reasoning of template-matching beat classifiers such as Hamilton's OSEA: the patient's
dominant beat is normal): it removes the V prediction of a beat whose QRS shape is common in its
record (``beatdata.shape_share`` at least ``--common``) and that is not premature (RR before it
at least ``--on-time`` of the local mean RR; with ``--record-too`` of the record's mean RR as
well, the rule of the thirteenth session); the beat takes its next most probable class. Since
2026-12-05 the gate also removes the S prediction of a beat whose shape is not common
(``--no-s-rule``: the V rule alone). Applied
here to the saved (averaged) probabilities of an arm of runs made without the gate
(``--no-morphology-gate``); ``--gate-leads MLII,V`` measures the shape share on both MIT-BIH
leads (the largest), whatever the models read, as ``ecgfast beats`` does by default. Prints per
seed the pooled macro-F1, V F1 and S F1 without and with the gate, and how many true and false
V calls it removed.
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


def _plot(table: pd.DataFrame, args: argparse.Namespace, path: Path) -> None:
    """The gate's inputs of every beat the arm called V (first seed and fraction): true V
    against the other classes, with the gated region (common shape, on time) shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed, fraction = int(table["seed"].iloc[0]), float(table["fraction"].iloc[0])
    g = table[(table["seed"] == seed) & (table["fraction"] == fraction)]
    called_v = g[PROBS].to_numpy().argmax(axis=1) == CLASSES.index("V")
    g = g[called_v]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.fill_between(
        [args.common, 1.1],
        args.on_time,
        1.8,
        color="tab:green",
        alpha=0.12,
        lw=0,
        label="gated: no V (common shape, on time)",
    )
    for label, colour, name in (
        ("V", "tab:red", "annotated V"),
        (None, "tab:blue", "annotated N, S, F"),
    ):
        part = g[g["label"] == "V"] if label else g[g["label"] != "V"]
        ax.scatter(
            part["shape_share"],
            part["pre_rr_local"],
            s=4,
            alpha=0.35,
            color=colour,
            label=f"{name} called V ({len(part):,})",
        )
    ax.set(
        xlim=(0, 1.1),
        ylim=(0.2, 1.8),
        xlabel="shape share (how common the QRS shape is in its record)",
        ylabel="RR before / local mean RR",
        title=f"beats the {args.arm} arm called V (seed {seed}, {fraction:.0%} labels)",
    )
    ax.legend(loc="upper left", fontsize=8, markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


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
    p.add_argument(
        "--no-s-rule",
        action="store_true",
        help="the V rule alone (the gate before 2026-12-05): S is not ruled out for beats of an "
        "uncommon shape",
    )
    p.add_argument("--plot", type=Path, default=None, help="write the gate's picture here (PNG)")
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
            supraventricular=None if args.no_s_rule else "S",
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
                "s_f1": a["per_class"]["S"]["f1"],
                "s_f1_gated": b["per_class"]["S"]["f1"],
                "true_v_removed": int((removed & (y == v)).sum()),
                "false_v_removed": int((removed & (y != v)).sum()),
            }
        )
    if args.plot is not None:
        _plot(table, args, args.plot)
    out = pd.DataFrame(rows)
    print(out.round(3).to_string(index=False))
    for frac, g in out.groupby("fraction"):
        d = g["macro_f1_gated"] - g["macro_f1"]
        print(
            f"{args.arm} {frac:.0%}: macro-F1 {g['macro_f1'].mean():.3f} -> "
            f"{g['macro_f1_gated'].mean():.3f} (per seed {d.mean():+.3f}, min {d.min():+.3f}); "
            f"V F1 {g['v_f1'].mean():.3f} -> {g['v_f1_gated'].mean():.3f}; "
            f"S F1 {g['s_f1'].mean():.3f} -> {g['s_f1_gated'].mean():.3f}"
        )


if __name__ == "__main__":
    main()
