"""Size of ventricular ectopic beats relative to the sinus beats: MIT-BIH MLII against
synthetic lead II (issues 15 and 18).

    python benches/ectopic_amplitude.py [--mitdb ../shared/data/mitdb] [--records 300]

Per record with >= 10 V and >= 10 N/L/R beats: the median QRS peak-to-peak (±100 ms,
band-passed 0.5-40 Hz) of the V beats over that of the sinus beats. Prints the 10/25/50/75/90 %
quantiles of both sides.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import wfdb

import ecgfast
from ecgfast.filters import bandpass


def ratio(x: np.ndarray, fs: float, samples, symbols) -> float | None:
    x = bandpass(x, fs, 0.5, 40.0)
    h = int(0.1 * fs)

    def pp(i: int) -> float:
        return float(np.ptp(x[i - h : i + h]))

    inside = [(int(i), y) for i, y in zip(samples, symbols, strict=True) if h < i < len(x) - h]
    n = [pp(i) for i, y in inside if y in ("N", "L", "R")]
    v = [pp(i) for i, y in inside if y == "V"]
    if len(v) < 10 or len(n) < 10:
        return None
    return float(np.median(v) / np.median(n))


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mitdb", default=str(here.parent / "shared" / "data" / "mitdb"))
    p.add_argument("--records", type=int, default=300, help="synthetic 60-s records")
    args = p.parse_args()
    real = {}
    for hea in sorted(Path(args.mitdb).glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")), channels=[0])
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        q = ratio(rec.p_signal[:, 0], rec.fs, ann.sample, ann.symbol)
        if q is not None:
            real[hea.stem] = q
    b = ecgfast.synthesize(
        args.records, seed=3, duration=60.0, fs=360.0, leads="II", ectopy={"pvc": (0.05, 0.15)}
    )
    syn = []
    for k in range(args.records):
        t = b.beats[b.beats["record"] == k]
        q = ratio(
            b.signals[k, 0].astype(np.float64),
            360.0,
            t["sample"].to_numpy(),
            t["symbol"].astype(str).to_numpy(),
        )
        if q is not None:
            syn.append(q)
    qs = [10, 25, 50, 75, 90]
    print("V/N QRS peak-to-peak, quantiles", qs)
    print(f"MIT-BIH MLII ({len(real)} records): {np.percentile(list(real.values()), qs).round(2)}")
    print(f"synthetic lead II ({len(syn)} records): {np.percentile(syn, qs).round(2)}")
    print("per record:", {k: round(v, 2) for k, v in real.items()})


if __name__ == "__main__":
    main()
