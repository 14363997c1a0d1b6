"""Synthetic ECG: shapes, determinism, exact labels, identities, noise, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import ecgfast
from ecgfast import InvalidParameterError
from helpers import r_dominant_lead

FS = 500.0


def ms(samples, fs=FS):
    return np.asarray(samples, dtype=float) * 1000.0 / fs


def _runs_of(flags):
    """(first, end) index pairs of the runs of three or more consecutive True ``flags``."""
    runs, i = [], 0
    while i < len(flags):
        j = i
        while j < len(flags) and flags[j]:
            j += 1
        if j - i >= 3:
            runs.append((i, j))
        i = max(j, i + 1)
    return runs


@pytest.fixture(scope="module")
def batch():
    return ecgfast.synthesize(24, seed=7)


@pytest.fixture(scope="module")
def clean():
    return ecgfast.synthesize(24, seed=7, noise=0)


class TestShapesAndTypes:
    def test_batch_layout(self, batch):
        assert batch.signals.shape == (24, 12, 5000)
        assert batch.signals.dtype == np.float32
        assert batch.signals.flags.c_contiguous
        assert batch.lead_names == ecgfast.LEAD_NAMES
        assert batch.lead_names[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
        assert batch.fs == 500.0
        assert len(batch) == 24
        assert "24 records x 12 leads" in repr(batch)

    def test_labels_table(self, batch):
        lab = batch.labels
        assert list(lab.columns[:8]) == [
            "hr",
            "rr_std",
            "pr",
            "qrs",
            "qt",
            "qtc_bazett",
            "qtc_fridericia",
            "n_beats",
        ]
        assert lab.index.name == "record"
        assert list(lab.index) == list(range(24))
        assert "qtc" not in lab.columns  # one meaning per name: the parameter is Fridericia
        assert lab["n_beats"].dtype == np.int64
        assert any(c.startswith("param_") for c in lab.columns)
        assert lab[["hr", "pr", "qrs", "qt", "qtc_bazett"]].notna().all().all()

    def test_beats_table(self, batch):
        beats = batch.beats
        fid = list(ecgfast.delineation.FIDUCIALS)
        assert list(beats.columns) == [
            "record",
            "beat",
            "symbol",
            "aami",
            "sample",
            *fid,
            *ecgfast.beats.feature_columns(batch.lead_names),
        ]
        assert fid == [
            "p_on",
            "p_peak",
            "p_off",
            "qrs_on",
            "r_peak",
            "qrs_off",
            "t_on",
            "t_peak",
            "t_off",
        ]
        for col in fid:
            assert beats[col].dtype == pd.Int64Dtype()
        assert beats["r_peak"].notna().all()  # a beat is listed because its R peak is inside
        assert (beats["sample"] == beats["r_peak"]).all()
        assert (beats.groupby("record").size() == batch.labels["n_beats"]).all()
        inside = beats[fid].dropna()
        order = inside.to_numpy(dtype=np.int64)
        assert np.all(np.diff(order, axis=1) >= 0), "fiducials of a beat must be in order"

    def test_beat_features_are_the_ground_truth(self, batch):
        """Rhythm and intervals from the exact times: RR within a sample of the R indices,
        record medians equal to the labels, amplitudes read off the returned signals."""
        beats, fs = batch.beats, batch.fs
        for rec, t in beats.groupby("record"):
            r = t["r_peak"].to_numpy(dtype=np.float64)
            rr = np.diff(r) * 1000 / fs
            np.testing.assert_allclose(t["pre_rr"].to_numpy()[1:], rr, atol=1000 / fs + 1e-9)
            np.testing.assert_allclose(t["post_rr"].to_numpy()[:-1], t["pre_rr"].to_numpy()[1:])
            assert np.isnan(t["pre_rr"].iloc[0]) and np.isnan(t["post_rr"].iloc[-1])
            lab = batch.labels.loc[rec]
            for name in ("pr", "qrs", "qt"):
                assert np.nanmedian(t[name]) == pytest.approx(lab[name], rel=1e-9)
            assert 60000 / np.median(t["pre_rr"].dropna()) == pytest.approx(lab["hr"], rel=1e-9)
            x = batch.signals[rec, 1].astype(np.float64)
            ok = t["qrs_on"].notna()
            on = t.loc[ok, "qrs_on"].to_numpy(dtype=np.int64)
            rp = t.loc[ok, "r_peak"].to_numpy(dtype=np.int64)
            np.testing.assert_allclose(t.loc[ok, "r_amplitude_II"], x[rp] - x[on], atol=1e-12)
            ratio = t["pre_rr"] / t["local_rr"]
            np.testing.assert_allclose(t["pre_rr_local"], ratio)

    def test_single_lead_and_subsets(self, batch):
        ii = ecgfast.synthesize(24, seed=7, leads="II")
        assert ii.signals.shape == (24, 1, 5000)
        assert ii.lead_names == ("II",)
        # a lead is the same whatever other leads are requested
        np.testing.assert_array_equal(ii.signals[:, 0], batch.signals[:, 1])
        sub = ecgfast.synthesize(24, seed=7, leads=["V5", "aVR", "i"])
        assert sub.lead_names == ("V5", "aVR", "I")
        np.testing.assert_array_equal(sub.signals[:, 0], batch.signals[:, 10])
        np.testing.assert_array_equal(sub.signals[:, 1], batch.signals[:, 3])
        np.testing.assert_array_equal(sub.signals[:, 2], batch.signals[:, 0])

    def test_empty_batch(self):
        b = ecgfast.synthesize(0)
        assert b.signals.shape == (0, 12, 5000)
        assert len(b.labels) == 0 and len(b.beats) == 0

    def test_other_rates_and_durations(self):
        b = ecgfast.synthesize(3, fs=250, duration=30.0, seed=1)
        assert b.signals.shape == (3, 12, 7500)
        assert b.labels["n_beats"].min() >= 24


class TestDeterminism:
    def test_same_seed_same_data(self, batch):
        again = ecgfast.synthesize(24, seed=7)
        np.testing.assert_array_equal(again.signals, batch.signals)
        pd.testing.assert_frame_equal(again.labels, batch.labels)
        pd.testing.assert_frame_equal(again.beats, batch.beats)

    def test_other_seed_other_data(self, batch):
        other = ecgfast.synthesize(24, seed=8)
        assert not np.array_equal(other.signals, batch.signals)

    @pytest.mark.parametrize("threads", [1, 2, 3])
    def test_thread_count_does_not_matter(self, batch, threads):
        with ecgfast.thread_limit(threads):
            b = ecgfast.synthesize(24, seed=7)
        np.testing.assert_array_equal(b.signals, batch.signals)
        pd.testing.assert_frame_equal(b.beats, batch.beats)

    @pytest.mark.parametrize("level", ["portable", "avx2", "avx512"])
    def test_vector_instruction_set_does_not_matter(self, batch, tmp_path, level):
        # ECGFAST_SIMD caps the instruction set of the per-record loops; every level the CPU
        # has must give the same bits (a level it lacks falls back to the widest it has)
        code = (
            "import sys, numpy as np, ecgfast\n"
            "b = ecgfast.synthesize(24, seed=7)\n"
            "np.save(sys.argv[1], b.signals)\n"
            "b.beats.to_pickle(sys.argv[2])\n"
            "print(ecgfast._core.simd_level())\n"
        )
        env = dict(os.environ, ECGFAST_SIMD=level)
        paths = [str(tmp_path / "x.npy"), str(tmp_path / "beats.pkl")]
        out = subprocess.run(
            [sys.executable, "-c", code, *paths], env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        used = out.stdout.strip()
        order = ["portable", "avx2", "avx512"]
        assert order.index(used) <= order.index(level)
        if level == "portable":
            assert used == "portable"
        np.testing.assert_array_equal(np.load(paths[0]), batch.signals)
        pd.testing.assert_frame_equal(pd.read_pickle(paths[1]), batch.beats)

    def test_start_offsets_and_batch_splits(self, batch):
        parts = [ecgfast.synthesize(m, seed=7, start=k) for k, m in ((0, 5), (5, 1), (6, 18))]
        np.testing.assert_array_equal(np.concatenate([p.signals for p in parts]), batch.signals)
        labels = pd.concat([p.labels for p in parts])
        pd.testing.assert_frame_equal(labels, batch.labels)
        beats = pd.concat([p.beats for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(beats, batch.beats)


class TestLeadIdentities:
    def test_einthoven_and_goldberger_hold_exactly(self, batch):
        s = batch.signals
        i, ii, iii, avr, avl, avf = (s[:, k] for k in range(6))
        np.testing.assert_array_equal(iii, ii - i)
        np.testing.assert_array_equal(avr, -(i + ii) / 2)
        np.testing.assert_array_equal(avl, i - ii / 2)
        np.testing.assert_array_equal(avf, ii - i / 2)


class TestLabelsMatchSignal:
    @staticmethod
    def worst_r_offset(b):
        """Largest distance (samples) from a true R peak to the extremum of |x| within ±30 ms,
        in each record's R-dominant lead."""
        worst = 0
        for rec, group in b.beats.groupby("record"):
            r = group["r_peak"].to_numpy(dtype=np.int64)
            x = b.signals[rec, r_dominant_lead(b.signals[rec], r)]
            for idx in r:
                lo, hi = max(idx - 15, 0), min(idx + 16, x.size)
                worst = max(worst, abs(lo + int(np.argmax(np.abs(x[lo:hi]))) - idx))
        return worst

    def test_r_peaks_are_extrema_of_the_dominant_lead(self, clean):
        assert self.worst_r_offset(clean) <= 2  # 4 ms

    def test_r_peaks_survive_default_noise(self, batch):
        assert self.worst_r_offset(batch) <= 5  # 10 ms

    def test_labels_are_medians_of_beat_intervals(self, batch):
        one_sample = 1000.0 / FS
        for rec, g in batch.beats.groupby("record"):
            lab = batch.labels.loc[rec]
            r = g["r_peak"].to_numpy(dtype=float)
            hr = 60_000.0 / np.median(ms(np.diff(r)))
            assert abs(hr - lab["hr"]) < 1.0
            for name, a, b in (
                ("pr", "p_on", "qrs_on"),
                ("qrs", "qrs_on", "qrs_off"),
                ("qt", "qrs_on", "t_off"),
            ):
                both = g[[a, b]].dropna()
                measured = np.median(ms(both[b].to_numpy(float) - both[a].to_numpy(float)))
                assert abs(measured - lab[name]) <= one_sample + 1e-9, (rec, name)
            rr_s = 60.0 / lab["hr"]
            assert lab["qtc_bazett"] == pytest.approx(lab["qt"] / np.sqrt(rr_s))
            assert lab["qtc_fridericia"] == pytest.approx(lab["qt"] / np.cbrt(rr_s))

    def test_fixed_intervals_are_honoured(self):
        b = ecgfast.synthesize(6, hr=72, hrv=0, pr=164, qrs=92, qt=396, seed=3)
        lab = b.labels
        for name, want in (("hr", 72), ("pr", 164), ("qrs", 92), ("qt", 396)):
            np.testing.assert_allclose(lab[name], want, atol=1e-6)
        one_sample = 1000.0 / FS
        g = b.beats.dropna()
        for a, c, want in (
            ("p_on", "qrs_on", 164),
            ("qrs_on", "qrs_off", 92),
            ("qrs_on", "t_off", 396),
        ):
            got = ms(g[c].to_numpy(float) - g[a].to_numpy(float))
            assert np.all(np.abs(got - want) <= one_sample + 1e-9)

    def test_per_record_arrays_and_ranges(self):
        hr = np.array([55.0, 70.0, 95.0, 120.0])
        b = ecgfast.synthesize(4, hr=hr, hrv=0, pr=(130, 150), qrs=np.array([80, 90, 100, 110]))
        np.testing.assert_allclose(b.labels["param_hr"], hr)
        np.testing.assert_allclose(b.labels["hr"], hr, rtol=1e-9)
        assert b.labels["pr"].between(130, 150).all()
        np.testing.assert_allclose(b.labels["qrs"], [80, 90, 100, 110], atol=1e-9)

    def test_qt_follows_rr_through_qtc(self):
        b = ecgfast.synthesize(40, hr=(50, 120), qtc=410, hrv=0, seed=2)
        np.testing.assert_allclose(b.labels["qtc_fridericia"], 410, rtol=0.01)
        # QT shortens as the heart rate rises
        assert np.corrcoef(b.labels["hr"], b.labels["qt"])[0, 1] < -0.95

    def test_hrv_is_realised(self):
        b = ecgfast.synthesize(60, hr=70, hrv=40, duration=60.0, noise=0, seed=4)
        assert 15 < b.labels["rr_std"].median() < 80
        steady = ecgfast.synthesize(5, hr=70, hrv=0, noise=0)
        assert steady.labels["rr_std"].max() < 1e-6


