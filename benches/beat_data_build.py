"""Time to build the beat-classification inputs of every DS1 record present in a folder
(default ``../shared/data/mitdb``): read WFDB, band-pass, beat table, record normalisation,
windows, RR features. Prints seconds and beats per second.

    python benches/beat_data_build.py [--root DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ecgfast.beatdata import DS1, read_beats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared/data/mitdb"))
    args = p.parse_args()
    root = Path(args.root)
    records = [r for r in DS1 if (root / f"{r}.hea").exists()]
    t = time.perf_counter()
    bs = read_beats(root, records, template=True)
    dt = time.perf_counter() - t
    n = len(bs.labels)
    print(f"{len(records)} records, {n} beats in {dt:.2f} s ({n / dt:,.0f} beats/s)")


if __name__ == "__main__":
    main()
