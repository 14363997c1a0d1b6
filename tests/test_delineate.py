"""ecgfast.delineate / ecgfast.intervals / ecgfast.evaluate.delineation.

References: the synthetic generator's ground truth (fiducials and labels), LUDB's cardiologist
annotations (shared data; skipped when absent) and the shipped LUDB records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ecgfast
from ecgfast import evaluate
from ecgfast.delineation import FIDUCIALS, INTERVALS
from ecgfast.errors import EcgError, InvalidParameterError, InvalidSignalError

LUDB_LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


@pytest.fixture(scope="module")
def synth():
    return ecgfast.synthesize(40, seed=11, hr=(50, 110))


def _truth(batch, rec: int) -> pd.DataFrame:
    b = batch.beats[batch.beats["record"] == rec]
    return b[list(FIDUCIALS)].reset_index(drop=True)


def _read_ludb(path):
    import wfdb

    signal, fields = wfdb.rdsamp(str(path))
    names = [n.lower() for n in fields["sig_name"]]
    x = np.stack([signal[:, names.index(lead)] for lead in LUDB_LEADS])
    refs, spans = [], []
    for lead in LUDB_LEADS:
        ann = wfdb.rdann(str(path), lead)
        refs.append(evaluate.fiducials_from_annotation(ann.sample, ann.symbol))
        spans.append((int(ann.sample.min()), int(ann.sample.max())))
    return x, float(fields["fs"]), refs, spans


class TestDelineate:
    def test_columns_and_types(self, synth):
        table = ecgfast.delineate(synth.signals[0, 1], synth.fs)
        assert list(table.columns) == list(FIDUCIALS)
        assert all(str(t) == "Int64" for t in table.dtypes)
        assert len(table) > 5

    def test_fiducials_ordered_within_beat(self, synth):
        for rec in range(10):
            table = ecgfast.delineate(synth.signals[rec], synth.fs)
            arr = table.to_numpy(dtype="float64", na_value=np.nan)
            for row in arr:
                present = row[~np.isnan(row)]
                assert np.all(np.diff(present) >= 0), row

    @pytest.mark.parametrize("wave", ["qrs", "t", "p"])
    def test_synthetic_fiducials_match_ground_truth(self, synth, wave):
        """Per-beat fiducials (global, 12 leads) vs the generator's truth at default noise."""
        cols = {"p": ("p_on", "p_off"), "qrs": ("qrs_on", "qrs_off"), "t": ("t_off",)}[wave]
        dets, refs = [], []
        for rec in range(len(synth.signals)):
            dets.append(ecgfast.delineate(synth.signals[rec], synth.fs))
            refs.append(_truth(synth, rec))
        scores = evaluate.delineation(dets, refs, synth.fs, fiducials=cols)
        bound = {"p": 25.0, "qrs": 12.0, "t": 30.0}[wave]
        for name, row in scores.iterrows():
            assert row["se"] >= 0.95, (name, row.to_dict())
            assert row["ppv"] >= 0.95, (name, row.to_dict())
            assert row["mae_ms"] <= bound, (name, row.to_dict())

    def test_given_rpeaks_are_used(self, synth):
        x = synth.signals[2, 1]
        peaks = ecgfast.detect_rpeaks(x, synth.fs)
        a = ecgfast.delineate(x, synth.fs)
        b = ecgfast.delineate(x, synth.fs, rpeaks=peaks)
        pd.testing.assert_frame_equal(a, b)
        c = ecgfast.delineate(x, synth.fs, rpeaks=peaks[::2])
        assert len(c) == len(peaks[::2])

    def test_per_lead(self, synth):
        out = ecgfast.delineate(synth.signals[0], synth.fs, leads=synth.lead_names, per_lead=True)
        assert set(out) == {*synth.lead_names, "global"}
        assert all(len(t) == len(out["global"]) for t in out.values())
        # the global QRS onset is never later than every lead's
        g = out["global"]["qrs_on"].astype(float)
        lead_min = np.nanmin(
            np.stack([out[n]["qrs_on"].astype(float).to_numpy() for n in synth.lead_names]),
            axis=0,
        )
        ok = ~np.isnan(g.to_numpy())
        assert np.all(g.to_numpy()[ok] >= lead_min[ok])

    def test_robust_to_one_noisy_lead(self, synth):
        x = synth.signals[3].astype(np.float64).copy()
        clean = ecgfast.intervals(x, synth.fs)
        rng = np.random.default_rng(0)
        x[4] += rng.normal(0, 0.5, x.shape[1])  # one lead drowned in noise
        noisy = ecgfast.intervals(x, synth.fs)
        for k in ("qrs", "qt", "pr"):
            assert abs(noisy[k] - clean[k]) <= 12.0, (k, clean[k], noisy[k])

    def test_batch_equals_records_and_threads(self, synth):
        batch = ecgfast.delineate(synth.signals[:6], synth.fs)
        assert isinstance(batch, list) and len(batch) == 6
        for rec in range(6):
            pd.testing.assert_frame_equal(
                batch[rec], ecgfast.delineate(synth.signals[rec], synth.fs)
            )
        with ecgfast.thread_limit(1):
            one = ecgfast.delineate(synth.signals[:6], synth.fs)
        for a, b in zip(one, batch, strict=True):
            pd.testing.assert_frame_equal(a, b)

    def test_input_untouched_noncontiguous_and_dtypes(self, synth):
        x = synth.signals[0, 1].astype(np.float64)
        before = x.copy()
        ref = ecgfast.delineate(x, synth.fs)
        np.testing.assert_array_equal(x, before)
        wide = np.zeros((2, x.size))
        wide[0] = x
        pd.testing.assert_frame_equal(ecgfast.delineate(wide[0], synth.fs), ref)
        doubled = np.repeat(x, 2)[::2]
        pd.testing.assert_frame_equal(ecgfast.delineate(doubled, synth.fs), ref)
        f32 = ecgfast.delineate(x.astype(np.float32), synth.fs)
        assert len(f32) == len(ref)

    def test_short_and_flat_signals(self):
        assert len(ecgfast.delineate(np.zeros(100), 500.0)) == 0
        assert len(ecgfast.delineate(np.zeros(5000), 500.0)) == 0
        iv = ecgfast.intervals(np.zeros(5000), 500.0)
        assert iv["n_beats"] == 0 and pd.isna(iv["hr"])

    @pytest.mark.parametrize(
        ("x", "fs", "exc"),
        [
            (np.array([]), 500.0, InvalidSignalError),
            (np.full(5000, np.nan), 500.0, InvalidSignalError),
            (np.zeros((1, 1, 1, 5000)), 500.0, InvalidSignalError),
            (np.zeros(5000), 0.0, InvalidParameterError),
            (np.zeros(5000), -5.0, InvalidParameterError),
            (np.zeros(5000), 20.0, InvalidParameterError),
            (np.zeros(5000), 1e9, InvalidParameterError),
            (np.zeros(5000, dtype=complex), 500.0, EcgError),
        ],
    )
    def test_bad_input(self, x, fs, exc):
        with pytest.raises(exc):
            ecgfast.delineate(x, fs)
        with pytest.raises(exc):
            ecgfast.intervals(x, fs)

    def test_inf_in_one_lead_is_reported(self, synth):
        x = synth.signals[0].astype(np.float64).copy()
        x[3, 100] = np.inf
        with pytest.raises(InvalidSignalError, match="lead 3"):
            ecgfast.delineate(x, synth.fs)

    @pytest.mark.parametrize(
        "rpeaks", [[300, 200], [-1, 100], [100, 10**7], [1.5, 2.5], [[1, 2]], ["a"]]
    )
    def test_bad_rpeaks(self, synth, rpeaks):
        with pytest.raises(InvalidParameterError):
            ecgfast.delineate(synth.signals[0, 1], synth.fs, rpeaks=rpeaks)

    def test_bad_options(self, synth):
        with pytest.raises(InvalidParameterError):
            ecgfast.delineate(synth.signals[0], synth.fs, leads=["a", "b"], per_lead=True)
        with pytest.raises(InvalidParameterError):
            ecgfast.delineate(synth.signals[:2], synth.fs, rpeaks=[100])
        with pytest.raises(InvalidParameterError):
            ecgfast.delineate(synth.signals[:2], synth.fs, per_lead=True)


