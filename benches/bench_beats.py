"""Beat table speed (issue 14): all beats of a 30-min two-lead MIT-BIH record (shipped record
208, 360 Hz, annotated beat positions given), one core, against NeuroKit2 doing the nearest
equivalent on the same input (``ecg_delineate(method="dwt")`` on each lead given the same R
peaks; RR features by numpy). Target: <= 20 ms for ecgfast.

The DS1 build (every beat of the 22 DS1 records: read, band-pass, beat table, windows) is timed
by ``benches/beat_data_build.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import wfdb

import ecgfast
from ecgfast._data import SHIPPED_MITDB
from ecgfast.evaluate import QRS_SYMBOLS


@pytest.fixture(scope="module")
def record():
    rec = wfdb.rdrecord(str(SHIPPED_MITDB / "208"))
    ann = wfdb.rdann(str(SHIPPED_MITDB / "208"), "atr")
    beats = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in QRS_SYMBOLS])
    return np.ascontiguousarray(rec.p_signal.T), float(rec.fs), beats


@pytest.mark.benchmark(group="beat table 30-min 2-lead record, 1 core")
def test_beat_table_ecgfast(benchmark, record):
    x, fs, beats = record
    with ecgfast.thread_limit(1):
        table = benchmark(ecgfast.beat_table, x, fs, beats, leads=["MLII", "V1"])
    assert len(table) == len(beats)


@pytest.mark.benchmark(group="beat table 30-min 2-lead record, 1 core")
def test_beat_table_neurokit2(benchmark, record):
    nk = pytest.importorskip("neurokit2")
    x, fs, beats = record

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for lead in x:
                nk.ecg_delineate(lead, beats, sampling_rate=int(fs), method="dwt")
        rr = np.diff(beats) / fs
        return rr[1:] / rr[:-1]

    benchmark.pedantic(run, rounds=2)
