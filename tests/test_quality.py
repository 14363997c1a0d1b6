"""Signal quality per segment (python/ecgfast/quality.py): checked on synthetic ECG with graded
noise of the synthesizer's own models, on annotated real records, and on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

import ecgfast
from ecgfast import InvalidParameterError, InvalidSignalError
from ecgfast.evaluate import match_peaks

LUDB = Path(__file__).resolve().parents[2] / "shared" / "data" / "ludb" / "data"


def _emg_at_snr(n: int, snr_db: float, fs: float = 500.0, seed: int = 3):
    """Clean 10-s lead II records plus the synthesizer's EMG noise at an NSTDB-style SNR."""
    kw = dict(seed=seed, duration=10, fs=fs, leads="II")
    clean = ecgfast.synthesize(n, noise=0.0, **kw)
    only_emg = {"baseline": 0.0, "powerline": 0.0, "emg": 0.1, "motion": 0.0}
    x = clean.signals[:, 0].astype(np.float64)
    noise = ecgfast.synthesize(n, noise=only_emg, **kw).signals[:, 0] - x
    p_s = np.ptp(x, axis=1) ** 2 / 8
    p_n = np.mean(noise**2, axis=1)
    return x + noise * np.sqrt(p_s / p_n / 10 ** (snr_db / 10))[:, None], clean


class TestSignalQuality:
    def test_clean_records_are_usable(self):
        b = ecgfast.synthesize(4, duration=30, leads="II", seed=0)
        q = ecgfast.signal_quality(b.signals[:, 0], b.fs)
        assert list(q.columns) == ["record", *ecgfast.quality.QUALITY_COLUMNS]
        assert len(q) == 12 and q["usable"].all()
        assert (q["template_corr"] > 0.95).all()
        assert q["qrs_power_ratio"].between(0.4, 0.9).all()
        np.testing.assert_allclose(q["hr"], np.repeat(b.labels["hr"].to_numpy(), 3), rtol=0.15)

    def test_quality_falls_with_muscle_noise(self):
        corr, usable, psqi = [], [], []
        for snr in (24, 12, 6, 0, -6):
            x, _ = _emg_at_snr(30, snr)
            q = ecgfast.signal_quality(x, 500.0)
            corr.append(q["template_corr"].median())
            usable.append(q["usable"].mean())
            psqi.append(q["qrs_power_ratio"].median())
        assert np.all(np.diff(corr) < 0) and np.all(np.diff(psqi) < 0)
        assert usable[0] == 1.0 and usable[-1] <= 0.1

    def test_usable_segments_are_where_detection_works(self):
        x, clean = _emg_at_snr(40, 0.0)
        q = ecgfast.signal_quality(x, 500.0)
        f1 = []
        for k in range(len(x)):
            ref = clean.beats.loc[clean.beats["record"] == k, "sample"].to_numpy()
            f1.append(match_peaks(ecgfast.detect_rpeaks(x[k], 500.0), ref, 500.0).f1)
        f1 = np.array(f1)
        usable = q["usable"].to_numpy()
        assert 0 < usable.sum() < len(usable)
        assert f1[usable].mean() > f1[~usable].mean()

    def test_baseline_wander_lowers_the_baseline_index_only(self):
        b = ecgfast.synthesize(3, duration=20, leads="II", seed=4, noise=0.0)
        x = b.signals[:, 0].astype(np.float64)
        t = np.arange(x.shape[1]) / b.fs
        wander = x + 1.5 * np.sin(2 * np.pi * 0.3 * t)
        q0 = ecgfast.signal_quality(x, b.fs)
        q1 = ecgfast.signal_quality(wander, b.fs)
        assert (q1["baseline_power_ratio"] < q0["baseline_power_ratio"] - 0.3).all()
        assert q1["usable"].all()

    def test_noise_alone_is_not_usable(self):
        rng = np.random.default_rng(0)
        q = ecgfast.signal_quality(rng.normal(size=(3, 5000)), 500.0)
        assert not q["usable"].any()
        flat = ecgfast.signal_quality(np.zeros(5000), 500.0)
        assert not flat["usable"].any() and flat["n_beats"].iloc[0] == 0

    @pytest.mark.skipif(not LUDB.is_dir(), reason="LUDB data not present")
    def test_ludb_records_are_usable(self):
        rows = []
        for i in range(1, 101):
            base = LUDB / str(i)
            if base.with_suffix(".hea").exists():
                rec = wfdb.rdrecord(str(base), channel_names=["ii"])
                rows.append(ecgfast.signal_quality(rec.p_signal[:, 0], rec.fs))
        q = pd.concat(rows)
        assert len(q) >= 90 and q["usable"].mean() >= 0.9

    def test_windows_and_given_rpeaks(self):
        b = ecgfast.synthesize(1, duration=24, leads="II", seed=1)
        x = b.signals[0, 0]
        q = ecgfast.signal_quality(x, b.fs, window=10)
        # 10 + 14 s: a last piece shorter than half a window joins the one before it
        assert q[["start", "end"]].to_numpy().tolist() == [[0, 5000], [5000, 12000]]
        r = b.beats["sample"].to_numpy()
        given = ecgfast.signal_quality(x, b.fs, window=10, rpeaks=r)
        assert given["n_beats"].sum() == len(r)
        assert given["usable"].all()

    def test_input_not_modified_and_non_contiguous(self):
        b = ecgfast.synthesize(2, duration=10, leads=["I", "II"], seed=2)
        x = b.signals[:, 1].astype(np.float64)
        before = x.copy()
        ecgfast.signal_quality(x, b.fs)
        np.testing.assert_array_equal(x, before)
        strided = np.asfortranarray(b.signals[0])[1]
        a = ecgfast.signal_quality(strided, b.fs)
        c = ecgfast.signal_quality(np.ascontiguousarray(strided), b.fs)
        pd.testing.assert_frame_equal(a, c)

    @pytest.mark.parametrize(
        "x,fs,kw,exc",
        [
            (np.zeros(0), 500.0, {}, InvalidSignalError),
            (np.zeros(500), 500.0, {}, InvalidSignalError),  # 1 s: too short
            (np.full(5000, np.nan), 500.0, {}, InvalidSignalError),
            (np.zeros((2, 2, 5000)), 500.0, {}, InvalidSignalError),
            (np.zeros(5000), 0.0, {}, InvalidParameterError),
            (np.zeros(5000), 500.0, {"window": 1.0}, InvalidParameterError),
            (np.zeros((2, 5000)), 500.0, {"rpeaks": [10]}, InvalidParameterError),
            (np.zeros(5000), 500.0, {"rpeaks": [6000]}, InvalidParameterError),
            (np.zeros(5000), 500.0, {"rpeaks": [np.nan]}, InvalidParameterError),
        ],
    )
    def test_errors(self, x, fs, kw, exc):
        with pytest.raises(exc):
            ecgfast.signal_quality(x, fs, **kw)