@pytest.fixture(scope="module")
def ludb_lead_ii():
    return ecgfast.synthesize(
        30, seed=3, noise=0, hrv=0, leads=["II"], duration=10, population="ludb"
    )


class TestPopulation:
    """``population="ludb"``: the waves between the labelled ones (atrial repolarisation after
    P, the U wave after T) and the interval defaults fitted to LUDB; neither wave moves a
    fiducial (benches/realism.py)."""

    def test_pr_segment_is_depressed_by_the_ta_wave(self, ludb_lead_ii):
        # Ta is opposite to P: where P is upright, the PR segment lies below the baseline
        def pr_segment_means(batch):
            x = batch.signals[:, 0]
            beats = batch.beats.dropna(subset=["p_peak", "p_off", "qrs_on"])
            return np.array(
                [
                    x[b.record, int(b.p_off) : int(b.qrs_on)].mean()
                    for b in beats.itertuples()
                    if x[b.record, int(b.p_peak)] > 0.02 and b.qrs_on - b.p_off > 3
                ]
            )

        ludb = pr_segment_means(ludb_lead_ii)
        assert len(ludb) > 100 and np.mean(ludb < 0) > 0.95
        # without Ta the P wave's tail keeps the segment above the baseline
        standard = ecgfast.synthesize(30, seed=3, noise=0, hrv=0, leads=["II"], duration=10)
        assert np.mean(pr_segment_means(standard) < 0) < 0.5

    def test_u_wave_follows_t_in_its_direction(self, ludb_lead_ii):
        x = ludb_lead_ii.signals[:, 0]
        beats = ludb_lead_ii.beats.dropna(subset=["t_peak", "t_off"])
        after = int(0.08 * 500)
        ratios = np.array(
            [
                x[b.record, int(b.t_off) + after] / x[b.record, int(b.t_peak)]
                for b in beats.itertuples()
                if abs(x[b.record, int(b.t_peak)]) > 0.1 and int(b.t_off) + after < x.shape[1]
            ]
        )
        assert len(ratios) > 50
        assert np.mean(ratios > 0.01) > 0.9 and ratios.max() < 0.25

    @staticmethod
    def _p_to_qrs(batch, lead):
        """Median over beats of |P peak| / QRS peak-to-peak on one lead."""
        x = batch.signals[:, batch.lead_names.index(lead)]
        out = [
            abs(x[b.record, int(b.p_peak)])
            / max(np.ptp(x[b.record, int(b.qrs_on) : int(b.qrs_off) + 1]), 1e-9)
            for b in batch.beats.dropna(subset=["p_peak", "qrs_on", "qrs_off"]).itertuples()
        ]
        return float(np.median(out))

    def test_atria_have_their_own_lead_field(self):
        # one dipole through Dower's matrix gives V4-V6 P waves ~0.75 of lead II's (relative to
        # each lead's QRS); LUDB's are ~0.25, which the atria's own lead field reproduces
        def ratio(population):
            b = ecgfast.synthesize(40, seed=2, noise=0, duration=10, population=population)
            lateral = np.mean([self._p_to_qrs(b, lead) for lead in ("V4", "V5", "V6")])
            return lateral / self._p_to_qrs(b, "II")

        assert ratio("ludb") < 0.5
        assert ratio("standard") > 0.6
        # fibrillatory waves are atrial too, and still reach V1 (its gain is Dower's)
        af = ecgfast.synthesize(4, seed=2, noise=0, rhythm="af", population="ludb", leads="V1")
        beats = af.beats.dropna(subset=["t_off"])
        x = af.signals[:, 0]
        gaps = [
            np.ptp(x[b.record, int(b.t_off) + 10 : int(b.t_off) + 60])
            for b in beats.itertuples()
            if int(b.t_off) + 60 < x.shape[1]
        ]
        assert np.median(gaps) > 0.02

    def test_early_repolarisation_lifts_st_in_v2(self):
        def st_v2(population):
            b = ecgfast.synthesize(40, seed=3, noise=0, leads="V2", population=population)
            x = b.signals[:, 0]
            j40 = round(0.04 * b.fs)
            return np.median(
                [
                    x[r.record, int(r.qrs_off) + j40]
                    for r in b.beats.dropna(subset=["qrs_off"]).itertuples()
                    if int(r.qrs_off) + j40 < x.shape[1]
                ]
            )

        assert st_v2("ludb") > 0.015
        assert st_v2("standard") < 0.01

    def test_interval_defaults_and_explicit_values(self):
        b = ecgfast.synthesize(200, seed=1, duration=10, population="ludb")
        assert b.labels["param_hr"].between(48, 85).all()
        assert b.labels["param_qrs"].between(80, 118).all()
        assert b.labels["param_qtc"].between(400, 460).all()
        assert b.params["population"] == "ludb"
        fixed = ecgfast.synthesize(5, seed=1, hr=100, qrs=90, population="ludb")
        assert (fixed.labels["param_hr"] == 100).all() and (fixed.labels["param_qrs"] == 90).all()

    def test_standard_is_the_default_and_deterministic(self):
        a = ecgfast.synthesize(6, seed=4)
        b = ecgfast.synthesize(6, seed=4, population="standard")
        np.testing.assert_array_equal(a.signals, b.signals)
        c = ecgfast.synthesize(6, seed=4, population="ludb")
        d = ecgfast.synthesize(3, seed=4, start=3, population="ludb")
        np.testing.assert_array_equal(c.signals[3:], d.signals)
        assert not np.array_equal(a.signals, c.signals)

    def test_shards_carry_the_population(self, tmp_path):
        ecgfast.synthesize_to(tmp_path, 6, shard_size=3, population="ludb", seed=5, progress=False)
        shard = np.load(tmp_path / "shard-00001.signals.npy")
        direct = ecgfast.synthesize(3, seed=5, start=3, population="ludb").signals
        np.testing.assert_array_equal(shard, direct)

    def test_bad_population(self):
        with pytest.raises(ecgfast.InvalidParameterError, match="population"):
            ecgfast.synthesize(2, population="ptbxl")
        with pytest.raises(ecgfast.InvalidParameterError, match="population"):
            ecgfast.synthesize(2, method="ecgsyn", population="ludb")


