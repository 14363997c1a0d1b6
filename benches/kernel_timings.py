"""Time the kernels a build change can move, in one fresh process: the beat table and the
delineation of a 30-min two-lead record (shipped record 208, annotated beats given), R-peak
detection of one 30-min lead (119), zero-phase filtering of a long two-lead record and of a
batch of 12-lead 10-s records, and synthesis of 128 12-lead records. Min of the calls after
three warm-up calls, one thread (synthesis: the default threads); the one-thread kernels also
in process CPU time ("cpu"), which a busy shared VM disturbs less than the wall clock.

To compare two builds, run them alternately, each in its own process, e.g. with a previous
wheel unpacked into ``/tmp/old`` (BENCHMARKS.md, issue 14 "Speed")::

    for i in 1 2 3; do PYTHONPATH=/tmp/old python benches/kernel_timings.py old
                       python benches/kernel_timings.py new; done
"""

from __future__ import annotations

import sys
import time

import numpy as np
import wfdb

import ecgfast
from ecgfast._data import SHIPPED_MITDB
from ecgfast.evaluate import QRS_SYMBOLS
from ecgfast.filters import butter_sos, sosfiltfilt


def best_ms(f, calls: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(calls):
        t = clock()
        f()
        times.append(clock() - t)
    return 1e3 * min(times[3:])


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ecgfast.__file__
    rec = wfdb.rdrecord(str(SHIPPED_MITDB / "208"))
    ann = wfdb.rdann(str(SHIPPED_MITDB / "208"), "atr")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in QRS_SYMBOLS])
    x, fs = np.ascontiguousarray(rec.p_signal.T), float(rec.fs)
    lead = np.ascontiguousarray(wfdb.rdrecord(str(SHIPPED_MITDB / "119")).p_signal[:, 0])
    sos = butter_sos(4, [0.5, 40], fs, "bandpass")
    batch = np.random.default_rng(0).normal(size=(64, 12, 5000))
    out = {}
    one_thread = {
        "beat_table 208": (lambda: ecgfast.beat_table(x, fs, beats, leads=["MLII", "V1"]), 25),
        "delineate 208": (lambda: ecgfast.delineate(x, fs, rpeaks=beats), 25),
        "detect 119": (lambda: ecgfast.detect_rpeaks(lead, fs), 25),
        "filtfilt 2x30min": (lambda: sosfiltfilt(sos, x), 15),
        "filtfilt 64x12x10s": (lambda: sosfiltfilt(sos, batch), 15),
    }
    with ecgfast.thread_limit(1):
        for name, (f, calls) in one_thread.items():
            # wall clock, and the process's CPU time (steadier on a shared VM: time the
            # hypervisor gives to others is not counted)
            out[name] = best_ms(f, calls)
            out[name + " cpu"] = best_ms(f, calls, time.process_time)
    out["synthesize 128"] = best_ms(lambda: ecgfast.synthesize(128, seed=1), 12)
    print(label, "  ".join(f"{k}: {v:.2f} ms" for k, v in out.items()), flush=True)


if __name__ == "__main__":
    main()