class TestIntervals:
    def test_series_and_frame(self, synth):
        one = ecgfast.intervals(synth.signals[0], synth.fs)
        assert isinstance(one, pd.Series) and list(one.index) == list(INTERVALS)
        many = ecgfast.intervals(synth.signals[:3], synth.fs)
        assert isinstance(many, pd.DataFrame) and many.shape == (3, len(INTERVALS))
        np.testing.assert_allclose(
            many.iloc[0].to_numpy(dtype=float), one.to_numpy(dtype=float), equal_nan=True
        )
        lead = ecgfast.intervals(synth.signals[0, 1], synth.fs)
        assert isinstance(lead, pd.Series)

    def test_synthetic_intervals_match_labels(self, synth):
        """The product's labels mean the same on synthetic and measured ECG."""
        iv = ecgfast.intervals(synth.signals, synth.fs)
        lab = synth.labels
        bounds = {"hr": 1.0, "pr": 12.0, "qrs": 10.0, "qt": 15.0, "qtc_bazett": 18.0}
        for k, bound in bounds.items():
            err = (iv[k].astype(float) - lab[k].to_numpy()).abs()
            assert err.notna().mean() >= 0.95, k
            assert err.mean() <= bound, (k, err.mean())

    def test_qtc_formulas(self, synth):
        iv = ecgfast.intervals(synth.signals[:5], synth.fs).astype(float)
        rr = 60.0 / iv["hr"]
        np.testing.assert_allclose(iv["qtc_bazett"], iv["qt"] / np.sqrt(rr), rtol=1e-9)
        np.testing.assert_allclose(iv["qtc_fridericia"], iv["qt"] / np.cbrt(rr), rtol=1e-9)

    def test_hr_tracks_rate(self):
        for hr in (45, 75, 130):
            b = ecgfast.synthesize(3, hr=hr, hrv=5, seed=hr)
            iv = ecgfast.intervals(b.signals, b.fs)
            np.testing.assert_allclose(iv["hr"].astype(float), b.labels["hr"], atol=1.5)