class TestNoise:
    def test_noise_zero_is_clean(self, clean):
        # between T offset and the next P onset the clean signal is at the baseline
        for rec, g in clean.beats.groupby("record"):
            t_off = g["t_off"].to_numpy()[:-1]
            p_on = g["p_on"].to_numpy()[1:]
            for a, b in zip(t_off, p_on, strict=True):
                if pd.notna(a) and pd.notna(b) and b - a > 20:
                    seg = clean.signals[rec, :, int(a) + 5 : int(b) - 5]
                    assert np.abs(seg).max() < 0.02

    def test_default_noise_is_mild(self, batch, clean):
        diff = batch.signals - clean.signals
        rms = np.sqrt((diff**2).mean(axis=-1))
        assert 0.001 < np.median(rms) < 0.15

    @pytest.mark.parametrize(
        ("source", "band"), [("powerline", (45, 65)), ("emg", (20, 150)), ("baseline", (0, 1.6))]
    )
    def test_each_source_lands_in_its_band(self, clean, source, band):
        amps = {k: 0.0 for k in ("baseline", "powerline", "emg", "motion")}
        amps[source] = 0.1
        noisy = ecgfast.synthesize(24, seed=7, noise=amps, duration=10.0)
        noise = (noisy.signals - clean.signals)[:, :2].reshape(-1, 5000).astype(np.float64)
        spec = np.abs(np.fft.rfft(noise, axis=-1)) ** 2
        f = np.fft.rfftfreq(5000, 1 / FS)
        in_band = spec[:, (f >= band[0]) & (f <= band[1])].sum()
        assert in_band / spec.sum() > 0.8

    def test_baseline_wander_survives_a_half_hertz_high_pass(self, clean):
        # respiration and slow drift lie below 0.3 Hz; the 0.3-1.5 Hz wander is what a 0.5 Hz
        # high-pass leaves of the source, at ~0.6 x its level in RMS (x the lead's weight)
        amps = {"baseline": 0.1, "powerline": 0.0, "emg": 0.0, "motion": 0.0}
        noisy = ecgfast.synthesize(24, seed=7, noise=amps, duration=10.0)
        noise = (noisy.signals - clean.signals).astype(np.float64)
        spec = np.fft.rfft(noise, axis=-1)
        f = np.fft.rfftfreq(noise.shape[-1], 1 / FS)
        spec[..., (f < 0.5) | (f > 1.6)] = 0
        rms = np.sqrt((np.fft.irfft(spec, n=noise.shape[-1], axis=-1) ** 2).mean(axis=-1))
        assert 0.01 < np.median(rms) < 0.06
        zero = ecgfast.synthesize(24, seed=7, noise={**amps, "baseline": 0.0}, duration=10.0)
        np.testing.assert_array_equal(zero.signals, clean.signals)

    def test_powerline_frequency_can_be_fixed(self, clean):
        amps = {"baseline": 0, "emg": 0, "motion": 0, "powerline": 0.05, "powerline_freq": 60}
        noisy = ecgfast.synthesize(4, seed=7, noise=amps)
        noise = (noisy.signals - clean.signals[:4])[:, 0].astype(np.float64)
        f = np.fft.rfftfreq(5000, 1 / FS)
        peak = f[np.argmax(np.abs(np.fft.rfft(noise, axis=-1)), axis=-1)]
        np.testing.assert_allclose(peak, 60.0)
        assert (noisy.labels["param_powerline_freq"] == 60).all()

    def test_noise_scale(self, batch, clean):
        double = ecgfast.synthesize(24, seed=7, noise=2.0)
        assert (
            np.abs(double.signals - clean.signals).mean()
            > np.abs(batch.signals - clean.signals).mean()
        )


class TestErrors:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(n=-1), "n must be"),
            (dict(n=2.5), "n must be an integer"),
            (dict(hr=0), "hr"),
            (dict(hr=-60), "hr"),
            (dict(hr=1000), "hr"),
            (dict(hr=(90, 60)), "low <= high"),
            (dict(hr=np.array([60, 70])), "length n=3"),
            (dict(hr=float("nan")), "finite"),
            (dict(hr="fast"), "hr"),
            (dict(pr=80, qrs=100), "PR must be longer than QRS"),
            (dict(qt=520, hr=140), "QT too long"),
            (dict(qt=130, qrs=100), "qt"),
            (dict(fs=50), "fs"),
            (dict(fs=0), "fs"),
            (dict(fs=float("inf")), "fs"),
            (dict(duration=0.5, hr=50), "shorter than one beat"),
            (dict(duration=0), "duration"),
            (dict(duration=-3), "duration"),
            (dict(leads="V7"), "unknown lead"),
            (dict(leads=[]), "must not be empty"),
            (dict(noise={"thunder": 0.1}), "unknown noise"),
            (dict(noise=-1.0), "noise"),
            (dict(noise="loud"), "noise"),
            (dict(noise={"powerline_freq": 55}), "50 or 60"),
            (dict(noise={"emg": (0.2, 0.1)}), "low <= high"),
            (dict(seed=-1), "seed"),
            (dict(start=-2), "start"),
            (dict(hrv=-5), "hrv"),
        ],
    )
    def test_bad_parameters(self, kwargs, match):
        n = kwargs.pop("n", 3)
        with pytest.raises(InvalidParameterError, match=match):
            ecgfast.synthesize(n, **kwargs)


