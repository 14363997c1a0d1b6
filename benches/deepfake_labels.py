"""Labelling report of ``synthesize(method="deepfake")`` (issue 17): throughput, the fraction of
GAN records ecgfast labels and why the others fail, and the label distributions next to real
sinus records measured the same way.

    python benches/deepfake_labels.py [--n 1000] [--ludb ../shared/data/ludb]
                                      [--plot docs/deepfake_labels.png]

1. Throughput: the GAN alone (``ecgfast.deepfake.gan_signals``) and the labelling alone
   (``intervals`` over 12 leads + lead-II ``beat_table``), records/s on this machine's threads.
2. Labelled fraction (all four of HR, PR, QRS, QT found) and the reasons of the rest.
3. HR / PR / QRS / QT / QTc (Fridericia): median and 5-95 % of the GAN records, of ecgfast's
   dipole model (defaults) and of the LUDB sinus records present (12 leads, the same
   ``intervals``), so the three are measured by one program.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import ecgfast
from ecgfast import deepfake

KEYS = ("hr", "pr", "qrs", "qt", "qtc_fridericia")
UNITS = {"hr": "bpm", "pr": "ms", "qrs": "ms", "qt": "ms", "qtc_fridericia": "ms"}


def ludb_sinus(root: Path) -> pd.DataFrame:
    import wfdb

    table = pd.read_csv(root / "ludb.csv")
    sinus = table[table["Rhythms"].str.strip().str.startswith("Sinus")]
    rows = []
    for rid in sinus["ID"]:
        path = root / "data" / str(rid)
        if path.with_suffix(".hea").exists():
            rec = wfdb.rdrecord(str(path))
            rows.append(ecgfast.intervals(rec.p_signal.T, float(rec.fs)))
    return pd.DataFrame(rows).astype("float64")


def summary(name: str, frame: pd.DataFrame) -> dict:
    row = {"source": name, "records": len(frame)}
    for k in KEYS:
        v = frame[k].dropna().to_numpy()
        row[k] = f"{np.median(v):.0f} [{np.percentile(v, 5):.0f}, {np.percentile(v, 95):.0f}]"
    return row


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ludb", default=str(here.parent / "shared" / "data" / "ludb"))
    p.add_argument("--plot", default=None, help="histograms (PNG), e.g. docs/deepfake_labels.png")
    args = p.parse_args()
    n = args.n

    deepfake.gan_signals(deepfake.BLOCK, seed=args.seed, start=0)  # load the network
    t0 = time.perf_counter()
    gan = deepfake.gan_signals(n, seed=args.seed, start=0)
    t_gan = time.perf_counter() - t0
    full = deepfake.twelve_leads(gan)
    t0 = time.perf_counter()
    ecgfast.intervals(full, deepfake.FS)
    ecgfast.beat_table(full[:, 1:2], deepfake.FS)
    t_label = time.perf_counter() - t0
    print(
        f"{n} GAN records, {ecgfast.get_num_threads()} core threads: GAN {t_gan / n * 1e3:.1f} ms"
        f"/record, labelling {t_label / n * 1e3:.1f} ms/record, together "
        f"{n / (t_gan + t_label):.0f} records/s"
    )
    b = ecgfast.synthesize(n, method="deepfake", seed=args.seed)
    lab = b.labels
    print(f"\nlabelled: {lab['labelled'].mean():.1%} ({int(lab['labelled'].sum())} of {n})")
    reasons = lab.loc[~lab["labelled"], "unlabelled_reason"].value_counts()
    for why, count in reasons.items():
        print(f"  {count:5d}  {why}")

    rows = [summary("deepfake GAN (ecgfast labels)", lab[lab["labelled"]])]
    dipole = ecgfast.synthesize(n, seed=args.seed)
    rows.append(
        summary("ecgfast dipole (defaults, measured)", ecgfast.intervals(dipole.signals, 500))
    )
    ludb = Path(args.ludb)
    real = ludb_sinus(ludb) if (ludb / "ludb.csv").exists() else None
    if real is not None:
        rows.append(summary("LUDB sinus records present", real))
    table = pd.DataFrame(rows)
    table.columns = [c if c not in UNITS else f"{c} ({UNITS[c]})" for c in table.columns]
    print("\nmedian [5 %, 95 %], all measured by ecgfast.intervals (12 leads):\n")
    print(table.to_markdown(index=False))

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(KEYS), figsize=(16, 3))
        sets = {"GAN": lab[lab["labelled"]], "dipole": ecgfast.intervals(dipole.signals, 500)}
        if real is not None:
            sets["LUDB sinus"] = real
        for ax, k in zip(axes, KEYS, strict=True):
            for name, frame in sets.items():
                v = frame[k].astype(float).dropna()
                ax.hist(v, bins=30, density=True, histtype="step", label=name)
            ax.set_xlabel(f"{k} ({UNITS[k]})")
        axes[0].legend(fontsize=8)
        fig.suptitle("Intervals measured by ecgfast: deepfake-ecg GAN vs dynamical model vs LUDB")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=90)
        print(f"\nwrote {args.plot}")


if __name__ == "__main__":
    main()