class TestEvaluateDelineation:
    def test_perfect_and_shifted(self):
        ref = pd.DataFrame({"qrs_on": [100, 600, 1100], "t_off": [400, 900, pd.NA]}).astype("Int64")
        det = ref.copy()
        s = evaluate.delineation(det, ref, 500.0, fiducials=["qrs_on", "t_off"])
        assert (s["f1"] == 1.0).all() and (s["mae_ms"] == 0).all()
        det["qrs_on"] = det["qrs_on"] + 5
        s = evaluate.delineation(det, ref, 500.0, fiducials=["qrs_on"])
        assert s.loc["qrs_on", "mean_ms"] == pytest.approx(10.0)
        assert s.loc["qrs_on", "sd_ms"] == pytest.approx(0.0)

    def test_one_to_one_and_tolerance(self):
        ref = pd.DataFrame({"qrs_on": [100, 600]})
        det = pd.DataFrame({"qrs_on": [101, 102, 1000]})
        s = evaluate.delineation(det, ref, 500.0, fiducials=["qrs_on"]).loc["qrs_on"]
        assert (s["tp"], s["fp"], s["fn"]) == (1, 2, 1)

    def test_span_excludes_unjudged_detections(self):
        ref = pd.DataFrame({"t_off": [400, 900]})
        det = pd.DataFrame({"t_off": [20, 402, 899, 1500]})
        s = evaluate.delineation(det, ref, 500.0, span=(300, 1000), fiducials=["t_off"])
        assert (s.loc["t_off", "fp"], s.loc["t_off", "tp"]) == (0, 2)

    def test_pooled(self):
        a = pd.DataFrame({"qrs_on": [100]})
        s = evaluate.delineation([a, a], [a, a], 500.0, fiducials=["qrs_on"])
        assert s.loc["qrs_on", "tp"] == 2

    def test_errors(self):
        a = pd.DataFrame({"qrs_on": [100]})
        with pytest.raises(InvalidParameterError):
            evaluate.delineation([a], a, 500.0)
        with pytest.raises(InvalidParameterError):
            evaluate.delineation([a, a], [a], 500.0)
        with pytest.raises(InvalidParameterError):
            evaluate.delineation(a, a, 500.0, fiducials=["st_segment"])
        with pytest.raises(InvalidParameterError):
            evaluate.delineation(a, a, -1.0)

    def test_annotation_parser(self):
        samples = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]
        symbols = ["(", "p", ")", "(", "N", ")", "(", "t", ")", "(", "N", ")"]
        t = evaluate.fiducials_from_annotation(samples, symbols)
        assert len(t) == 2
        assert t.loc[0, "p_on"] == 10 and t.loc[0, "t_off"] == 90 and t.loc[0, "r_peak"] == 50
        assert pd.isna(t.loc[1, "p_on"]) and t.loc[1, "qrs_off"] == 120
        with pytest.raises(InvalidParameterError):
            evaluate.fiducials_from_annotation([1, 2], ["N"])

    def test_u_waves_and_non_beat_marks_are_not_qrs(self):
        # QTDB marks U waves with "u"; they used to become QRS complexes
        samples = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130]
        symbols = ["(", "N", ")", "(", "t", ")", "(", "u", ")", "x", "(", "V", ")"]
        t = evaluate.fiducials_from_annotation(samples, symbols)
        assert list(t["r_peak"]) == [20, 120] and t.loc[0, "t_peak"] == 50