def test_plot_rejects_bad_arguments(batch):
    pytest.importorskip("matplotlib")
    for kwargs in (dict(i=24), dict(i=-25), dict(i=1.5), dict(i=0, seconds=0)):
        with pytest.raises(InvalidParameterError):
            batch.plot(**kwargs)
    with pytest.raises(InvalidParameterError, match="empty"):
        ecgfast.synthesize(0).plot(0)


def test_plot_draws_a_record(tmp_path, batch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    path = tmp_path / "rec.png"
    fig = batch.plot(2, path=str(path), seconds=4)
    assert path.stat().st_size > 10_000
    assert len(fig.axes) == 12
    matplotlib.pyplot.close(fig)


class TestSynthesizeTo:
    def test_shards_equal_synthesize(self, tmp_path):
        m = ecgfast.synthesize_to(tmp_path, 250, shard_size=100, seed=5, progress=False)
        assert m["n_shards"] == 3 and m["n_records"] == 250
        ref = ecgfast.synthesize(250, seed=5)
        sig = np.concatenate(
            [np.load(tmp_path / s["files"][0], mmap_mode="r") for s in m["shards"]]
        )
        np.testing.assert_array_equal(sig, ref.signals)
        labels = pd.concat([pd.read_parquet(tmp_path / s["files"][1]) for s in m["shards"]])
        pd.testing.assert_frame_equal(labels, ref.labels)
        beats = pd.concat(
            [pd.read_parquet(tmp_path / s["files"][2]) for s in m["shards"]], ignore_index=True
        )
        pd.testing.assert_frame_equal(beats, ref.beats)
        manifest = __import__("json").loads((tmp_path / "manifest.json").read_text())
        assert manifest["ecgfast_version"] == ecgfast.__version__
        assert manifest["params"]["seed"] == 5
        assert manifest["lead_names"] == list(ecgfast.LEAD_NAMES)

    def test_resumes_after_interruption(self, tmp_path):
        m = ecgfast.synthesize_to(tmp_path, 30, shard_size=10, seed=1, leads="II", progress=False)
        first, second = (tmp_path / m["shards"][i]["files"][0] for i in (0, 1))
        kept = first.stat().st_mtime_ns
        data = np.load(second).copy()
        second.unlink()  # as if the run had died while writing shard 1
        (tmp_path / (m["shards"][1]["files"][0] + ".tmp")).write_bytes(b"partial")
        ecgfast.synthesize_to(tmp_path, 30, shard_size=10, seed=1, leads="II", progress=False)
        assert first.stat().st_mtime_ns == kept  # finished shards are not redone
        np.testing.assert_array_equal(np.load(second), data)

    def test_keeps_the_thread_setting(self, tmp_path):
        with ecgfast.thread_limit(1):
            ecgfast.synthesize_to(tmp_path, 12, shard_size=3, seed=1, leads="II", progress=False)
            assert ecgfast.get_num_threads() == 1
        assert len(list(tmp_path.glob("*.done.json"))) == 4

    def test_refuses_to_mix_parameters(self, tmp_path):
        ecgfast.synthesize_to(tmp_path, 5, seed=1, leads="II", progress=False)
        with pytest.raises(InvalidParameterError, match="other parameters"):
            ecgfast.synthesize_to(tmp_path, 5, seed=2, leads="II", progress=False)
        ecgfast.synthesize_to(tmp_path, 5, seed=2, leads="II", progress=False, overwrite=True)
        ref = ecgfast.synthesize(5, seed=2, leads="II")
        np.testing.assert_array_equal(np.load(tmp_path / "shard-00000.signals.npy"), ref.signals)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(n=-1), "n must be"),
            (dict(n=5, shard_size=0), "shard_size"),
            (dict(n=5, hr=0), "hr"),
            (dict(n=5, start=3), "unknown parameter"),
            (dict(n=5, hr=np.full(5, 70.0)), "per-record arrays"),
        ],
    )
    def test_bad_arguments_touch_nothing(self, tmp_path, kwargs, match):
        target = tmp_path / "ds"
        with pytest.raises(InvalidParameterError, match=match):
            ecgfast.synthesize_to(target, progress=False, **kwargs)
        assert not target.exists()


def test_cli_synth(tmp_path, capsys):
    from ecgfast import cli

    out = tmp_path / "ds"
    code = cli.main(
        [
            "synth",
            "--n",
            "12",
            "--out",
            str(out),
            "--hr",
            "60",
            "90",
            "--qrs",
            "90",
            "--leads",
            "II,V5",
            "--shard-size",
            "5",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    assert "wrote 12 records in 3 shard(s)" in capsys.readouterr().out
    ref = ecgfast.synthesize(12, hr=(60, 90), qrs=90, leads=["II", "V5"], seed=3)
    sig = np.concatenate([np.load(out / f"shard-0000{i}.signals.npy") for i in range(3)])
    np.testing.assert_array_equal(sig, ref.signals)
    assert cli.main(["synth", "--n", "3", "--out", str(tmp_path / "x"), "--hr", "0"]) == 2
    assert "hr must lie within" in capsys.readouterr().err


class TestEcgsynMethod:
    def test_single_lead_with_phase_fiducials(self):
        b = ecgfast.synthesize(4, method="ecgsyn", hr=(55, 95), noise=0, seed=2)
        assert b.signals.shape == (4, 1, 5000)
        assert b.lead_names == ("ECG",)
        x = b.signals[:, 0]
        assert x.min() == pytest.approx(-0.4, abs=1e-5) and x.max() == pytest.approx(1.2, abs=1e-5)
        for rec, g in b.beats.groupby("record"):
            for idx in g["r_peak"].to_numpy(dtype=np.int64):
                lo, hi = max(idx - 10, 0), min(idx + 11, 5000)
                assert abs(lo + int(np.argmax(x[rec, lo:hi])) - idx) <= 3
        np.testing.assert_allclose(b.labels["hr"], b.labels["param_hr"], rtol=0.1)

    @pytest.mark.parametrize("hr", [50, 75, 110])
    def test_average_beat_matches_neurokit2(self, hr):
        nk = pytest.importorskip("neurokit2")
        fs = 500
        ref = np.asarray(
            nk.ecg_simulate(
                duration=20,
                sampling_rate=fs,
                heart_rate=hr,
                heart_rate_std=1,
                noise=0,
                method="ecgsyn",
                random_state=1,
            )
        )
        ours = ecgfast.synthesize(
            1,
            method="ecgsyn",
            hr=hr,
            hrv=16.7 * (60 / hr) ** 2,
            noise=0,
            duration=20.0,
            fs=fs,
            seed=1,
        )

        def average_beat(x, r):
            a, b = int(0.3 * fs), int(0.5 * fs)
            return np.mean([x[i - a : i + b] for i in r if i - a >= 0 and i + b <= len(x)], 0)

        # NeuroKit2's R peaks: the largest local maximum of each cycle
        thr = ref.min() + 0.6 * (ref.max() - ref.min())
        cand = np.flatnonzero((ref[1:-1] > thr) & (ref[1:-1] >= ref[:-2]) & (ref[1:-1] > ref[2:]))
        r_ref = [c + 1 for c in cand]
        r_ours = ours.beats["r_peak"].to_numpy(dtype=np.int64)
        corr = np.corrcoef(average_beat(ref, r_ref), average_beat(ours.signals[0, 0], r_ours))
        assert corr[0, 1] >= 0.99

    def test_default_and_named_lead(self):
        for leads in (None, "ECG"):
            b = ecgfast.synthesize(1, method="ecgsyn", leads=leads, noise=0, seed=0)
            assert b.lead_names == ("ECG",) and b.signals.shape[1] == 1

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(pr=150), "pr cannot be set"),
            (dict(qt=400, qtc=420), "qt, qtc cannot be set"),
            (dict(leads=["I", "II"]), "single lead"),
            (dict(leads="12"), "single lead"),  # used to return one lead silently
            (dict(leads="II"), "single lead"),
            (dict(method="hmm"), "method"),
        ],
    )
    def test_errors(self, kwargs, match):
        kwargs.setdefault("method", "ecgsyn")
        with pytest.raises(InvalidParameterError, match=match):
            ecgfast.synthesize(2, **kwargs)


