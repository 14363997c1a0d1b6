"""Record intervals at scale: ``ecgfast.intervals`` on 10,000 12-lead 10-s 500 Hz records.

    python benches/intervals_throughput.py [--records 10000] [--chunk 1000] [--threads N]

Synthesises the records in chunks (default noise, float32, as they would come from a
DataLoader or from disk) and times only ``ecgfast.intervals`` (band-pass, R-peak detection on
every lead with fusion, per-lead delineation, global fiducials, medians) on each chunk.
Target (issue 5): <= 20 s for 10,000 records on this 2-core machine. Also prints the mean
absolute difference to the generator's labels, so the speed is not bought with accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ecgfast


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=1_000)
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    args = ap.parse_args(argv)
    ecgfast.set_num_threads(args.threads or None)
    ecgfast.intervals(ecgfast.synthesize(8, seed=99).signals, 500.0)  # warm up
    elapsed = 0.0
    errors: dict[str, list[float]] = {k: [] for k in ("hr", "pr", "qrs", "qt")}
    done = 0
    while done < args.records:
        n = min(args.chunk, args.records - done)
        batch = ecgfast.synthesize(n, seed=0, start=done)
        start = time.perf_counter()
        iv = ecgfast.intervals(batch.signals, batch.fs)
        elapsed += time.perf_counter() - start
        for k, v in errors.items():
            v.extend((iv[k].astype(float).to_numpy() - batch.labels[k].to_numpy()).tolist())
        done += n
    print(
        f"intervals on {done} 12-lead 10-s 500 Hz records: {elapsed:.2f} s "
        f"({done / elapsed:.0f} records/s, {ecgfast.get_num_threads()} threads)"
    )
    for k, v in errors.items():
        arr = np.asarray(v)
        ok = np.isfinite(arr)
        print(f"  {k}: MAE vs labels {np.abs(arr[ok]).mean():.2f} ({ok.mean():.1%} measured)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
