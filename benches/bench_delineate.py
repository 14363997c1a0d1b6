"""Delineation speed: ecgfast against NeuroKit2 on the same 10-s 500 Hz lead (shipped LUDB record
1, lead II), and record intervals of a batch of 12-lead records, same run.

Targets (issue 5): >= 100x NeuroKit2 ``ecg_delineate(method="dwt")`` on the same single-lead
input (ecgfast's time includes its own R-peak detection; NeuroKit2 gets its R peaks for free);
``ecgfast.intervals`` on 10,000 12-lead 10-s 500 Hz records (filter + detect + delineate) in <= 20 s
on 2 cores (``benches/intervals_throughput.py`` runs the full 10,000; here a 500-record batch).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import wfdb

import ecgfast

RECORD = Path(__file__).resolve().parent.parent / "python" / "ecgfast" / "data" / "ludb" / "1"


@pytest.fixture(scope="module")
def lead():
    signal, fields = wfdb.rdsamp(str(RECORD), channel_names=["ii"])
    return np.ascontiguousarray(signal[:, 0]), float(fields["fs"])


@pytest.mark.benchmark(group="delineate 10-s 500 Hz lead vs neurokit2")
def test_lead_neurokit2(benchmark, lead):
    nk = pytest.importorskip("neurokit2")
    x, fs = lead
    clean = nk.ecg_clean(x, sampling_rate=int(fs))
    _, info = nk.ecg_peaks(clean, sampling_rate=int(fs))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return nk.ecg_delineate(clean, info["ECG_R_Peaks"], sampling_rate=int(fs), method="dwt")

    benchmark.pedantic(run, rounds=10)


@pytest.mark.benchmark(group="delineate 10-s 500 Hz lead vs neurokit2")
def test_lead_ecgfast(benchmark, lead):
    x, fs = lead
    with ecgfast.thread_limit(1):
        table = benchmark(ecgfast.delineate, x, fs)
    assert len(table) >= 8


@pytest.fixture(scope="module")
def records():
    return ecgfast.synthesize(500, seed=5).signals  # float32 (500, 12, 5000)


@pytest.mark.benchmark(group="intervals 500 x 12-lead 10 s, threads")
def test_intervals_1thread(benchmark, records):
    with ecgfast.thread_limit(1):
        benchmark.pedantic(ecgfast.intervals, args=(records, 500.0), rounds=3)


@pytest.mark.benchmark(group="intervals 500 x 12-lead 10 s, threads")
def test_intervals_2threads(benchmark, records):
    with ecgfast.thread_limit(2):
        out = benchmark.pedantic(ecgfast.intervals, args=(records, 500.0), rounds=3)
    assert out["n_beats"].min() >= 5
