"""Macro-F1 against the labelled fraction, per arm, from one or more ``ecgfast beats`` reports
(issue 16): mean ± sd over seeds of the pooled figures, the seeds as dots.

    python benches/label_fraction_plot.py runs/beats_cv_broad_f1pct/beats.json \\
        runs/beats_cv_broad_f10_wander/beats.json runs/beats_cv_broad_f100_wander/beats.json \\
        --out docs/transfer_label_fraction.png

Arms of the same name and fraction in several reports are joined (give reports of the same
command and seeds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", nargs="+", help="beats.json files")
    p.add_argument("--out", default="docs/transfer_label_fraction.png")
    args = p.parse_args()
    values: dict[str, dict[float, dict[int, float]]] = {}
    for path in args.reports:
        for run in json.load(open(path))["runs"]:
            by_fraction = values.setdefault(run["init"], {})
            by_fraction.setdefault(run["fraction"], {})[run["seed"]] = run["macro_f1"]
    if not values:
        raise SystemExit("no runs in these reports")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, (init, by_fraction) in enumerate(sorted(values.items())):
        fractions = sorted(by_fraction)
        means = [np.mean(list(by_fraction[f].values())) for f in fractions]
        sds = [
            np.std(list(by_fraction[f].values()), ddof=1) if len(by_fraction[f]) > 1 else 0
            for f in fractions
        ]
        ax.errorbar(fractions, means, yerr=sds, marker="o", capsize=3, label=init, color=f"C{k}")
        for f in fractions:
            ys = list(by_fraction[f].values())
            ax.scatter([f] * len(ys), ys, s=8, color=f"C{k}", alpha=0.4)
        print(init, {f"{f:.0%}": round(float(m), 3) for f, m in zip(fractions, means, strict=True)})
    ax.set_xscale("log")
    ticks = sorted({f for by_fraction in values.values() for f in by_fraction})
    ax.set_xticks(ticks, [f"{f:.0%}" for f in ticks])
    ax.set_xlabel("labelled fraction of the training beats")
    ax.set_ylabel("macro-F1 (N, S, V, F), pooled")
    ax.set_title("held-out patients, mean ± sd over seeds", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