class TestPowerlineAndNyquist:
    """Powerline noise the sampling rate cannot carry used to be dropped while the labels
    still reported its amplitude."""

    def test_explicit_powerline_at_or_above_nyquist_is_an_error(self):
        with pytest.raises(InvalidParameterError, match="Nyquist"):
            ecgfast.synthesize(2, fs=100, noise={"powerline": 0.05, "powerline_freq": 50})
        with pytest.raises(InvalidParameterError, match="powerline_freq=50"):
            ecgfast.synthesize(2, fs=110, noise={"powerline": 0.05})  # 60 Hz may be drawn
        b = ecgfast.synthesize(2, fs=110, noise={"powerline": 0.05, "powerline_freq": 50})
        assert (b.labels["param_noise_powerline"] > 0).all()

    def test_default_has_no_powerline_when_the_rate_cannot_carry_it(self):
        low = ecgfast.synthesize(16, fs=100, seed=0)
        assert (low.labels["param_noise_powerline"] == 0).all()
        high = ecgfast.synthesize(16, fs=250, seed=0)
        assert (high.labels["param_noise_powerline"] > 0).any()


class TestPathology:
    """Rhythm, ectopy and conduction: labelled beats and records (rust/synth/pathology.rs)."""

    def test_no_pathology_is_the_sinus_model(self, batch):
        same = ecgfast.synthesize(
            6, seed=11, rhythm="sinus", ectopy={}, conduction="normal", duration=10
        )
        ref = ecgfast.synthesize(6, seed=11, duration=10)
        np.testing.assert_array_equal(same.signals, ref.signals)
        assert (ref.beats["symbol"] == "N").all() and (ref.beats["aami"] == "N").all()
        codes = ecgfast.synth.SNOMED
        sinus = {str(codes[k]) for k in ("NSR", "SB", "STach")}
        assert ref.labels["dx"].str.split(",").str[0].isin(sinus).all()
        assert (ref.labels["NORM"] == 1).all() and (ref.labels["CD"] == 0).all()

    def test_premature_ventricular_beats(self):
        b = ecgfast.synthesize(8, seed=2, duration=30, hrv=0, hr=70, ectopy={"pvc": 0.15})
        beats = b.beats
        v = beats[beats["symbol"] == "V"]
        assert len(v) > 20 and (v["aami"] == "V").all()
        assert v["p_on"].isna().all()  # no P wave
        assert (v["qrs"] >= 110).all() and (beats.loc[beats["symbol"] == "N", "qrs"] < 115).all()
        # premature against the record's rhythm (in long bigeminy the neighbourhood itself
        # alternates), and a compensatory pause after it
        assert v["pre_rr_centred"].median() < 0.7 and v["pre_rr_record"].max() < 0.8
        pauses = v.dropna(subset=["pre_rr", "post_rr"])
        normal_rr = 60000 / 70
        isolated = pauses[(pauses["pre_rr"] + pauses["post_rr"] - 2 * normal_rr).abs() < 2]
        assert len(isolated) > 5
        counts = beats.groupby("record")["symbol"].apply(lambda s: int((s == "V").sum()))
        np.testing.assert_array_equal(counts.to_numpy(), b.labels["n_pvc"].to_numpy())
        has = b.labels["n_pvc"] > 0
        pvc = str(ecgfast.synth.SNOMED["PVC"])
        assert b.labels.loc[has, "dx"].str.contains(pvc).all()

    def test_premature_atrial_beats(self):
        b = ecgfast.synthesize(8, seed=3, duration=30, hrv=0, hr=70, ectopy={"pac": 0.15})
        a = b.beats[b.beats["symbol"] == "A"]
        assert len(a) > 20 and (a["aami"] == "S").all()
        assert a["p_on"].notna().mean() > 0.9  # an (ectopic) P wave
        assert a["pre_rr_centred"].median() < 0.85 and a["pre_rr_record"].max() < 0.9
        # the ectopic beats are premature in a regular rhythm: the long-range irregularity
        # stays at the sinus level where the AF records of test_atrial_fibrillation are > 0.1
        assert b.beats.groupby("record")["rhythm_irregularity"].median().max() < 0.06
        # normal QRS: as narrow as the sinus beats of the record
        qrs_n = b.beats[b.beats["symbol"] == "N"].groupby("record")["qrs"].median()
        np.testing.assert_allclose(a.groupby("record")["qrs"].median(), qrs_n[a["record"].unique()])

    def test_atrial_fibrillation(self):
        b = ecgfast.synthesize(6, seed=4, duration=30, rhythm="af")
        assert b.beats["p_on"].isna().all()
        irregular = b.beats.groupby("record")[["rr_irregularity", "rhythm_irregularity"]].median()
        assert (irregular > 0.1).all().all()
        assert (b.labels["param_af"] == 1).all()
        assert b.labels["dx"].str.startswith(str(ecgfast.synth.SNOMED["AF"])).all()
        # the delineator finds (almost) no P wave in them either
        found = ecgfast.delineate(b.signals[0], b.fs)
        assert found["p_peak"].notna().mean() < 0.2

    @pytest.mark.parametrize("block,symbol", [("lbbb", "L"), ("rbbb", "R")])
    def test_bundle_branch_block(self, block, symbol):
        b = ecgfast.synthesize(4, seed=5, conduction=block)
        assert (b.beats["symbol"] == symbol).all() and (b.beats["aami"] == "N").all()
        assert (b.labels["qrs"] >= 119).all()
        assert (b.labels["CD"] == 1).all() and (b.labels["NORM"] == 0).all()
        code = str(ecgfast.synth.SNOMED[block.upper()])
        assert b.labels["dx"].str.contains(code).all()

    def test_paced_rhythm(self):
        b = ecgfast.synthesize(4, seed=12, rhythm="paced", leads=["II", "V1"], hrv=0)
        assert (b.beats["symbol"] == "/").all() and (b.beats["aami"] == "Q").all()
        assert (b.beats["qrs"] >= 130).all()
        rr = b.beats.groupby("record")["pre_rr"].agg(lambda v: v.dropna().std())
        assert (rr < 1.0).all()  # a fixed programmed rate (ms, sample rounding only)
        assert (b.labels["dx"] == str(ecgfast.synth.SNOMED["PR"])).all()
        assert (b.labels["n_paced"] == b.labels["n_beats"]).all() and (b.labels["NORM"] == 0).all()
        # the spike: the steepest slope of each record comes right before a QRS onset
        for k in range(4):
            j = int(np.argmax(np.abs(np.diff(b.signals[k, 0]))))
            on = b.beats.loc[b.beats["record"] == k, "qrs_on"].to_numpy(dtype=float)
            assert np.any((on - j > -1) & (on - j < 0.012 * b.fs))

    @pytest.mark.parametrize(
        ("block", "code"), [("wenckebach", "MoI"), ("mobitz2", "IIAVBII"), ("complete", "CHB")]
    )
    def test_av_block(self, block, code):
        b = ecgfast.synthesize(6, seed=21, duration=30, conduction=block, hr=(60, 90))
        lab = b.labels
        assert (lab["param_av_block"] == ecgfast.synth.AV_BLOCKS.index(block)).all()
        assert (lab["n_blocked_p"] > 0).all()
        assert lab["dx"].str.contains(str(ecgfast.synth.SNOMED[code])).all()
        assert (lab["CD"] == 1).all() and (lab["NORM"] == 0).all()
        # fewer QRS complexes than sinus P waves: the ventricles beat slower than the atria
        ventricular = 60000 / b.beats.groupby("record")["pre_rr"].mean()
        assert (ventricular < lab["param_hr"] - 5).all()
        if block == "complete":
            assert b.beats["symbol"].isin(["j", "E"]).all() and b.beats["p_on"].isna().all()
            assert set(b.beats["aami"]) <= {"N", "V"}
            escape = lab["dx"].str.split(",").str[1].astype(int)
            assert escape.isin([ecgfast.synth.SNOMED["JE"], ecgfast.synth.SNOMED["VEsR"]]).all()
        else:
            assert (b.beats["symbol"] == "N").all() and b.beats["p_on"].notna().all()
            # the sinus rate names the rhythm, not the slower ventricular rate
            assert lab["dx"].str.startswith(str(ecgfast.synth.SNOMED["NSR"])).all()

    def test_av_and_bundle_branch_blocks_combine(self):
        b = ecgfast.synthesize(4, seed=22, conduction={"lbbb": 1.0, "mobitz2": 1.0})
        assert (b.beats["symbol"] == "L").all() and (b.labels["param_av_block"] == 2).all()
        with pytest.raises(InvalidParameterError, match="AV-block probabilities"):
            ecgfast.synthesize(2, conduction={"wenckebach": 0.6, "complete": 0.6})
        with pytest.raises(InvalidParameterError, match="conduction"):
            ecgfast.synthesize(2, conduction="avb2")

    def test_morphology_leaves_everything_else_as_it_was(self):
        base = ecgfast.synthesize(6, seed=31, noise=0)
        for option in ecgfast.synth.MORPHOLOGIES:
            b = ecgfast.synthesize(6, seed=31, noise=0, morphology=option)
            # same rhythm and timing: only the waves' shapes change
            np.testing.assert_array_equal(b.beats["sample"], base.beats["sample"])
            np.testing.assert_array_equal(b.beats["p_on"], base.beats["p_on"])
            assert not np.array_equal(b.signals, base.signals), option
        with pytest.raises(InvalidParameterError, match="unknown morphology"):
            ecgfast.synthesize(2, morphology="stemi")
        with pytest.raises(InvalidParameterError, match="morphology"):
            ecgfast.synthesize(2, morphology={"lvh": 1.5})
        with pytest.raises(InvalidParameterError, match="morphology"):
            ecgfast.synthesize(2, method="ecgsyn", morphology="lvh")

    def test_atrial_flutter(self):
        b = ecgfast.synthesize(16, seed=44, duration=30, rhythm="flutter", leads=["II", "V1"],
                               noise=0)  # fmt: skip
        ratio = b.labels["param_flutter"].to_numpy()
        assert set(ratio) <= {1, 2, 3, 4} and {1, 2} <= set(ratio)
        assert (b.labels["dx"] == str(ecgfast.synth.SNOMED["AFL"])).all()
        assert b.beats["p_on"].isna().all() and (b.beats["symbol"] == "N").all()
        for k in range(16):
            rr = b.beats.loc[b.beats["record"] == k, "pre_rr"].dropna().to_numpy() / 1000
            if ratio[k] > 1:
                assert rr.std() < 0.003  # fixed conduction: regular
                cycle = rr.mean() / ratio[k]
            else:  # variable 2-4:1: every RR a multiple of one flutter cycle
                cycle = rr.min() / 2
                multiple = rr / cycle
                assert np.all(np.abs(multiple - np.round(multiple)) < 0.03)
                assert set(np.round(multiple)) <= {2, 3, 4} and len(set(np.round(multiple))) > 1
            assert 60 / 350 - 0.002 < cycle < 60 / 250 + 0.002
            # the F waves: lead II's spectrum peaks at the flutter rate
            x = b.signals[k, 0] - b.signals[k, 0].mean()
            f = np.fft.rfftfreq(len(x), 1 / b.fs)
            power = np.abs(np.fft.rfft(x)) ** 2
            band = (f > 3.5) & (f < 7.0)
            assert abs(f[band][np.argmax(power[band])] - 1 / cycle) < 0.15
        # AF and pacing are drawn first and win
        both = ecgfast.synthesize(6, seed=45, rhythm={"af": 1.0, "flutter": 1.0})
        assert (both.labels["param_flutter"] == 0).all() and (both.labels["param_af"] == 1).all()
        with pytest.raises(InvalidParameterError, match="rhythm"):
            ecgfast.synthesize(2, rhythm="flutter2")

    def test_ventricular_tachycardia_runs(self):
        b = ecgfast.synthesize(8, seed=41, duration=60, hr=(60, 80), hrv=0, leads=["II"],
                               ectopy={"vt": 0.05})  # fmt: skip
        code = str(ecgfast.synth.SNOMED["PVT"])
        runs_seen = 0
        for k in range(8):
            beats = b.beats[b.beats["record"] == k]
            sym = beats["symbol"].astype(str).to_numpy()
            r = beats["sample"].to_numpy() / b.fs
            rr = 60.0 / b.labels["param_hr"].iloc[k]
            runs = _runs_of(sym == "V")
            inside = [(i, j) for i, j in runs if i > 0 and j < len(sym)]
            for i, j in inside:
                cycles = np.diff(r[i:j])
                assert 3 <= j - i <= 10
                assert np.all((cycles > 0.29) & (cycles < 0.52))  # 120-200 bpm, +- 3 %
                assert cycles.max() / cycles.min() < 1.07  # steady
                assert beats["p_on"].iloc[i:j].isna().all()  # no P wave
                # compensatory: the next sinus beat keeps the sinus grid of the beat before
                gap = (r[j] - r[i - 1]) / rr
                assert abs(gap - round(gap)) < 0.02 and sym[j] == "N"
            runs_seen += len(runs)
            assert b.labels["n_vt_runs"].iloc[k] == len(runs)
            assert (code in b.labels["dx"].iloc[k].split(",")) == bool(runs)
        assert runs_seen >= 8
        # couplets are not runs; AV-block records have none
        pvc = ecgfast.synthesize(6, seed=42, duration=60, ectopy={"pvc": 0.3})
        assert (pvc.labels["n_vt_runs"] == 0).all()
        avb = ecgfast.synthesize(4, seed=43, duration=60, ectopy={"vt": 0.3}, conduction="complete")
        assert (avb.labels["n_vt_runs"] == 0).all() and (avb.beats["symbol"] != "V").all()
        with pytest.raises(InvalidParameterError, match="vt"):
            ecgfast.synthesize(2, ectopy={"vt": 0.8})

    def test_supraventricular_tachycardia_junctional_and_aberrant_beats(self):
        ectopy = {"svt": 0.04, "junctional": 0.04, "aberrant": 0.4}
        b = ecgfast.synthesize(10, seed=51, duration=60, hr=(55, 75), hrv=0, noise=0,
                               leads=["II", "V1"], ectopy=ectopy)  # fmt: skip
        assert set(b.beats["symbol"].astype(str)) <= {"N", "A", "a", "J"}
        svt_code, jpc_code = (str(ecgfast.synth.SNOMED[k]) for k in ("SVT", "JPC"))
        runs_seen = 0
        for k in range(10):
            beats = b.beats[b.beats["record"] == k]
            sym = beats["symbol"].astype(str).to_numpy()
            r = beats["sample"].to_numpy() / b.fs
            rr = 60.0 / b.labels["param_hr"].iloc[k]
            runs = _runs_of(np.isin(sym, ["A", "a"]))
            for i, j in [(i, j) for i, j in runs if i > 0 and j < len(sym)]:
                cycles = np.diff(r[i:j])
                assert 3 <= j - i <= 15
                assert np.all((cycles > 0.25) & (cycles < 0.43))  # 150-220 bpm, +- 5 %
                assert cycles.max() / cycles.min() < 1.11  # steady
                assert beats["p_on"].iloc[i:j].notna().all()  # ectopic P waves
                # the sinus node is reset: the next beat comes one sinus RR after the run
                assert sym[j] == "N" and abs(r[j] - r[j - 1] - rr) < 0.01
            runs_seen += len(runs)
            assert b.labels["n_svt_runs"].iloc[k] == len(runs)
            dx = b.labels["dx"].iloc[k].split(",")
            assert (svt_code in dx) == bool(runs)
            # junctional premature beats: early, no P wave, the sinus QRS, the sinus node reset
            junctional = np.flatnonzero(sym == "J")
            assert b.labels["n_junctional"].iloc[k] == len(junctional)
            assert (jpc_code in dx) == bool(len(junctional))
            for i in junctional[(junctional > 0) & (junctional < len(sym) - 1)]:
                assert pd.isna(beats["p_on"].iloc[i]) and pd.isna(beats["pr"].iloc[i])
                assert 0.55 * rr < r[i] - r[i - 1] < 0.9 * rr
                assert abs(beats["qrs"].iloc[i] - beats["qrs"].iloc[i - 1]) < 1e-6
                if sym[i - 1] == "N" and sym[i + 1] == "N":
                    assert abs(r[i + 1] - r[i] - rr) < 0.01
        assert runs_seen >= 5
        # aberrant premature atrial beats: a P wave, QRS >= 120 ms with a late R' in V1
        aberrant = b.beats[b.beats["symbol"] == "a"]
        normal = b.beats[b.beats["symbol"] == "N"]
        assert len(aberrant) >= 20 and aberrant["p_on"].notna().all()
        assert aberrant["qrs"].min() >= 119 and normal["qrs"].max() < 115
        assert (b.labels["n_aberrant"] == b.beats.groupby("record")["symbol"].agg(
            lambda s: int((s == "a").sum()))).all()  # fmt: skip
        v1 = b.signals[:, 1]
        late_r = [
            v1[rec, int(off) - int(0.03 * b.fs) : int(off)].max() > 0.05
            for rec, off in zip(aberrant["record"], aberrant["qrs_off"], strict=True)
        ]
        assert np.mean(late_r) > 0.9
        # the AAMI class of J and a is S; none in AF, flutter, paced or AV-block records, no
        # aberrancy with a bundle-branch block
        assert set(b.beats.loc[b.beats["symbol"].isin(["A", "a", "J"]), "aami"]) == {"S"}
        kw = dict(seed=52, duration=30, ectopy={"svt": 0.3, "junctional": 0.3, "aberrant": 1.0})
        for other in (dict(rhythm="af"), dict(rhythm="flutter"), dict(rhythm="paced"),
                      dict(conduction="complete")):  # fmt: skip
            got = ecgfast.synthesize(3, **kw, **other).beats["symbol"].astype(str)
            assert not set(got) & {"A", "a", "J"}, other
        bbb = ecgfast.synthesize(3, **kw, conduction="lbbb")
        assert (bbb.beats["symbol"] != "a").all() and (bbb.labels["param_aberrant"] == 0).all()
        with pytest.raises(InvalidParameterError, match="aberrant"):
            ecgfast.synthesize(2, ectopy={"aberrant": 1.5})

    def test_rvh_and_lafb(self):
        kw = dict(seed=34, noise=0, hrv=0, hr=60, leads=["I", "III", "aVL", "aVF", "V1"])
        names = kw["leads"]

        def qrs(b, k, lead):
            """The second beat's QRS of one lead, from its baseline at QRS onset."""
            beats = b.beats[b.beats["record"] == k].dropna(subset=["qrs_on", "qrs_off"])
            a, z = beats[["qrs_on", "qrs_off"]].to_numpy(dtype=int)[1]
            x = b.signals[k, names.index(lead)]
            return x[a : z + 1] - x[a]

        def frontal_axis(b, k):
            return np.degrees(np.arctan2(qrs(b, k, "aVF").sum(), qrs(b, k, "I").sum()))

        base = ecgfast.synthesize(20, **kw)
        rvh = ecgfast.synthesize(20, morphology="rvh", **kw)
        lafb = ecgfast.synthesize(20, morphology={"lafb": 1.0, "rvh": 1.0}, **kw)  # LAFB wins
        snomed = ecgfast.synth.SNOMED
        v1_tall_r = [qrs(b, k, "V1").max() > -qrs(b, k, "V1").min() for b in (base, rvh)
                     for k in range(20)]  # fmt: skip
        assert sum(v1_tall_r[:20]) <= 4 and all(v1_tall_r[20:])  # R/S > 1 in V1
        for k in range(20):
            assert 100 <= frontal_axis(rvh, k) <= 150
            assert -90 <= frontal_axis(lafb, k) <= -40
            avl, iii = qrs(lafb, k, "aVL"), qrs(lafb, k, "III")
            first = avl[: len(avl) // 3]
            assert first.min() < -0.02 and avl.max() > 3 * -first.min()  # qR in aVL
            assert -iii.min() > iii.max()  # rS in III
        assert (rvh.labels["param_rvh"] == 1).all() and (
            rvh.labels["param_axis_deviation"] == 2
        ).all()
        assert (lafb.labels["param_lafb"] == 1).all() and (lafb.labels["param_rvh"] == 0).all()
        assert (lafb.labels["param_axis_deviation"] == 1).all()
        assert rvh.labels["dx"].str.contains(str(snomed["RVH"])).all()
        assert lafb.labels["dx"].str.contains(str(snomed["LAnFB"])).all()
        assert (rvh.labels["HYP"] == 1).all() and (lafb.labels["CD"] == 1).all()
        # the timing and every wave's fiducials are those of the same records without
        np.testing.assert_array_equal(lafb.beats["qrs_on"], base.beats["qrs_on"])
        np.testing.assert_array_equal(rvh.labels["qrs"], base.labels["qrs"])

    def test_axis_deviation_keeps_the_r_force_elevation(self):
        kw = dict(seed=35, noise=0, hrv=0, hr=60, leads=["V1", "V2"])
        base = ecgfast.synthesize(10, **kw)
        b = ecgfast.synthesize(10, morphology="left_axis", **kw)
        # turning the frontal axis must not move the R force from posterior to anterior: the
        # R wave in V1-V2 (anterior leads) stays small as in the same record without
        for k in range(10):
            r_base = base.signals[k].max(axis=1)
            r_left = b.signals[k].max(axis=1)
            assert np.all(r_left < 2.0 * r_base + 0.1)

    @pytest.mark.parametrize(
        ("territory", "facing"),
        [
            ("anterior", ["V1", "V2", "V3"]),
            ("inferior", ["II", "III", "aVF"]),
            ("lateral", ["I", "V5", "V6"]),
        ],
    )
    def test_st_elevation_faces_its_territory(self, territory, facing):
        kw = dict(seed=32, noise=0, hrv=0, hr=60)
        b = ecgfast.synthesize(40, morphology="st_elevation", **kw)
        base = ecgfast.synthesize(40, **kw)
        code = ecgfast.synth.TERRITORIES.index(territory)
        recs = np.flatnonzero(b.labels["param_territory"].to_numpy() == code)
        assert len(recs) >= 5
        names = list(b.lead_names)
        for k in recs:
            shift = b.labels["param_st_shift"].iloc[k]
            assert 0.1 <= shift <= 0.3
            diff = b.signals[k] - base.signals[k]  # the ST wave alone
            beats = b.beats[b.beats["record"] == k].dropna(subset=["qrs_off", "t_peak"])
            for j_point, t_peak in beats[["qrs_off", "t_peak"]].to_numpy(dtype=int)[1:-1]:
                at = j_point + int(0.06 * b.fs)
                # elevated in the leads facing the territory at J+60 ms, the most between the
                # J point and the T peak (a dome merging into T)
                assert all(diff[names.index(lead), at] > 0.02 for lead in facing)
                top = j_point + np.argmax(np.abs(diff[:, j_point : t_peak + 1]), axis=1)
                assert np.all((top > j_point) & (top < t_peak))
        assert b.labels["dx"].str.contains(str(ecgfast.synth.SNOMED["STE"])).all()
        assert (b.labels["MI"] == 1).all() and (b.labels["NORM"] == 0).all()

    def test_q_waves_lvh_low_voltage_axis_t_inversion(self):
        kw = dict(seed=33, noise=0, hrv=0, hr=60, leads=["I", "aVF", "V1", "V5"])
        base = ecgfast.synthesize(20, **kw)

        def qrs_pp(batch, k, lead):
            x = batch.signals[k, lead]
            beats = batch.beats[batch.beats["record"] == k].dropna(subset=["qrs_on", "qrs_off"])
            return np.median(
                [np.ptp(x[a:z]) for a, z in beats[["qrs_on", "qrs_off"]].to_numpy(dtype=int)]
            )

        lvh = ecgfast.synthesize(20, morphology="lvh", **kw)
        low = ecgfast.synthesize(20, morphology="low_voltage", **kw)
        for k in range(20):
            for lead in range(4):
                assert 1.6 < qrs_pp(lvh, k, lead) / qrs_pp(base, k, lead) < 2.8
                assert 0.25 < qrs_pp(low, k, lead) / qrs_pp(base, k, lead) < 0.55
        assert (lvh.labels["HYP"] == 1).all() and (low.labels["HYP"] == 0).all()
        # frontal axis from the net QRS deflection in I and aVF
        for option, (lo, hi) in (("left_axis", (-90, -30)), ("right_axis", (90, 180))):
            b = ecgfast.synthesize(20, morphology=option, **kw)
            for k in range(20):
                beats = b.beats[b.beats["record"] == k].dropna(subset=["qrs_on", "qrs_off"])
                a, z = beats[["qrs_on", "qrs_off"]].to_numpy(dtype=int)[1]
                net = b.signals[k, :2, a:z].sum(axis=1)
                axis = np.degrees(np.arctan2(net[1], net[0]))
                assert lo - 15 < axis < hi + 15, (option, k, axis)
        q = ecgfast.synthesize(20, morphology="q_waves", **kw)
        assert (q.labels["MI"] == 1).all() and (q.labels["param_q_waves"] == 1).all()
        t = ecgfast.synthesize(20, morphology="t_inversion", **kw)
        assert (t.labels["STTC"] == 1).all()
        assert t.labels["dx"].str.contains(str(ecgfast.synth.SNOMED["TInv"])).all()

    def test_sinus_pauses(self):
        kw = dict(seed=13, duration=60, hrv=0, hr=70, leads="II")
        b = ecgfast.synthesize(6, ectopy={"pause": 0.05}, **kw)
        rr = b.beats["pre_rr"].dropna() / 1000
        long = rr[rr > 1.5]
        # a pause is 2-6 s (at least 1.5 RR) without P or QRS; every other interval is sinus
        assert len(long) >= 6 and long.min() >= 2.0 - 1 / b.fs and long.max() <= 6.0 + 1 / b.fs
        np.testing.assert_allclose(rr[rr <= 1.5], 60 / 70, atol=2 / b.fs)
        assert (b.beats["symbol"] == "N").all()
        per_record = b.beats.groupby("record")["pre_rr"].agg(lambda v: int((v > 1500).sum()))
        # a pause at a record's edge has only one beat beside it inside the record
        n = b.labels["n_pauses"].to_numpy()
        assert np.all(per_record.to_numpy() <= n) and np.all(n <= per_record.to_numpy() + 2)
        code = str(ecgfast.synth.SNOMED["SARR"])
        assert (b.labels.loc[n > 0, "dx"].str.contains(code)).all()
        # no pauses in fibrillation or paced records; the rest of a record is unchanged
        af = ecgfast.synthesize(3, ectopy={"pause": 0.5}, rhythm="af", **kw)
        assert (af.labels["n_pauses"] == 0).all() and (af.labels["param_pause_rate"] == 0).all()
        plain = ecgfast.synthesize(6, ectopy={"pause": 0.0}, **kw)
        np.testing.assert_array_equal(plain.signals, ecgfast.synthesize(6, **kw).signals)

    def test_rhythm_codes_follow_the_measured_rate_and_pr(self):
        slow = ecgfast.synthesize(2, seed=1, hr=50, pr=240, qrs=90, leads="II")
        fast = ecgfast.synthesize(2, seed=1, hr=120, pr=150, qrs=90, leads="II")
        codes = ecgfast.synth.SNOMED
        assert (slow.labels["dx"] == f"{codes['SB']},{codes['IAVB']}").all()
        assert (fast.labels["dx"] == str(codes["STach"])).all()

    def test_probabilities_per_record(self):
        b = ecgfast.synthesize(
            300,
            seed=6,
            duration=5,
            leads="II",
            rhythm={"af": 0.3},
            conduction={"lbbb": 0.2, "rbbb": 0.1},
        )
        assert 0.2 < b.labels["param_af"].mean() < 0.4
        conduction = b.labels["param_conduction"]
        assert 0.12 < (conduction == 1).mean() < 0.28 and 0.04 < (conduction == 2).mean() < 0.16
        per_record = ecgfast.synthesize(3, seed=6, duration=5, rhythm=[0.0, 1.0, 0.0])
        assert per_record.labels["param_af"].tolist() == [0.0, 1.0, 0.0]

    def test_deterministic_across_batch_splits(self):
        kw = dict(seed=7, duration=10, leads="II", ectopy={"pvc": 0.2, "pac": 0.1})
        whole = ecgfast.synthesize(6, **kw)
        parts = [ecgfast.synthesize(3, start=k, **kw) for k in (0, 3)]
        np.testing.assert_array_equal(whole.signals, np.concatenate([p.signals for p in parts]))
        pd.testing.assert_frame_equal(
            whole.beats, pd.concat([p.beats for p in parts], ignore_index=True)
        )

    def test_synthesize_to_writes_the_pathology(self, tmp_path):
        kw = dict(seed=8, duration=10, leads="II", ectopy={"pvc": 0.2}, rhythm={"af": 0.5})
        ecgfast.synthesize_to(tmp_path, 12, shard_size=5, progress=False, **kw)
        ref = ecgfast.synthesize(12, **kw)
        beats = pd.concat(
            [pd.read_parquet(f) for f in sorted(tmp_path.glob("*.beats.parquet"))],
            ignore_index=True,
        )
        pd.testing.assert_frame_equal(beats, ref.beats)

    @pytest.mark.parametrize(
        "kwargs,match",
        [
            ({"rhythm": "vf"}, "rhythm"),
            ({"rhythm": {"paced": 2.0}}, "paced"),
            ({"rhythm": {"svt": 0.2}}, "unknown rhythm"),
            ({"rhythm": 1.5}, "rhythm"),
            ({"rhythm": (0.1, 0.2)}, "probability"),
            ({"ectopy": {"pvc": 0.9}}, "pvc"),
            ({"ectopy": {"svta": 0.1}}, "unknown ectopy"),
            ({"ectopy": 0.1}, "ectopy"),
            ({"conduction": "lafb"}, "conduction"),
            ({"conduction": {"lbbb": 0.7, "rbbb": 0.7}}, "sum"),
            ({"method": "ecgsyn", "rhythm": "af"}, "sinus rhythm only"),
        ],
    )
    def test_errors(self, kwargs, match):
        with pytest.raises(InvalidParameterError, match=match):
            ecgfast.synthesize(2, **kwargs)


def test_cli_synth_population(tmp_path, capsys):
    from ecgfast import cli

    out = tmp_path / "ds"
    args = ["synth", "--n", "4", "--out", str(out), "--leads", "II", "--seed", "2"]
    assert cli.main([*args, "--population", "ludb"]) == 0
    assert "wrote 4 records" in capsys.readouterr().out
    ref = ecgfast.synthesize(4, seed=2, leads=["II"], population="ludb")
    np.testing.assert_array_equal(np.load(out / "shard-00000.signals.npy"), ref.signals)
    standard = tmp_path / "standard"
    assert (
        cli.main(["synth", "--n", "4", "--out", str(standard), "--leads", "II", "--seed", "2"]) == 0
    )
    direct = ecgfast.synthesize(4, seed=2, leads=["II"]).signals
    np.testing.assert_array_equal(np.load(standard / "shard-00000.signals.npy"), direct)
