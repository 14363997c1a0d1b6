"""R-peak detection speed: ecgfast against sleepecg and NeuroKit2 on the same 30-min MIT-BIH
lead (shipped record 119), and batch scaling with threads, same run.

Targets (issue 4): single-threaded >= sleepecg ``detect_heartbeats``; >= 10x NeuroKit2
``ecg_peaks``; a batch with 2 threads >= 1.8x the single-thread throughput.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb

import ecgfast

RECORD = Path(__file__).resolve().parent.parent / "python" / "ecgfast" / "data" / "mitdb" / "119"


@pytest.fixture(scope="module")
def lead():
    rec = wfdb.rdrecord(str(RECORD), channels=[0])
    return np.ascontiguousarray(rec.p_signal[:, 0]), float(rec.fs)


def run_ecgfast(benchmark, lead):
    x, fs = lead
    with ecgfast.thread_limit(1):
        peaks = benchmark(ecgfast.detect_rpeaks, x, fs)
    assert len(peaks) > 1900


@pytest.mark.benchmark(group="rpeaks 30-min 360 Hz vs sleepecg")
def test_single_sleepecg(benchmark, lead):
    sleepecg = pytest.importorskip("sleepecg")
    x, fs = lead
    benchmark(sleepecg.detect_heartbeats, x, fs)


@pytest.mark.benchmark(group="rpeaks 30-min 360 Hz vs sleepecg")
def test_single_ecgfast_a(benchmark, lead):
    run_ecgfast(benchmark, lead)


@pytest.mark.benchmark(group="rpeaks 30-min 360 Hz vs neurokit2")
def test_single_neurokit2(benchmark, lead):
    nk = pytest.importorskip("neurokit2")
    x, fs = lead
    benchmark.pedantic(nk.ecg_peaks, args=(x,), kwargs={"sampling_rate": int(fs)}, rounds=5)


@pytest.mark.benchmark(group="rpeaks 30-min 360 Hz vs neurokit2")
def test_single_ecgfast_b(benchmark, lead):
    run_ecgfast(benchmark, lead)


@pytest.fixture(scope="module")
def batch(lead):
    x, _ = lead
    return np.stack([x[k * 10_800 : (k + 1) * 10_800] for k in range(60)])  # 60 x 30 s


@pytest.mark.benchmark(group="rpeaks batch 60 x 30 s, threads")
def test_batch_1thread(benchmark, batch, lead):
    with ecgfast.thread_limit(1):
        benchmark(ecgfast.detect_rpeaks, batch, lead[1])


@pytest.mark.benchmark(group="rpeaks batch 60 x 30 s, threads")
def test_batch_2threads(benchmark, batch, lead):
    with ecgfast.thread_limit(2):
        benchmark(ecgfast.detect_rpeaks, batch, lead[1])
