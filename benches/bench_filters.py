"""Zero-phase band-pass filtering: ecgfast against scipy.signal.sosfiltfilt, same inputs, same run.

Targets (issue 2): >= 2x scipy on a 1,000 x 5,000 float64 batch with 2 threads; >= 1x on one
30-minute 360 Hz record single-threaded. Run with ``make bench``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss
import wfdb

import ecgfast

RECORD = Path(__file__).resolve().parent.parent / "python" / "ecgfast" / "data" / "mitdb" / "119"


@pytest.fixture(scope="module")
def batch():
    """1,000 ten-second leads at 500 Hz (random ECG-scale data: the cost does not depend on it)."""
    return np.random.default_rng(0).standard_normal((1000, 5000))


@pytest.fixture(scope="module")
def long_record():
    """One 30-minute MIT-BIH lead at 360 Hz (650,000 samples)."""
    return np.ascontiguousarray(wfdb.rdrecord(str(RECORD), channels=[0]).p_signal[:, 0])


def sos_for(fs):
    return ss.butter(4, [0.5, 40.0], btype="band", fs=fs, output="sos")


@pytest.mark.benchmark(group="bandpass 1000x5000 f64")
def test_batch_scipy(benchmark, batch):
    benchmark(ss.sosfiltfilt, sos_for(500), batch, axis=-1)


@pytest.mark.benchmark(group="bandpass 1000x5000 f64")
@pytest.mark.parametrize("threads", [1, 2])
def test_batch_ecgfast(benchmark, batch, threads):
    with ecgfast.thread_limit(threads):
        out = benchmark(ecgfast.sosfiltfilt, sos_for(500), batch)
    np.testing.assert_allclose(out, ss.sosfiltfilt(sos_for(500), batch, axis=-1), atol=1e-9)


@pytest.mark.benchmark(group="bandpass 1000x5000 f32")
def test_batch32_scipy(benchmark, batch):
    x = batch.astype(np.float32)
    benchmark(ss.sosfiltfilt, sos_for(500), x, axis=-1)


@pytest.mark.benchmark(group="bandpass 1000x5000 f32")
@pytest.mark.parametrize("threads", [1, 2])
def test_batch32_ecgfast(benchmark, batch, threads):
    x = batch.astype(np.float32)
    with ecgfast.thread_limit(threads):
        benchmark(ecgfast.sosfiltfilt, sos_for(500), x)


@pytest.mark.benchmark(group="bandpass 30-min 360 Hz record")
def test_long_scipy(benchmark, long_record):
    benchmark(ss.sosfiltfilt, sos_for(360), long_record)


@pytest.mark.benchmark(group="bandpass 30-min 360 Hz record")
def test_long_ecgfast_1thread(benchmark, long_record):
    with ecgfast.thread_limit(1):
        out = benchmark(ecgfast.sosfiltfilt, sos_for(360), long_record)
    np.testing.assert_allclose(out, ss.sosfiltfilt(sos_for(360), long_record), atol=1e-9)


@pytest.mark.benchmark(group="design butter(4, band)")
def test_design_scipy(benchmark):
    benchmark(ss.butter, 4, [0.5, 40.0], btype="band", fs=500, output="sos")


@pytest.mark.benchmark(group="design butter(4, band)")
def test_design_ecgfast(benchmark):
    benchmark(ecgfast.butter_sos, 4, (0.5, 40.0), 500, "bandpass")