@pytest.fixture(scope="module")
def ludb_scores(shared_data):
    root = shared_data / "ludb" / "data"
    if not root.is_dir():
        pytest.skip("LUDB not in the shared data")
    dets, refs, spans, af_p = [], [], [], []
    af = {8, 35, 38, 44, 51, 52, 83, 88, 93, 95, 96}  # atrial fibrillation / flutter
    for rec in range(1, 101):
        x, fs, rr, sp = _read_ludb(root / str(rec))
        for li in range(len(LUDB_LEADS)):  # each lead on its own, as the benchmark does
            dets.append(ecgfast.delineate(x[li], fs))
            refs.append(rr[li])
            spans.append(sp[li])
        if rec in af:
            g = ecgfast.delineate(x, fs)
            af_p.append(g["p_on"].notna().mean())
    return evaluate.delineation(dets, refs, fs, span=spans), np.array(af_p)


class TestLUDB:
    """Accuracy on LUDB records 1-100 (shared data). The bounds sit just below what this
    version measures (see BENCHMARKS.md) and well past NeuroKit2's figures in the same table."""

    def test_qrs(self, ludb_scores):
        s, _ = ludb_scores
        for f in ("qrs_on", "qrs_off"):
            assert s.loc[f, "f1"] >= 0.98 and s.loc[f, "sd_ms"] <= 25 and s.loc[f, "mae_ms"] <= 16

    def test_t_wave(self, ludb_scores):
        s, _ = ludb_scores
        assert s.loc["t_peak", "f1"] >= 0.93 and s.loc["t_peak", "mae_ms"] <= 14
        assert s.loc["t_off", "f1"] >= 0.93 and s.loc["t_off", "mae_ms"] <= 25

    def test_p_wave(self, ludb_scores):
        s, _ = ludb_scores
        for f in ("p_on", "p_peak", "p_off"):
            assert s.loc[f, "f1"] >= 0.89 and s.loc[f, "mae_ms"] <= 20, f

    def test_no_p_waves_invented_in_atrial_fibrillation(self, ludb_scores):
        _, af_p = ludb_scores
        assert np.mean(af_p) <= 0.15, af_p


class TestShippedLUDB:
    """The two LUDB records shipped with ecgfast: runs on any machine."""

    def test_sinus_record_against_cardiologists(self):
        from ecgfast._data import SHIPPED_LUDB

        x, fs, refs, spans = _read_ludb(SHIPPED_LUDB / "1")
        dets = [ecgfast.delineate(x[li], fs) for li in range(12)]
        s = evaluate.delineation(dets, refs, fs, span=spans)
        assert (s["f1"] >= 0.9).all(), s
        assert s.loc[["qrs_on", "qrs_off", "r_peak", "t_peak"], "mae_ms"].max() <= 16, s
        assert s.loc[["p_on", "p_off", "t_off"], "mae_ms"].max() <= 30, s

    def test_atrial_fibrillation_has_no_p_waves(self):
        from ecgfast._data import SHIPPED_LUDB

        x, fs, refs, _ = _read_ludb(SHIPPED_LUDB / "38")
        assert all(r["p_on"].isna().all() for r in refs)  # the cardiologists marked none
        table = ecgfast.delineate(x, fs)
        assert table["p_on"].notna().mean() <= 0.1
        assert pd.isna(ecgfast.intervals(x, fs)["pr"])


class TestPlot:
    def test_draws_record_with_reference(self, tmp_path, synth):
        pytest.importorskip("matplotlib")
        from ecgfast import plot

        x = synth.signals[0, :3]
        ref = [_truth(synth, 0)] * 3
        path = tmp_path / "d.png"
        fig = plot.delineation(x, synth.fs, reference=ref, lead_names=["I", "II", "III"], path=path)
        assert path.stat().st_size > 10_000
        assert len(fig.axes) == 3
        # a single lead with its own delineation
        fig = plot.delineation(synth.signals[0, 1], synth.fs, seconds=3)
        assert len(fig.axes) == 1

    def test_bad_arguments(self, synth):
        pytest.importorskip("matplotlib")
        from ecgfast import plot

        with pytest.raises(InvalidParameterError):
            plot.delineation(synth.signals[0, :2], synth.fs, lead_names=["I"])
        with pytest.raises(InvalidParameterError):
            plot.delineation(synth.signals[:2], synth.fs)
        with pytest.raises(InvalidParameterError):
            plot.delineation(synth.signals[0, 1], synth.fs, seconds=-1)
