"""Where ``ecgfast.hearts.LEAD_SIZE``, ``LEAD_SIZE_LOG_SD`` and ``SIZE_PER_R_AMP`` come from: the
QRS peak-to-peak of each of the eight independent leads in the median beats of raw 12-lead
records (LUDB, which heart banks are fitted to, scales every lead to 1 mV and cannot tell).

    python benches/lead_sizes.py [--cinc ../shared/data/cinc2021]

Prints, per lead, the median over records of its QRS size relative to the geometric mean of
the record's eight, the spread (SD) of its log, and the geometric-mean size in mV (10/50/90 %),
beside the constants the generator uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import wfdb

from ecgfast.hearts import EIGHT_LEADS, LEAD_SIZE, LEAD_SIZE_LOG_SD, SIZE_PER_R_AMP, median_beats

FS = 500.0


def raw_records(root: Path) -> np.ndarray:
    """The first 10 s of every 500-Hz record of ``root`` with the eight leads, mV."""
    out = []
    for hea in sorted(root.glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        names = [n.upper() for n in rec.sig_name]
        if rec.fs != FS or rec.sig_len < 10 * FS or not set(EIGHT_LEADS) <= set(names):
            continue
        out.append(rec.p_signal[: int(10 * FS), [names.index(lead) for lead in EIGHT_LEADS]].T)
    return np.nan_to_num(np.array(out))


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cinc", default=str(here.parent / "shared/data/cinc2021"))
    args = p.parse_args()
    beats = median_beats(raw_records(Path(args.cinc)), FS, EIGHT_LEADS)  # R at 0.3 s
    r = round(0.3 * FS)
    size = np.ptp(beats[:, :, r - round(0.08 * FS) : r + round(0.08 * FS)], axis=-1)
    size = size[(size > 0).all(axis=1)]  # records with a flat lead left out
    log = np.log(size)
    rel = log - log.mean(axis=1, keepdims=True)
    print(f"{len(size)} records")
    print("lead      relative size (median)  log SD    ecgfast: LEAD_SIZE  LEAD_SIZE_LOG_SD")
    for i, lead in enumerate(EIGHT_LEADS):
        print(
            f"{lead:4s}      {np.exp(np.median(rel[:, i])):.3f}                   "
            f"{rel[:, i].std():.3f}              {LEAD_SIZE[i]:.3f}     {LEAD_SIZE_LOG_SD[i]:.3f}"
        )
    gmean = np.exp(log.mean(axis=1))
    lo, mid, hi = np.percentile(gmean, [10, 50, 90])
    print(
        f"geometric-mean QRS size 10/50/90 %: {lo:.2f} / {mid:.2f} / {hi:.2f} mV; "
        f"ecgfast: {SIZE_PER_R_AMP} x r_amp (0.6-1.2, median 0.9) = {SIZE_PER_R_AMP * 0.9:.2f} mV"
    )


if __name__ == "__main__":
    main()
