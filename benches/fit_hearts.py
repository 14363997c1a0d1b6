"""Fit a heart bank to LUDB's sinus-rhythm records (``ecgfast.hearts.fit_hearts``) and write it as
the CSV ``synthesize(hearts=...)`` reads (``ecgfast.hearts.load_hearts`` for the shipped one).

    python benches/fit_hearts.py --records 1-100 --out python/ecgfast/data/hearts_ludb.csv \
        --plot docs/hearts_fit.png
    python benches/fit_hearts.py --records 1-50 --out runs/hearts_1-50.csv   # held-out checks

Prints how much of each median beat the fitted heart explains, and plots the real and fitted
median beats of a few hearts (``--plot``, default ``<out>.png``). The CSV starts with comment
lines naming the source records and the licence; ``benches/realism.py --hearts-bank`` reads
them to keep the real side held out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from ecgfast.hearts import EIGHT_LEADS, HEART_PARAMS, fit_hearts, read_bank, write_bank
from realism import FS, ludb_sinus, record_range, sinus_ids

#: The licence of LUDB (ODC-By 1.0) asks for this with anything derived from it.
LUDB_ATTRIBUTION = (
    "derived from the Lobachevsky University Electrocardiography Database v1.0.1 (PhysioNet),",
    "Open Data Commons Attribution License v1.0: Kalyakulina AI, Yusipov II, Moskalenko VA,",
    "Nikolskiy AV, Kosonogov KA, Osipov GV, Zolotykh NY, Ivanchenko MV. LUDB: A New Open-Access",
    "Validation Tool for Electrocardiogram Delineation Algorithms. IEEE Access 8:186181-186190,",
    "2020. Goldberger A et al. PhysioBank, PhysioToolkit, and PhysioNet. Circulation",
    "101(23):e215-e220, 2000.",
)


def plot_fits(beats: np.ndarray, fitted: np.ndarray, path: Path, n: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(n, len(beats))
    fig, axes = plt.subplots(n, 8, figsize=(16, 1.8 * n), sharex=True, squeeze=False)
    t = (np.arange(beats.shape[-1]) / FS - 0.3) * 1000
    for i in range(n):
        for j, lead in enumerate(EIGHT_LEADS):
            ax = axes[i, j]
            ax.plot(t, beats[i, j], "k", lw=1, label="real median beat")
            ax.plot(t, fitted[i, j], "C3", lw=1, label="fitted heart")
            ax.set_yticks([])
            if i == 0:
                ax.set_title(lead)
    axes[-1, 0].set_xlabel("ms from R")
    axes[0, 0].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ludb", default=str(here.parent / "shared/data/ludb"))
    p.add_argument("--records", default="1-100", help="LUDB record numbers, e.g. 1-50")
    p.add_argument("--out", default="runs/hearts.csv")
    p.add_argument("--plot", default=None, help="real vs fitted median beats (default <out>.png)")
    args = p.parse_args()
    records = record_range(args.records)
    ids = [int(i) for i in sinus_ids(Path(args.ludb)) if int(i) in records]
    x = ludb_sinus(Path(args.ludb), EIGHT_LEADS, records)
    t0 = time.perf_counter()
    fit = fit_hearts(x, FS, EIGHT_LEADS)
    ev = fit.explained
    print(
        f"{len(ids)} hearts fitted in {time.perf_counter() - t0:.0f} s; variance explained "
        f"median {np.median(ev):.4f}, 10th percentile {np.percentile(ev, 10):.4f}, "
        f"worst {ev.min():.4f} (record {ids[int(np.argmin(ev))]})"
    )
    bank, kept = fit.bank()
    left_out = [rid for rid, k in zip(ids, kept, strict=True) if not k]
    print(
        f"{len(bank)} hearts in the bank; left out (a lead fitted upside down): "
        + (", ".join(f"record {r}" for r in left_out) or "none")
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bank(
        out,
        bank,
        source=f"LUDB sinus-rhythm records {args.records}",
        records=[rid for rid, k in zip(ids, kept, strict=True) if k],
        notes=LUDB_ATTRIBUTION,
    )
    assert np.allclose(read_bank(out)[0], bank, rtol=1e-7, atol=1e-12)
    plot = Path(args.plot) if args.plot else out.with_suffix(".png")
    plot_fits(fit.beats, fit.fitted, plot)
    for name, col in zip(HEART_PARAMS[:15], fit.hearts.T, strict=False):
        print(
            f"  {name:15s} 10/50/90 %: "
            + " ".join(f"{v:.3f}" for v in np.percentile(col, [10, 50, 90]))
        )
    print(f"wrote {out} and {plot}")


if __name__ == "__main__":
    main()
