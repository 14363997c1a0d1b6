"""The beat table (ecgfast.beat_table), the beat arrays (ecgfast.beatdata), the AAMI figures
(ecgfast.evaluate.beat_classification) and the beat-classification protocol."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import wfdb

import ecgfast
from ecgfast._data import SHIPPED_LUDB, SHIPPED_MITDB
from ecgfast.beatdata import AAMI_MAP, BEAT_FEATURES, read_beats, window_bounds
from ecgfast.beats import AMPLITUDES, FEATURES, feature_columns
from ecgfast.errors import InvalidParameterError, InvalidSignalError
from ecgfast.evaluate import RHYTHM_GATE, beat_classification


@pytest.fixture(scope="module")
def record():
    b = ecgfast.synthesize(1, leads=["II", "V1"], duration=30, seed=3, hr=(60, 90))
    return b


class TestBeatTable:
    def test_columns_and_rhythm_against_the_positions(self, record):
        x, fs = record.signals[0], record.fs
        truth = record.beats["r_peak"].to_numpy(dtype=np.int64)
        t = ecgfast.beat_table(x, fs, rpeaks=truth, leads=["II", "V1"])
        assert list(t.columns) == [
            "sample",
            *ecgfast.delineation.FIDUCIALS,
            *feature_columns(["II", "V1"]),
        ]
        assert (t["sample"].to_numpy() == truth).all()
        rr = np.diff(truth) * 1000 / fs
        np.testing.assert_allclose(t["pre_rr"].to_numpy()[1:], rr)
        np.testing.assert_allclose(t["post_rr"].to_numpy()[:-1], rr)
        assert t["record_rr"].iloc[0] == pytest.approx(np.median(rr))
        # local RR: mean of up to the last 10 intervals, this beat's included
        k = 15
        assert t["local_rr"].iloc[k] == pytest.approx(rr[k - 10 : k].mean())
        assert t["local_rr"].iloc[3] == pytest.approx(rr[:3].mean())
        np.testing.assert_allclose(t["pre_post_rr"], t["pre_rr"] / t["post_rr"])
        np.testing.assert_allclose(t["pre_rr_record"], t["pre_rr"] / t["record_rr"])
        # the measured QRS width is close to the generator's
        assert np.nanmedian(t["qrs"]) == pytest.approx(record.labels["qrs"].iloc[0], abs=20)

    def test_amplitudes_are_read_off_the_signal(self, record):
        x, fs = record.signals[0].astype(np.float64), record.fs
        t = ecgfast.beat_table(x, fs, leads=["II", "V1"])
        ok = t["qrs_on"].notna() & t["r_peak"].notna()
        on = t.loc[ok, "qrs_on"].to_numpy(dtype=np.int64)
        r = t.loc[ok, "r_peak"].to_numpy(dtype=np.int64)
        np.testing.assert_allclose(t.loc[ok, "r_amplitude_V1"], x[1, r] - x[1, on])
        off = t.loc[ok, "qrs_off"].to_numpy(dtype=np.int64)
        pp = [np.ptp(x[0, a : b + 1]) for a, b in zip(on, off, strict=True)]
        np.testing.assert_allclose(t.loc[ok, "qrs_peak_to_peak_II"], pp)

    def test_premature_beat_has_short_ratio(self):
        # a regular train with one beat 35 % early: its pre_rr_local and pre_post_rr drop
        b = ecgfast.synthesize(1, leads="II", duration=20, seed=1, hr=60, hrv=0)
        r = b.beats["r_peak"].to_numpy(dtype=np.int64)
        moved = r.copy()
        moved[8] = r[8] - int(0.35 * (r[8] - r[7]))
        t = ecgfast.beat_table(b.signals[0], b.fs, rpeaks=moved)
        assert t["pre_rr_local"].iloc[8] < 0.75 < t["pre_rr_local"].drop(8).min()
        assert t["pre_post_rr"].iloc[8] < 0.6
        # against the centred median RR the beat is premature; its neighbourhood stays regular
        assert t["pre_rr_centred"].iloc[8] == pytest.approx(0.65, abs=0.02)
        assert t["rr_irregularity"].max() < 0.05

    def test_irregularity_tells_atrial_fibrillation_from_sinus(self):
        # shipped LUDB 1 (sinus rhythm) and 38 (atrial fibrillation), lead II
        irregularity = {}
        for name in ("1", "38"):
            rec = wfdb.rdrecord(str(SHIPPED_LUDB / name))
            t = ecgfast.beat_table(rec.p_signal[:, 1], rec.fs)
            irregularity[name] = float(np.nanmedian(t["rr_irregularity"]))
            centred = t["centred_rr"].to_numpy()
            assert np.all(np.isfinite(centred)) and np.all(centred > 300)
        assert irregularity["1"] < 0.05 < 0.1 < irregularity["38"]

    def test_batch_equals_records_and_synth_parity(self, record):
        b = ecgfast.synthesize(3, leads="II", duration=12, seed=5)
        batch = ecgfast.beat_table(b.signals, b.fs, leads=["II"])
        assert list(batch.columns[:2]) == ["record", "sample"]
        for k in range(3):
            one = ecgfast.beat_table(b.signals[k], b.fs, leads=["II"])
            part = batch[batch["record"] == k].drop(columns="record").reset_index(drop=True)
            pd.testing.assert_frame_equal(part, one.reset_index(drop=True), check_names=False)
        # synthetic and real beats carry the same feature columns
        assert set(feature_columns(["II"])) <= set(b.beats.columns)

    def test_schema(self):
        assert FEATURES[:4] == ("pre_rr", "post_rr", "local_rr", "record_rr")
        assert AMPLITUDES == ("r_amplitude", "qrs_peak_to_peak", "t_amplitude")
        assert ecgfast.delineation.INTERVALS[0] == "hr"

    def test_short_and_empty(self):
        t = ecgfast.beat_table(np.zeros(100), 250.0)
        assert len(t) == 0 and "pre_rr" in t.columns
        with pytest.raises(InvalidSignalError):
            ecgfast.beat_table(np.array([]), 250.0)

    @pytest.mark.parametrize(
        "x, fs, kwargs, exc",
        [
            (np.full(5000, np.nan), 250.0, {}, InvalidSignalError),
            (np.zeros(5000), 0.0, {}, InvalidParameterError),
            (np.zeros(5000), 20.0, {}, InvalidParameterError),
            (np.zeros(5000), 250.0, {"rpeaks": [10, 5]}, InvalidParameterError),
            (np.zeros(5000), 250.0, {"rpeaks": [1.5]}, InvalidParameterError),
            (np.zeros((2, 5000)), 250.0, {"leads": ["a"]}, InvalidParameterError),
            (np.zeros((2, 2, 5000)), 250.0, {"rpeaks": [10]}, InvalidParameterError),
        ],
    )
    def test_bad_input(self, x, fs, kwargs, exc):
        with pytest.raises(exc):
            ecgfast.beat_table(x, fs, **kwargs)

    def test_input_not_modified_and_non_contiguous(self, record):
        x = np.asfortranarray(record.signals[0].astype(np.float64))
        before = x.copy()
        a = ecgfast.beat_table(x, record.fs)
        b = ecgfast.beat_table(np.ascontiguousarray(x), record.fs)
        pd.testing.assert_frame_equal(a, b)
        assert np.array_equal(x, before)


class TestReadBeats:
    def test_features_labels_and_detected_beats(self):
        bs = read_beats(SHIPPED_MITDB, ["119", "208"], classes=("N", "S", "V", "F"))
        assert bs.x.shape[1:] == (1, sum(window_bounds((0.25, 0.45), 360.0)))
        assert bs.features.shape == (len(bs.labels), len(BEAT_FEATURES))
        assert np.all(np.isfinite(bs.features))
        # V beats of 119 (bigeminy) are premature: a lower pre_rr_local than the N beats
        col = BEAT_FEATURES.index("pre_rr_local")
        v, n = bs.labels == 2, bs.labels == 0
        assert np.median(bs.features[v, col]) < 0.85 < np.median(bs.features[n, col])
        # record normalisation: the median QRS peak-to-peak of a record's beats is ~1
        assert 0.5 < np.median(np.ptp(bs.x[n, 0, 60:120], axis=-1)) < 1.6
        assert set(bs.meta["symbol"].map(AAMI_MAP)) <= {"N", "S", "V", "F"}
        det = read_beats(SHIPPED_MITDB, ["119"], beats="detected")
        row = det.detection.loc["119"]
        assert row["matched"] >= 0.99 * row["annotated"]
        assert (det.meta["annotated_sample"] >= 0).all()
        assert np.all(np.abs(det.meta["sample"] - det.meta["annotated_sample"]) <= 0.15 * 360)
        # with a second lead the detections are confirmed across leads: nothing real is lost
        two = read_beats(SHIPPED_MITDB, ["119", "208"], beats="detected", leads=("MLII", "V"))
        one = read_beats(SHIPPED_MITDB, ["119", "208"], beats="detected")
        assert (two.detection["matched"] == one.detection["matched"]).all()
        assert (two.detection["extra"] <= one.detection["extra"]).all()

    def test_template_and_two_leads(self):
        bs = read_beats(SHIPPED_MITDB, ["119"], leads=("MLII", "V"), template=True)
        assert bs.x.shape[1] == 4
        np.testing.assert_allclose(
            bs.x[:, 2], bs.x[:, 0] - np.median(bs.x[:, 0], axis=0), atol=1e-5
        )

    def test_dominant_template_follows_a_change_of_morphology(self):
        from ecgfast.beatdata import DOMINANT_SPAN, _dominant_beats

        fs, n = 100.0, 600
        pos = np.arange(n) * 80 + 100  # 0.8 s RR: 8 minutes
        t = np.linspace(-1, 1, 40)
        qrs = np.exp(-(t**2) / 0.01)
        wide = -0.8 * np.exp(-(t**2) / 0.08)
        flip = pos > pos[n // 2]  # the dominant beat inverts half-way (e.g. a new electrode)
        pvc = np.zeros(n, dtype=bool)
        pvc[100:160:2] = True  # a minute of bigeminy: premature wide beats
        pre = np.where(pvc, 0.6, 1.0)
        pre[np.flatnonzero(pvc) + 1] = 1.4  # the compensatory pause
        rng = np.random.default_rng(0)
        windows = np.where(flip[:, None], -qrs, qrs)[:, None, :].repeat(2, axis=1)
        windows[pvc] = wide
        windows = windows + rng.normal(0, 0.02, windows.shape)
        ref = _dominant_beats(windows, pos, pre, fs)
        assert ref.shape == windows.shape
        far = np.abs(pos - pos[n // 2]) > (DOMINANT_SPAN + 30) * fs  # away from the change
        normal = ~pvc & far
        # the usual beats match their own dominant beat, on both sides of the change ...
        assert np.abs(windows[normal] - ref[normal]).max() < 0.15
        # ... which the record's one median beat cannot do for one of the halves
        record = np.median(windows, axis=0)
        assert (np.abs(windows[normal] - record).max(axis=(1, 2)) > 0.5).mean() > 0.4
        # the premature beats of bigeminy stay out of the dominant beat and differ from it
        assert np.abs(windows[pvc] - ref[pvc]).max(axis=(1, 2)).min() > 0.5
        # no premature beats in a span: every beat of it; too few beats: the record's median
        ref_all = _dominant_beats(windows[:5], pos[:5], np.full(5, 0.5), fs)
        np.testing.assert_allclose(ref_all, np.median(windows[:5], axis=0)[None].repeat(5, 0))

    def test_dominant_template_channel_and_features(self):
        from ecgfast.beatdata import TEMPLATE_FEATURES

        names = (*BEAT_FEATURES, *TEMPLATE_FEATURES)
        rec = read_beats(SHIPPED_MITDB, ["119"], template=True, features=names)
        dom = read_beats(SHIPPED_MITDB, ["119"], template="dominant", features=names)
        same = read_beats(SHIPPED_MITDB, ["119"], template="record", features=names)
        np.testing.assert_array_equal(same.x, rec.x)
        assert dom.x.shape == rec.x.shape
        np.testing.assert_array_equal(dom.x[:, 0], rec.x[:, 0])  # the beats themselves
        assert not np.allclose(dom.x[:, 1], rec.x[:, 1])  # a reference per minute
        v = dom.labels == dom.classes.index("V")
        n = dom.labels == dom.classes.index("N")
        corr = dom.features[:, names.index("template_correlation")]
        # 119's PVCs (bigeminy) still differ from the dominant beat, its N beats do not
        assert np.median(corr[v]) < 0.8 < 0.95 < np.median(corr[n])
        with pytest.raises(InvalidParameterError, match="template must be"):
            read_beats(SHIPPED_MITDB, ["119"], template="median")

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"features": ["nope"]},
            {"beats": "guess"},
            {"window": (-1, 0.4)},
            {"window": "long"},
            {"classes": ("X",)},
            {"normalize": "zscore"},
            {"records": ["119"], "exclude": ["119"]},
        ],
    )
    def test_bad_arguments(self, kwargs):
        kwargs = {"records": ["119"], **kwargs}
        with pytest.raises(InvalidParameterError):
            read_beats(SHIPPED_MITDB, **kwargs)

    def test_missing_lead_is_reported(self):
        with pytest.warns(UserWarning, match="no lead"):
            with pytest.raises(InvalidParameterError, match="no usable beats"):
                read_beats(SHIPPED_MITDB, ["119"], leads=("aVR",))


class TestBeatClassification:
    def test_against_a_hand_count(self):
        # N N N S S V F F, predicted N S N S N V V F
        y = [0, 0, 0, 1, 1, 2, 3, 3]
        p = [0, 1, 0, 1, 0, 2, 2, 3]
        m = beat_classification(y, p)
        s = m["per_class"]["S"]
        assert s["se"] == pytest.approx(0.5) and s["ppv"] == pytest.approx(0.5)
        assert m["per_class"]["V"]["ppv"] == pytest.approx(0.5)
        assert m["per_class"]["N"]["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
        f1 = [m["per_class"][c]["f1"] for c in "NSVF"]
        assert m["macro_f1"] == pytest.approx(np.mean(f1))
        assert m["j"] == pytest.approx(0.5 + 0.5 + 1.0 + 0.5)
        cm = np.asarray(m["confusion"])
        po = np.trace(cm) / cm.sum()
        pe = (cm.sum(0) * cm.sum(1)).sum() / cm.sum() ** 2
        assert m["kappa"] == pytest.approx((po - pe) / (1 - pe))
        assert m["jkappa"] == pytest.approx(m["kappa"] / 2 + m["j"] / 8)

    def test_q_apart_and_scores(self):
        y = [0, 1, 4, 4]
        prob = np.eye(5)[[0, 1, 0, 4]]
        m = beat_classification(y, prob, ("N", "S", "V", "F", "Q"))
        assert m["per_class"]["Q"]["se"] == 0.5
        # only N and S are present among the scored classes
        assert m["macro_f1"] == pytest.approx(
            np.mean([m["per_class"]["N"]["f1"], m["per_class"]["S"]["f1"]])
        )
        assert np.isnan(m["per_class"]["V"]["se"])

    def test_bad_input(self):
        with pytest.raises(InvalidParameterError):
            beat_classification([0, 1], [0])
        with pytest.raises(InvalidParameterError):
            beat_classification([0, 7], [0, 1])
        with pytest.raises(InvalidParameterError):
            beat_classification([0, 1], np.zeros((2, 3)))


class TestSyntheticBeats:
    def test_classes_features_and_pipeline(self):
        from ecgfast.beatdata import synthetic_beats

        bs = synthetic_beats(12, seed=1, duration=30, template=True)
        assert bs.x.shape[1:] == (2, 252) and bs.fs == 360.0
        counts = np.bincount(bs.labels, minlength=4)
        assert counts[0] > 0 and counts[1] + counts[2] > 0  # the mix has ectopic beats
        # classes follow the generator's symbols
        cls = bs.meta["symbol"].map(AAMI_MAP).to_numpy()
        assert (np.array(["N", "S", "V", "F"])[bs.labels] == cls).all()
        # premature beats look premature to the beat table
        col = BEAT_FEATURES.index("pre_rr_centred")
        ectopic = np.isin(bs.labels, [1, 2])
        assert np.median(bs.features[ectopic, col]) < 0.85 < np.median(bs.features[~ectopic, col])
        # records are patients, and a record depends only on (seed, index)
        assert bs.meta["record"].str.startswith("syn").all()
        again = synthetic_beats(4, seed=1, start=8, duration=30, template=True)
        mine = bs.meta["record"].isin(again.meta["record"].unique()).to_numpy()
        np.testing.assert_array_equal(bs.x[mine], again.x)

    def test_p_wave_features(self):
        from ecgfast.beatdata import P_WAVE_FEATURES, synthetic_beats

        names = (*BEAT_FEATURES, *P_WAVE_FEATURES)
        kw = dict(seed=3, duration=30, features=names, ectopy={"pac": 0.0, "pvc": 0.0})
        sinus = synthetic_beats(6, rhythm="sinus", **kw)
        af = synthetic_beats(6, rhythm="af", **kw)
        col = {n: names.index(n) for n in P_WAVE_FEATURES}
        for bs in (sinus, af):
            present = bs.features[:, col["p_present"]]
            assert set(np.unique(present)) <= {0.0, 1.0}
            # no P wave: no PR deviation; the local fraction lies in [0, 1]
            assert (bs.features[present == 0, col["pr_deviation"]] == 0).all()
            local = bs.features[:, col["p_local"]]
            assert ((local >= 0) & (local <= 1)).all()
        # sinus beats have P waves at a steady PR; fibrillation has none
        assert sinus.features[:, col["p_local"]].mean() > 0.8
        assert af.features[:, col["p_local"]].mean() < 0.2
        dev = sinus.features[sinus.features[:, col["p_present"]] == 1, col["pr_deviation"]]
        assert np.median(np.abs(dev)) < 0.01
        with pytest.raises(InvalidParameterError, match="unknown features"):
            synthetic_beats(2, features=("p_wave",))

    def test_template_features(self):
        from ecgfast.beatdata import TEMPLATE_FEATURES, synthetic_beats

        names = (*BEAT_FEATURES, *TEMPLATE_FEATURES)
        kw = dict(seed=5, duration=60, features=names, rhythm="sinus", conduction={})
        bs = synthetic_beats(6, ectopy={"pac": 0.0, "pvc": 0.15, "fusion": 0.0}, **kw)
        col = {n: names.index(n) for n in TEMPLATE_FEATURES}
        v = bs.labels == bs.classes.index("V")
        n = bs.labels == bs.classes.index("N")
        assert v.sum() >= 10 and n.sum() >= 100
        f = bs.features
        # a ventricular beat differs from the patient's usual beat; the usual beat does not
        assert np.median(f[v, col["template_correlation"]]) < 0.8
        assert np.median(f[n, col["template_correlation"]]) > 0.95
        for name in ("template_qrs_peak", "template_qrs_rms", "template_rms"):
            assert np.median(f[v, col[name]]) > 3 * np.median(f[n, col[name]]), name
        assert np.median(f[v, col["qrs_record"]]) > 1.2
        assert abs(np.median(f[n, col["qrs_record"]]) - 1.0) < 0.05
        assert np.isfinite(f).all()
        # the same beats, one record at a time, give the same features (per record)
        one = synthetic_beats(1, start=2, **kw, ectopy={"pac": 0.0, "pvc": 0.15, "fusion": 0.0})
        mine = (bs.meta["record"] == "syn2").to_numpy()
        np.testing.assert_allclose(bs.features[mine], one.features, rtol=1e-6)
        # the scale of the record does not matter (normalised by the median beat)
        raw = synthetic_beats(
            1, start=2, normalize=None, **kw, ectopy={"pac": 0.0, "pvc": 0.15, "fusion": 0.0}
        )
        i = [names.index(c) for c in TEMPLATE_FEATURES]
        np.testing.assert_allclose(raw.features[:, i], one.features[:, i], rtol=1e-4, atol=1e-5)

    def test_neighbour_features(self):
        from ecgfast.beatdata import NEIGHBOUR_FEATURES, _neighbour_features, synthetic_beats

        # bigeminy by hand: two QRS shapes in turn; each beat unlike its neighbours and like
        # the beats two away; no neighbour at the ends -> 1
        fs, n = 250.0, 20
        t = np.arange(-25, 26) / fs
        shapes = [
            np.exp(-0.5 * (t / 0.01) ** 2),
            -np.sin(2 * np.pi * t / 0.1) * (np.abs(t) < 0.05),
        ]
        x = np.zeros(round(fs * (n + 1)))
        pos = np.round(fs * (0.5 + np.arange(n))).astype(np.int64)
        for i, p in enumerate(pos):
            x[p - 25 : p + 26] += shapes[i % 2]
        f = _neighbour_features(x, pos, fs)
        assert set(f) == set(NEIGHBOUR_FEATURES)
        assert f["neighbour_correlation_prev"][0] == 1.0
        assert f["neighbour_correlation_next"][-1] == 1.0
        assert f["neighbour_correlation_prev2"][1] == 1.0
        assert f["neighbour_correlation_next2"][-2] == 1.0
        assert np.all(np.abs(f["neighbour_correlation_prev"][1:]) < 0.3)
        np.testing.assert_allclose(f["neighbour_correlation_prev2"][2:], 1.0)
        np.testing.assert_allclose(f["neighbour_correlation_next2"][:-2], 1.0)
        # synthetic PVCs: unlike the beats around them; sinus beats like theirs
        names = (*BEAT_FEATURES, *NEIGHBOUR_FEATURES)
        kw = dict(seed=5, duration=60, features=names, rhythm="sinus", conduction={})
        bs = synthetic_beats(6, ectopy={"pac": 0.0, "pvc": 0.1, "fusion": 0.0}, **kw)
        v = bs.labels == bs.classes.index("V")
        n_beats = bs.labels == bs.classes.index("N")
        prev = bs.features[:, names.index("neighbour_correlation_prev")]
        nxt = bs.features[:, names.index("neighbour_correlation_next")]
        assert v.sum() >= 10
        assert np.median(np.minimum(prev, nxt)[v]) < 0.8
        assert np.median(np.minimum(prev, nxt)[n_beats]) > 0.95

    def test_p_wave_features_of_a_beat_table(self):
        from ecgfast.beatdata import P_WAVE_FEATURES, p_wave_features

        b = ecgfast.synthesize(1, leads="II", duration=30, seed=4)
        table = ecgfast.beat_table(b.signals[0, 0], b.fs)
        out = p_wave_features(table)
        assert list(out.columns) == list(P_WAVE_FEATURES) and out.index.equals(table.index)
        present = table["p_peak"].notna().to_numpy(dtype=float)
        np.testing.assert_array_equal(out["p_present"], present)
        around = pd.Series(present).rolling(11, center=True, min_periods=1).mean()
        np.testing.assert_allclose(out["p_local"], around)
        assert out["p_local"].mean() > 0.8  # sinus rhythm: P waves almost everywhere

    def test_bad_arguments(self):
        from ecgfast.beatdata import synthetic_beats

        with pytest.raises(InvalidParameterError):
            synthetic_beats(0)
        with pytest.raises(InvalidParameterError):
            synthetic_beats(2, window=(0.25, -1))
        with pytest.raises(InvalidParameterError):
            synthetic_beats(2, ectopy={"pvc": 2.0})


class TestDecisionOffsets:
    def test_offsets_recover_a_shifted_class(self):
        from ecgfast.evaluate import decision_offsets

        rng = np.random.default_rng(0)
        y = rng.integers(0, 4, 3000)
        logits = rng.normal(size=(3000, 4))
        logits[np.arange(3000), y] += 2.0
        logits[:, 0] += 3.0  # a model biased to N
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        before = beat_classification(y, p)["macro_f1"]
        b = decision_offsets(y, p)
        after = beat_classification(y, np.log(p) + b)["macro_f1"]
        assert b[0] == 0 and np.all(b[1:] > 1.5) and after > before + 0.2
        # without the bias, offsets stay near 0
        logits[:, 0] -= 3.0
        q = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        assert np.all(np.abs(decision_offsets(y, q)) <= 0.5)

    def test_bad_input(self):
        from ecgfast.evaluate import decision_offsets

        with pytest.raises(InvalidParameterError):
            decision_offsets([0, 1], np.ones((3, 4)) / 4)
        with pytest.raises(InvalidParameterError):
            decision_offsets([], np.ones((0, 4)))


class TestRhythmGate:
    def test_s_is_ruled_out_only_inside_an_irregular_rhythm(self):
        from ecgfast.evaluate import rhythm_gate

        rng = np.random.default_rng(0)
        p = rng.dirichlet(np.ones(4), size=200)
        irr = rng.uniform(0, 0.3, size=200)
        irr[:5] = np.nan
        before = p.copy()
        g = rhythm_gate(p, irr, threshold=0.1)
        np.testing.assert_array_equal(p, before)  # the input is not modified
        inside = irr > 0.1
        assert np.all(g[inside, 1] == 0)
        np.testing.assert_allclose(g.sum(axis=1), 1.0)
        np.testing.assert_array_equal(g[~inside], p[~inside])  # NaN and regular beats untouched
        # a conducted beat in AF is N: S's probability goes to N, V and F keep theirs
        np.testing.assert_array_equal(g[inside][:, [2, 3]], p[inside][:, [2, 3]])
        np.testing.assert_allclose(g[inside, 0], p[inside, 0] + p[inside, 1])
        np.testing.assert_allclose(rhythm_gate([[0, 1, 0, 0]], [0.5], to="F"), [[0, 0, 0, 1]])
        # P waves around the beat: not AF, whatever the rhythm (NaN does not veto)
        p_local = rng.uniform(0, 1, size=200)
        p_local[5:10] = np.nan
        h = rhythm_gate(p, irr, p_local)
        af = inside & ~(p_local > 0.5)
        from ecgfast.evaluate import in_atrial_fibrillation

        np.testing.assert_array_equal(in_atrial_fibrillation(irr, p_local), af)
        np.testing.assert_array_equal(in_atrial_fibrillation(irr), inside)
        assert np.all(h[af, 1] == 0) and af[5:10].sum() == inside[5:10].sum()
        np.testing.assert_array_equal(h[~af], p[~af])

    def test_real_af_beats_are_gated_and_sinus_ectopy_is_not(self):
        # shipped LUDB 1 (sinus) and 38 (AF): the rhythm_irregularity the gate reads
        irr = {}
        for name in ("1", "38"):
            rec = wfdb.rdrecord(str(SHIPPED_LUDB / name))
            t = ecgfast.beat_table(rec.p_signal[:, 1], rec.fs)
            irr[name] = t["rhythm_irregularity"].to_numpy()
        assert np.all(irr["1"] < RHYTHM_GATE) and np.all(irr["38"] > RHYTHM_GATE)
        # sinus rhythm with frequent ectopy, ventricular bigeminy (119, 106) and trigeminy
        # (208) included, is not AF: its premature beats are (almost) never gated
        from ecgfast.evaluate import rhythm_gate

        bs = read_beats(SHIPPED_MITDB, ["101", "106", "119", "208", "209", "223"])
        m = bs.meta
        ectopic = m["symbol"].map(AAMI_MAP).isin(["S", "V"]).to_numpy()
        prob = np.tile([0.0, 1.0, 0.0, 0.0], (len(m), 1))
        gated = rhythm_gate(prob, m["rhythm_irregularity"], m["p_local"])[:, 1] == 0
        assert gated[ectopic].mean() < 0.05 and gated.mean() < 0.05
        assert m.groupby("record")["rhythm_irregularity"].median().max() < RHYTHM_GATE

    def test_experiment_gates_af_beats_and_not_sinus_ones(self):
        # the experiment's rule on synthetic records with exact rhythm labels: every beat of an
        # AF record is gated, no beat of a sinus record with premature atrial beats is
        from ecgfast.apps.beats import BeatExperiment, _gated
        from ecgfast.beatdata import synthetic_beats

        prob = None
        for rhythm, ectopy, expect in (("af", None, True), (None, {"pac": 0.2}, False)):
            bs = synthetic_beats(3, seed=1, rhythm=rhythm, ectopy=ectopy)
            prob = np.tile([0.3, 0.7, 0.0, 0.0], (len(bs.labels), 1))
            out = _gated(BeatExperiment(), bs, prob)
            assert np.all((out[:, 1] == 0) == expect), rhythm
            if not expect:
                assert (bs.labels == 1).sum() > 10  # there were S beats to lose
        assert _gated(BeatExperiment(rhythm_gate=None), bs, prob) is prob

    @pytest.mark.parametrize(
        "args",
        [
            ([[0.5, 0.5, 0, 0]], [0.2, 0.3]),  # lengths differ
            ([[0.5, 0.5, 0]], [0.2]),  # three columns for four classes
            ([[np.nan, 0.5, 0, 0]], [0.2]),
            ([[-0.1, 0.5, 0, 0]], [0.2]),
        ],
    )
    def test_bad_input(self, args):
        from ecgfast.evaluate import rhythm_gate

        with pytest.raises(InvalidParameterError):
            rhythm_gate(*args)
        with pytest.raises(InvalidParameterError):
            rhythm_gate([[0.5, 0.5, 0, 0]], [0.2], threshold=0)
        with pytest.raises(InvalidParameterError):
            rhythm_gate([[0.5, 0.5, 0, 0]], [0.2], gated="Q")
        with pytest.raises(InvalidParameterError):
            rhythm_gate([[0.5, 0.5, 0, 0]], [0.2], to="S")
        with pytest.raises(InvalidParameterError):
            rhythm_gate([[0.5, 0.5, 0, 0]], [0.2], [0.1, 0.2])
        with pytest.raises(InvalidParameterError):
            rhythm_gate([[0.5, 0.5, 0, 0]], [0.2], max_p_local=1.5)


class TestMorphologyGate:
    def test_v_is_ruled_out_only_for_common_on_time_beats(self):
        from ecgfast.evaluate import morphology_gate

        rng = np.random.default_rng(0)
        p = rng.dirichlet(np.ones(4), size=300)
        share = rng.uniform(0, 1.3, size=300)
        local, record = (rng.uniform(0.5, 1.3, size=300) for _ in range(2))
        share[:5] = np.nan
        before = p.copy()
        g = morphology_gate(p, share, local, supraventricular=None)
        np.testing.assert_array_equal(p, before)  # the input is not modified
        inside = (share >= 0.4) & (local >= 0.95)
        assert 40 < inside.sum() < 200
        assert np.all(g[inside, 2] == 0)
        np.testing.assert_allclose(g.sum(axis=1), 1.0)
        np.testing.assert_array_equal(g[~inside], p[~inside])  # NaN, rare or premature: kept
        # the other classes keep their proportions: the beat takes its next most likely class
        rest = p[inside][:, [0, 1, 3]]
        np.testing.assert_allclose(g[inside][:, [0, 1, 3]], rest / rest.sum(axis=1, keepdims=True))
        # with the record's RR ratio too, fewer beats: those on time against both
        strict = morphology_gate(p, share, local, pre_rr_record=record, supraventricular=None)
        both = inside & (record >= 0.95)
        assert 0 < both.sum() < inside.sum()
        assert np.all(strict[both, 2] == 0)
        np.testing.assert_array_equal(strict[~both], p[~both])
        # all of the probability on V: nothing to move it to, the beat keeps it
        np.testing.assert_array_equal(morphology_gate([[0, 0, 1, 0]], [1], [1]), [[0, 0, 1, 0]])
        # a premature beat (either ratio, when both are given) of a common shape stays V
        assert morphology_gate([[0.2, 0, 0.8, 0]], [1], [0.8])[0, 2] == 0.8
        assert morphology_gate([[0.2, 0, 0.8, 0]], [1], [0.8], pre_rr_record=[1.0])[0, 2] == 0.8
        assert morphology_gate([[0.2, 0, 0.8, 0]], [1], [1.0], pre_rr_record=[0.8])[0, 2] == 0.8
        assert morphology_gate([[0.2, 0, 0.8, 0]], [1], [1.0], pre_rr_record=[1.0])[0, 2] == 0

    def test_s_is_ruled_out_only_for_uncommon_beats(self):
        from ecgfast.evaluate import morphology_gate

        rng = np.random.default_rng(1)
        p = rng.dirichlet(np.ones(4), size=300)
        share = rng.uniform(0, 1.3, size=300)
        local = rng.uniform(0.5, 1.3, size=300)
        share[:5] = np.nan
        g = morphology_gate(p, share, local)
        v_only = morphology_gate(p, share, local, supraventricular=None)
        uncommon = share < 0.4  # NaN: unknown, kept
        assert 40 < uncommon.sum() < 200
        assert np.all(g[uncommon, 1] == 0)
        np.testing.assert_allclose(g.sum(axis=1), 1.0)
        # the beats of a common shape (or unknown) are those of the V rule alone
        np.testing.assert_array_equal(g[~uncommon], v_only[~uncommon])
        rest = p[uncommon][:, [0, 2, 3]]
        np.testing.assert_allclose(
            g[uncommon][:, [0, 2, 3]], rest / rest.sum(axis=1, keepdims=True)
        )
        # premature or not, an uncommon beat loses S; all of it on S: kept
        assert morphology_gate([[0.1, 0.6, 0.3, 0]], [0.1], [0.7])[0, 1] == 0
        np.testing.assert_array_equal(morphology_gate([[0, 1, 0, 0]], [0.1], [0.7]), [[0, 1, 0, 0]])
        # classes without S: only the V rule
        three = morphology_gate([[0.2, 0.5, 0.3]], [0.1], [0.7], classes=("N", "V", "F"))
        np.testing.assert_array_equal(three, [[0.2, 0.5, 0.3]])

    def test_shape_share(self):
        from ecgfast.beatdata import shape_share

        fs, before = 250.0, 60
        t = np.arange(150) / fs
        qrs = np.exp(-(((t - before / fs) / 0.012) ** 2))
        wide = -np.exp(-(((t - before / fs - 0.02) / 0.04) ** 2))
        rng = np.random.default_rng(1)
        w = np.array([qrs] * 90 + [wide] * 10) + 0.01 * rng.standard_normal((100, 150))
        w[[3, 50]] = 0.0  # flat: correlates with nothing
        got = shape_share(w, before, fs)
        assert got.shape == (100,) and np.all(
            got[:90][[i for i in range(90) if i != 3 and i != 50]] > 0.9
        )
        assert np.all(got[90:] < 0.2) and got[3] == 0 and got[50] == 0
        assert shape_share(np.zeros((0, 150)), before, fs).shape == (0,)
        bad = w.copy()
        bad[5, 10] = np.nan
        for args in ((w[0], before, fs), (bad, before, fs), (w, before, 0.0), (w, 150, fs)):
            with pytest.raises(InvalidParameterError):
                shape_share(*args)
        with pytest.raises(InvalidParameterError):
            shape_share(w, before, fs, n_ref=0)

    def test_a_shape_common_on_any_lead_is_common(self):
        # lead "a"'s QRS is stable for the first two thirds of the record, then changes shape
        # from beat to beat (as 108's on MLII); lead "b"'s is stable throughout: those beats are
        # rare on lead "a" alone and common with both leads; a lone wide beat stays rare
        from ecgfast.beatdata import beat_inputs

        fs, raw, beats, opt = _two_lead_record()
        both = beat_inputs(raw, fs, opt, beats)["meta"]["shape_share"].to_numpy()
        one = beat_inputs(raw[:1], fs, replace(opt, leads=("a",)), beats)
        first = one["meta"]["shape_share"].to_numpy()
        k = np.arange(len(beats))
        varying = k >= 2 * len(beats) // 3
        assert np.median(first[varying]) < 0.3 and np.all(first[~varying & (k != 20)] > 0.9)
        assert np.all(both[k != 20] > 0.9) and both[20] < 0.1 and first[20] < 0.1

    def test_the_shape_may_be_read_on_a_lead_the_model_does_not_read(self):
        from ecgfast.beatdata import beat_inputs

        fs, raw, beats, opt = _two_lead_record()
        both = beat_inputs(raw, fs, opt, beats)
        one = replace(opt, leads=("a",))
        alone = beat_inputs(raw[:1], fs, one, beats)
        wide = replace(one, shape_leads=("a", "b"))
        got = beat_inputs(raw[:1], fs, wide, beats, shape_raw=raw[1:])
        # the model inputs are those of lead "a" alone, the shape share that of both leads
        np.testing.assert_array_equal(got["x"], alone["x"])
        np.testing.assert_array_equal(got["features"], alone["features"])
        np.testing.assert_allclose(got["meta"]["shape_share"], both["meta"]["shape_share"])
        # "b" only: the share of lead "b" alone, which differs from lead "a"'s
        only_b = beat_inputs(
            raw[:1], fs, replace(one, shape_leads=("b",)), beats, shape_raw=raw[1:]
        )
        lead_b = beat_inputs(raw[1:], fs, replace(opt, leads=("b",)), beats)
        np.testing.assert_allclose(only_b["meta"]["shape_share"], lead_b["meta"]["shape_share"])
        assert not np.allclose(only_b["meta"]["shape_share"], alone["meta"]["shape_share"])

    def test_the_pipeline_reads_the_shape_leads_by_name_or_falls_back_with_a_warning(self):
        from ecgfast.beatdata import beat_inputs
        from ecgfast.preprocessing import Preprocessing

        fs, raw, beats, opt = _two_lead_record()
        pipe = Preprocessing(
            "beat",
            fs,
            ("a",),
            0.7,
            "record",
            band=(0.5, 40.0),
            before=0.25,
            shape_leads=("a", "b"),
        )
        assert Preprocessing.from_dict(pipe.to_dict()) == pipe
        assert pipe.extra_shape_leads == ("b",)
        both = beat_inputs(raw, fs, opt, beats)["meta"]["shape_share"].to_numpy()
        by_name = pipe.beat_inputs(raw[::-1], fs, lead_names=["b", "a"], rpeaks=beats)
        by_row = pipe.beat_inputs(raw, fs, rpeaks=beats)
        np.testing.assert_allclose(by_name["meta"]["shape_share"], both)
        np.testing.assert_allclose(by_row["meta"]["shape_share"], both)
        np.testing.assert_array_equal(by_name["x"], by_row["x"])
        assert by_row["x"].shape[1] == 1
        with pytest.warns(UserWarning, match="measured on \\['a'\\]"):
            alone = pipe.beat_inputs(raw[:1], fs, rpeaks=beats)
        with pytest.warns(UserWarning, match="measured on \\['a'\\]"):
            named = pipe.beat_inputs(raw[:1], fs, lead_names=["a"], rpeaks=beats)
        np.testing.assert_allclose(named["meta"]["shape_share"], alone["meta"]["shape_share"])
        np.testing.assert_array_equal(alone["x"], by_row["x"])
        assert not np.allclose(alone["meta"]["shape_share"], both)
        bad = raw.copy()
        bad[1, 100] = np.nan
        with pytest.raises(InvalidSignalError):
            pipe.beat_inputs(bad, fs, rpeaks=beats)
        for shape_leads in ((), ("a", "a")):
            with pytest.raises(InvalidParameterError, match="shape_leads"):
                replace(pipe, shape_leads=shape_leads)

    def test_read_beats_measures_the_shape_on_leads_it_does_not_give_the_model(self):
        both = read_beats(SHIPPED_MITDB, ["119"], leads=("MLII", "V"), features=())
        one = read_beats(SHIPPED_MITDB, ["119"], features=(), shape_leads=("MLII", "V"))
        assert one.x.shape[1] == 1 and one.shape_leads == ("MLII", "V")
        np.testing.assert_array_equal(one.x[:, 0], both.x[:, 0])
        np.testing.assert_allclose(one.meta["shape_share"], both.meta["shape_share"])
        # a record without a shape lead keeps its beats; its shape share reads the model leads
        with pytest.warns(UserWarning, match="no lead \\['aVR'\\]"):
            fallback = read_beats(SHIPPED_MITDB, ["119"], features=(), shape_leads=("aVR",))
        alone = read_beats(SHIPPED_MITDB, ["119"], features=())
        # ... and one that has some of them reads those
        with pytest.warns(UserWarning, match="measured on \\['V'\\]"):
            some = read_beats(SHIPPED_MITDB, ["119"], features=(), shape_leads=("aVR", "V"))
        v1 = read_beats(SHIPPED_MITDB, ["119"], features=(), leads=("V",))
        np.testing.assert_allclose(some.meta["shape_share"], v1.meta["shape_share"])
        np.testing.assert_array_equal(fallback.x, alone.x)
        np.testing.assert_allclose(fallback.meta["shape_share"], alone.meta["shape_share"])
        assert not np.allclose(one.meta["shape_share"], alone.meta["shape_share"])
        with pytest.raises(InvalidParameterError, match="shape_leads"):
            read_beats(SHIPPED_MITDB, ["119"], shape_leads=("V", "V"))

    def test_synthetic_pvcs_are_kept_and_sinus_beats_are_gated(self):
        # exact labels: the generator's PVCs are premature and rare in their record; its sinus
        # beats are common and on time
        from ecgfast.apps.beats import BeatExperiment, _calibration_gated, _morphology_gated
        from ecgfast.beatdata import synthetic_beats

        bs = synthetic_beats(4, seed=2, ectopy={"pvc": 0.1})
        prob = np.tile([0.2, 0.0, 0.8, 0.0], (len(bs.labels), 1))
        out = _morphology_gated(BeatExperiment(morphology_gate=True), bs, prob)
        gated = out[:, 2] == 0
        v, n = bs.labels == 2, bs.labels == 0
        # the PVCs it takes: a record with frequent PVCs, some of which follow a pause
        assert v.sum() > 10 and gated[v].mean() < 0.1 and gated[n].mean() > 0.8
        assert _morphology_gated(BeatExperiment(morphology_gate=False), bs, prob) is prob
        # the early-stopping patients' probabilities, as the decision offsets see them: the
        # same gate with offsets_after_gates, the rhythm gate alone without
        after = BeatExperiment(morphology_gate=True, offsets_after_gates=True, rhythm_gate=None)
        np.testing.assert_array_equal(_calibration_gated(after, bs, prob), out)
        before = replace(after, offsets_after_gates=False)
        np.testing.assert_array_equal(_calibration_gated(before, bs, prob), prob)

    @pytest.mark.parametrize(
        ("args", "kw"),
        [
            (([[0.5, 0.5, 0, 0]], [1, 1], [1]), {}),  # lengths differ
            (([[0.5, 0.5, 0, 0]], [1], [1]), {"pre_rr_record": [1, 1]}),
            (([[0.5, 0.5, 0]], [1], [1]), {}),  # three columns for four classes
            (([[np.nan, 0.5, 0, 0]], [1], [1]), {}),
            (([[-0.1, 0.5, 0, 0]], [1], [1]), {}),
            (([[0.5, 0.5, 0, 0]], [1], [1]), {"gated": "Q"}),
            (([[0.5, 0.5, 0, 0]], [1], [1]), {"common": 0}),
            (([[0.5, 0.5, 0, 0]], [1], [1]), {"on_time": 3}),
            (([[0.5, 0.5, 0, 0]], [np.inf], [1]), {}),
            (([[0.5, 0.5, 0, 0]], [1], [1]), {"pre_rr_record": [-np.inf]}),
            (([[0.5, 0.5, 0, 0]], [1], [np.inf]), {}),
        ],
    )
    def test_bad_input(self, args, kw):
        from ecgfast.evaluate import morphology_gate

        with pytest.raises(InvalidParameterError):
            morphology_gate(*args, **kw)


def _two_lead_record():
    """(fs, raw (2, n), beat samples, options) of a record whose lead "a" QRS is stable for
    two thirds of it and then changes shape beat to beat, whose lead "b" QRS is stable, with
    one wide beat (the 21st)."""
    from ecgfast.beatdata import _Options

    fs, rr = 360.0, 288
    n = rr * 60
    t = np.arange(n)
    raw = np.zeros((2, n))
    beats = np.arange(rr, n - rr, rr)
    rng = np.random.default_rng(3)
    for k, b in enumerate(beats):
        narrow = np.exp(-(((t - b) / (0.012 * fs)) ** 2))
        if k == 20:  # the wide beat
            wide = np.exp(-(((t - b) / (0.04 * fs)) ** 2))
            raw[0] -= 1.5 * wide
            raw[1] -= 1.2 * wide
            continue
        shifted = np.exp(-(((t - b - 0.03 * fs) / (0.012 * fs)) ** 2))
        mix = 0.0 if k < 2 * len(beats) // 3 else rng.uniform(-1, 1)
        raw[0] += narrow + 1.5 * mix * shifted
        raw[1] += 0.8 * narrow
    opt = _Options(
        ("a", "b"),
        None,
        (0.25, 0.45),
        (0.5, 40.0),
        "record",
        (),
        "annotations",
        ("N", "S", "V", "F", "Q"),
        0.15,
    )
    return fs, raw, beats, opt


def _train_on_three_and_save(cfg, tmp_path):
    """``run_beat_experiment`` trained on 101, 119, 208 and scored on 223, classifiers saved
    under ``tmp_path / "models"``."""
    from ecgfast.apps.beats import run_beat_experiment

    return run_beat_experiment(
        SHIPPED_MITDB,
        ["101", "119", "208"],
        ["223"],
        config=cfg,
        out=tmp_path,
        say=None,
        save_models=True,
    )


def _assert_repeats_the_scored_decision(clf, scored):
    """``clf`` on 223's raw signal at its own rate, at its annotated beats, gives the
    experiment's ``scored`` probabilities and decisions, and leaves its input as it was."""
    rec = wfdb.rdrecord(str(SHIPPED_MITDB / "223"))
    ann = wfdb.rdann(str(SHIPPED_MITDB / "223"), "atr")
    signal = rec.p_signal.T.copy()
    before = signal.copy()
    scored_beat = np.isin(ann.symbol, [s for s, c in AAMI_MAP.items() if c in clf.classes])
    beats = clf.predict(signal, rec.fs, lead_names=rec.sig_name, rpeaks=ann.sample[scored_beat])
    np.testing.assert_array_equal(signal, before)  # the input is not modified
    got = beats.merge(scored, on="sample", suffixes=("", "_exp"))
    assert len(got) == len(scored) > 2000
    cols = ["p_N", "p_S", "p_V", "p_F"]
    np.testing.assert_allclose(
        got[cols].to_numpy(), got[[c + "_exp" for c in cols]].to_numpy(), atol=1e-4
    )
    assert (got["predicted"] == got["predicted_exp"]).all()


def _assert_combined_is_the_mean(report: dict, fraction: str) -> None:
    """The combined arm's probabilities are the scratch and pretrained arms' mean, beat by beat."""
    table = report["predictions"]
    cols = ["p_N", "p_S", "p_V", "p_F"]

    def probs(arm: str) -> np.ndarray:
        return table[table["arm"] == f"{arm} {fraction}"][cols].to_numpy()

    np.testing.assert_allclose(probs("combined"), (probs("scratch") + probs("pretrained")) / 2)


class TestBeatDatasetAndProtocol:
    @pytest.fixture(scope="class")
    def ds(self):
        pytest.importorskip("torch")
        from ecgfast.torch import MITBIHBeats

        return MITBIHBeats(
            SHIPPED_MITDB,
            ["119", "208"],
            window=(0.25, 0.45),
            features=BEAT_FEATURES,
            template=True,
            classes=("N", "S", "V", "F"),
        )

    def test_items_carry_the_features(self, ds):
        (x, f), y = ds[5]
        assert tuple(x.shape) == (2, ds.x.shape[-1]) and tuple(f.shape) == (len(BEAT_FEATURES),)
        assert np.array_equal(f.numpy(), ds.features[5]) and int(y) == ds.labels[5]
        sub = ds.subset(["208"])
        assert len(sub.features) == len(sub) == int((ds.meta["record"] == "208").sum())

    def test_preprocessing_rebuilds_the_inputs_from_the_raw_record(self, ds):
        import wfdb

        from ecgfast.preprocessing import Preprocessing

        pre = ds.preprocessing
        again = Preprocessing.from_dict(pre.to_dict())
        assert again == pre
        rec = wfdb.rdrecord(str(SHIPPED_MITDB / "119"))
        ann = wfdb.rdann(str(SHIPPED_MITDB / "119"), "atr")
        beats = [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in AAMI_MAP]
        x, f = again(rec.p_signal.T, rec.fs, lead_names=rec.sig_name, rpeaks=beats)
        mine = ds.meta["record"].to_numpy() == "119"
        # same beats, same windows, same features as the training items
        np.testing.assert_allclose(x, ds.x[mine], atol=1e-5)
        np.testing.assert_allclose(f, ds.features[mine], atol=1e-6)

    def test_preprocessing_rebuilds_the_dominant_template(self):
        import wfdb

        from ecgfast.beatdata import TEMPLATE_FEATURES
        from ecgfast.preprocessing import Preprocessing
        from ecgfast.torch import MITBIHBeats

        ds = MITBIHBeats(
            SHIPPED_MITDB,
            ["119"],
            features=(*BEAT_FEATURES, *TEMPLATE_FEATURES),
            template="dominant",
            classes=("N", "S", "V", "F"),
        )
        pre = Preprocessing.from_dict(ds.preprocessing.to_dict())
        assert pre.template == "dominant"
        rec = wfdb.rdrecord(str(SHIPPED_MITDB / "119"))
        ann = wfdb.rdann(str(SHIPPED_MITDB / "119"), "atr")
        beats = [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in AAMI_MAP]
        x, f = pre(rec.p_signal.T, rec.fs, lead_names=rec.sig_name, rpeaks=beats)
        np.testing.assert_allclose(x, ds.x, atol=1e-5)
        np.testing.assert_allclose(f, ds.features, atol=1e-5)

    def test_models_take_the_features(self, ds):
        import torch

        from ecgfast.torch import create_model

        for name in ("resnet1d", "xresnet1d", "inception1d"):
            m = create_model(name, 2, 4, extra_features=len(BEAT_FEATURES))
            (x, f), _ = ds[0]
            out = m.eval()(x[None], f[None])
            assert tuple(out.shape) == (1, 4)
            with pytest.raises(InvalidParameterError):
                m(x[None])
            assert torch.isfinite(out).all()

    def test_patient_folds_and_overlap_error(self, tmp_path):
        pytest.importorskip("torch")
        from ecgfast.apps.beats import patient_folds, run_beat_experiment

        counts = {
            p: np.array([100, s, v, f])
            for p, s, v, f in [("a", 0, 5, 9), ("b", 30, 0, 0), ("c", 0, 50, 2), ("d", 3, 0, 0)]
        }
        folds = patient_folds(counts, 2)
        assert sorted(folds) == ["a", "b", "c", "d"] and set(folds.values()) == {0, 1}
        # the two F carriers go to different folds, and so do the two S carriers
        assert folds["a"] != folds["c"] and folds["b"] != folds["d"]
        with pytest.raises(InvalidParameterError):
            patient_folds(counts, 5)
        with pytest.raises(InvalidParameterError, match="both"):
            run_beat_experiment(SHIPPED_MITDB, ["119", "201"], ["202"], out=tmp_path)

    def test_cli_cross_validation_end_to_end(self, tmp_path):
        pytest.importorskip("torch")
        import json

        from ecgfast.cli import main

        rc = main(
            [
                "--threads",
                "2",
                "beats",
                "--train-records",
                "101",
                "106",
                "119",
                "208",
                "209",
                "223",
                "--folds",
                "2",
                "--epochs",
                "1",
                "--ensemble",
                "2",
                "--features",
                "+p",
                "--out",
                str(tmp_path),
            ]
        )
        assert rc == 0
        report = json.loads((tmp_path / "beats.json").read_text())
        assert report["protocol"] == "2-fold patient CV"
        assert report["config"]["features"][-3:] == ["p_present", "p_local", "pr_deviation"]
        tested = [r for f in report["folds"] for r in f["test_records"]]
        assert sorted(tested) == ["101", "106", "119", "208", "209", "223"]
        for f in report["folds"]:
            # two models per fold, each stopped early on patients of the training folds only
            assert len(f["val_records"]) == 2 and len(f["offsets"]) == 2
            assert all(len(offsets) == 4 for offsets in f["offsets"])  # one set per member
            for val in f["val_records"]:
                assert val and not set(val) & set(f["test_records"])
        pred = pd.read_csv(tmp_path / "beats_predictions.csv", dtype={"record": str})
        assert len(pred) == sum(report["class_counts"].values())
        assert set(pred["record"]) == set(tested)
        np.testing.assert_allclose(pred[["p_N", "p_S", "p_V", "p_F"]].sum(axis=1), 1, atol=1e-4)
        # the default rhythm gate: no S where the rhythm looks like AF
        assert report["config"]["rhythm_gate"] == pytest.approx(RHYTHM_GATE)
        pooled = report["runs"][0]
        assert sum(map(sum, pooled["confusion"])) == sum(report["class_counts"].values())
        assert (tmp_path / "beats_confusion.png").exists()

    def test_saved_classifier_repeats_the_scored_decision_on_raw_records(self, tmp_path):
        pytest.importorskip("torch")

        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment
        from ecgfast.cli import main
        from ecgfast.torch import BeatClassifier

        cfg = BeatExperiment(
            epochs=1,
            ensemble=2,
            fs=180.0,
            leads=("MLII", "V"),
            features=(*BEAT_FEATURES, "p_local"),
            morphology_gate=True,
        )
        report = _train_on_three_and_save(cfg, tmp_path)
        path = tmp_path / "models" / "scratch_f1_seed0.pt"
        clf = BeatClassifier.load(path)
        assert len(clf.models) == 2 and clf.classes == ("N", "S", "V", "F")
        assert clf.rhythm_gate == pytest.approx(RHYTHM_GATE) and clf.morphology_gate
        np.testing.assert_allclose(clf.offsets, report["folds"][0]["offsets"])
        assert clf.info["train_records"] == ["101", "119", "208"]
        # the raw record at its own rate, the annotated beats: the experiment's probabilities
        _assert_repeats_the_scored_decision(clf, report["predictions"])
        # the CLI: detected beats, scored against the annotations
        out = tmp_path / "classified.csv"
        assert (
            main(["classify-beats", str(path), str(SHIPPED_MITDB / "223"), "--out", str(out)]) == 0
        )
        table = pd.read_csv(out, dtype={"record": str})
        assert set(table["record"]) == {"223"} and len(table) > 2000
        assert {"predicted", "p_S", "symbol", "annotated_class"} <= set(table.columns)
        # bad inputs: clean errors
        with pytest.raises(InvalidParameterError, match="not an ecgfast-beat-classifier"):
            torch = pytest.importorskip("torch")
            torch.save({"format": "x"}, tmp_path / "bad.pt")
            BeatClassifier.load(tmp_path / "bad.pt")
        with pytest.raises(InvalidParameterError, match="save_models needs test_records"):
            run_beat_experiment(SHIPPED_MITDB, ["101", "119"], config=cfg, save_models=True)
        assert main(["classify-beats", str(path), str(tmp_path / "nope")]) == 2

    def test_boosted_arm_is_paired_and_combined_with_scratch(self, tmp_path):
        pytest.importorskip("torch")
        pytest.importorskip("sklearn")
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        # without the morphology gate, which applies to the mean (the saved combined
        # classifier's test checks the gated mean)
        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, boosted=True, combine=True, morphology_gate=False
        )
        records = ["101", "119", "208", "209"]
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, out=tmp_path, say=None)
        assert list(report["summary"]) == ["scratch 100%", "boosted 100%", "combined 100%"]
        folds = report["folds"]

        def arm(name):
            return [f for f in folds if f["arm"] == name]

        # the same early-stopping patients, an iteration count and offsets per fold
        keys = ("seed", "fold", "test_records", "val_records")
        assert [[f[k] for k in keys] for f in arm("boosted 100%")] == [
            [f[k] for k in keys] for f in arm("scratch 100%")
        ]
        assert all(
            f["best_epoch"][0] >= 1 and len(f["offsets"][0]) == 4 for f in arm("boosted 100%")
        )
        table = report["predictions"]
        cols = ["p_N", "p_S", "p_V", "p_F"]

        def probs(name):
            return table[table["arm"] == name][cols].to_numpy()

        np.testing.assert_allclose(probs("boosted 100%").sum(axis=1), 1.0, atol=1e-9)
        # the combined arm is the mean of the two arms, beat by beat
        np.testing.assert_allclose(
            probs("combined 100%"), (probs("scratch 100%") + probs("boosted 100%")) / 2
        )
        d = report["paired_boosted"]["100%"]["macro_f1"]
        pairs = [
            b["macro_f1"] - s["macro_f1"]
            for b, s in zip(arm("boosted 100%"), arm("scratch 100%"), strict=True)
        ]
        assert d["n"] == 2 and d["mean"] == pytest.approx(np.mean(pairs))
        assert report["paired"] is None and report["paired_combined"] is not None
        assert "## boosted - scratch (paired)" in (tmp_path / "beats.md").read_text()
        # the boosted arm alone repeats its figures (trees are deterministic given the seed)
        alone = run_beat_experiment(
            SHIPPED_MITDB,
            records,
            config=replace(cfg, scratch=False, combine=False),
            say=None,
        )
        assert list(alone["summary"]) == ["boosted 100%"]
        assert [f["macro_f1"] for f in alone["folds"]] == [
            f["macro_f1"] for f in arm("boosted 100%")
        ]
        with pytest.raises(InvalidParameterError, match="calibration_folds"):
            run_beat_experiment(
                SHIPPED_MITDB, records, config=replace(cfg, calibration_folds=2), say=None
            )
        with pytest.raises(InvalidParameterError, match="at least two"):
            run_beat_experiment(
                SHIPPED_MITDB, records, config=replace(cfg, scratch=False), say=None
            )

    @pytest.mark.parametrize("offsets_after_gates", [False, True])
    def test_boosted_and_combined_classifiers_repeat_the_scored_decision(
        self, tmp_path, offsets_after_gates
    ):
        pytest.importorskip("torch")
        pytest.importorskip("sklearn")

        from ecgfast.apps.beats import BeatExperiment
        from ecgfast.boosted import BoostedBeatModel
        from ecgfast.cli import main
        from ecgfast.torch import BeatClassifier

        # the models read MLII; the morphology gate's shape share reads V too
        cfg = BeatExperiment(
            epochs=1,
            fs=120.0,
            boosted=True,
            combine=True,
            morphology_gate=True,
            shape_leads=("MLII", "V"),
            offsets_after_gates=offsets_after_gates,
        )
        report = _train_on_three_and_save(cfg, tmp_path)
        models = tmp_path / "models"
        assert sorted(p.name for p in models.iterdir()) == [
            "boosted_f1_seed0.pt",
            "combined_f1_seed0.pt",
            "scratch_f1_seed0.pt",
        ]
        # trees are stored with pickle: reading them is an explicit choice
        with pytest.raises(InvalidParameterError, match="allow_pickle=True"):
            BeatClassifier.load(models / "combined_f1_seed0.pt")
        assert main(["classify-beats", str(models / "boosted_f1_seed0.pt"), "x"]) == 2
        combined = BeatClassifier.load(models / "combined_f1_seed0.pt", allow_pickle=True)
        kinds = [isinstance(m, BoostedBeatModel) for m in combined.models]
        assert kinds == [False, True] and "boosted" in repr(combined)
        # the networks read the beat-table features, the trees the template features too
        net, trees = combined.member_features
        assert net == cfg.features and trees[: len(net)] == net and len(trees) > len(net)
        assert combined.preprocessing.features == trees
        assert combined.preprocessing.shape_leads == ("MLII", "V") and combined.morphology_gate
        assert combined.preprocessing.leads == ("MLII",)
        assert combined.offsets_after_gates == offsets_after_gates
        # a file of networks only still loads without pickle
        assert len(BeatClassifier.load(models / "scratch_f1_seed0.pt").models) == 1
        table = report["predictions"]
        for name in ("boosted", "combined"):
            clf = BeatClassifier.load(models / f"{name}_f1_seed0.pt", allow_pickle=True)
            _assert_repeats_the_scored_decision(clf, table[table["arm"] == f"{name} 100%"])
        out = tmp_path / "classified.csv"
        argv = ["classify-beats", str(models / "combined_f1_seed0.pt"), str(SHIPPED_MITDB / "223")]
        assert main([*argv, "--allow-pickle", "--out", str(out)]) == 0
        assert len(pd.read_csv(out)) > 2000

    def test_pretrained_and_scratch_are_paired(self, tmp_path):
        pytest.importorskip("torch")
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        cfg = BeatExperiment(
            epochs=1,
            folds=2,
            pretrain_records=8,
            pretrain_epochs=1,
            fractions=(1.0, 0.2),
            fs=120.0,
            combine=True,
            morphology_gate=False,  # the combined arm below is checked as the plain mean
        )
        report = run_beat_experiment(
            SHIPPED_MITDB, ["101", "119", "208", "209"], config=cfg, out=tmp_path, say=None
        )
        arms = ["scratch 100%", "pretrained 100%", "scratch 20%", "pretrained 20%"]
        assert list(report["summary"]) == [*arms, "combined 100%", "combined 20%"]
        # the backbone's rate in effect, per fraction (the default rule: min(1, 0.1 / fraction))
        assert report["fine_tuning"] == {
            "policy": "full",
            "backbone_lr_factor": {"1": pytest.approx(0.1), "0.2": pytest.approx(0.5)},
        }
        # the combined arm: the mean of the two arms' calibrated probabilities, beat by beat
        _assert_combined_is_the_mean(report, "20%")
        comb = report["paired_combined"]["20%"]["macro_f1"]
        folds20 = [f for f in report["folds"] if f["fraction"] == 0.2]
        diffs = [
            c["macro_f1"] - s["macro_f1"]
            for c, s in zip(
                [f for f in folds20 if f["init"] == "combined"],
                [f for f in folds20 if f["init"] == "scratch"],
                strict=True,
            )
        ]
        assert comb["n"] == 2 and comb["mean"] == pytest.approx(np.mean(diffs))
        assert (
            "## combined - scratch (paired), 20% of the labels"
            in (tmp_path / "beats.md").read_text()
        )
        with pytest.raises(InvalidParameterError, match="combine averages the arms"):
            run_beat_experiment(
                SHIPPED_MITDB, ["101", "119"], config=BeatExperiment(combine=True), say=None
            )
        folds = report["folds"]

        def arm(name):
            return [f for f in folds if f["arm"] == name]

        def where(rows):
            return [(f["seed"], f["fold"], f["test_records"], f["val_records"]) for f in rows]

        assert where(arm("scratch 20%")) == where(arm("pretrained 20%"))  # the same patients
        d = report["paired"]["20%"]["macro_f1"]
        pairs = [
            p["macro_f1"] - s["macro_f1"]
            for p, s in zip(arm("pretrained 20%"), arm("scratch 20%"), strict=True)
        ]
        assert d["n"] == 2 and d["mean"] == pytest.approx(np.mean(pairs))
        assert report["pretraining"]["records"] == 8
        md = (tmp_path / "beats.md").read_text()
        assert (tmp_path / "beats_arms.png").stat().st_size > 10_000  # paired runs, per class
        assert "pretrained - scratch" in md
        # the report prints its own caveats: few patients per fold, one seed, DS1 defaults
        notes = md.split("## Caveats")[1]
        assert "4 patients, 2-2 held out per fold" in notes and "1 seed(s)" in notes
        assert "development figures" in notes
        pred = pd.read_csv(tmp_path / "beats_predictions.csv", dtype={"record": str})
        assert set(pred["init"]) == {"scratch", "pretrained", "combined"}
        # a fifth of the labels for training, but every test beat is scored
        sizes = pred.groupby("arm").size()
        assert sizes["scratch 20%"] == sizes["scratch 100%"] == sizes["pretrained 20%"]
        assert sizes["combined 20%"] == sizes["scratch 20%"]
        # the pretrained arm alone (--no-scratch) is the same arm: it pairs with the scratch
        # arm of an earlier run of the same seeds
        alone = run_beat_experiment(
            SHIPPED_MITDB,
            ["101", "119", "208", "209"],
            config=replace(cfg, scratch=False, combine=False, fractions=(0.2,)),
            say=None,
        )
        assert list(alone["summary"]) == ["pretrained 20%"] and alone["paired"] is None
        assert [f["macro_f1"] for f in alone["folds"]] == [
            f["macro_f1"] for f in arm("pretrained 20%")
        ]
        with pytest.raises(InvalidParameterError, match="no-scratch"):
            run_beat_experiment(
                SHIPPED_MITDB, ["101", "119"], config=BeatExperiment(scratch=False), say=None
            )

    def test_zero_shot_arm_is_the_pretrained_network_untrained(self):
        pytest.importorskip("torch")
        from ecgfast.apps import beats as app

        # without offsets and gates, an arm's probabilities are its networks' outputs
        cfg = app.BeatExperiment(
            epochs=1, folds=2, pretrain_records=8, pretrain_epochs=1, fs=120.0, zero_shot=True,
            combine=True, morphology_gate=False, rhythm_gate=None, calibrate=False,
        )  # fmt: skip
        records = ["101", "119", "208", "209"]
        report = app.run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        arms = ["scratch 100%", "pretrained 100%", "zero-shot 100%", "combined 100%"]
        assert list(report["summary"]) == arms
        table = report["predictions"]
        cols = ["p_N", "p_S", "p_V", "p_F"]
        _assert_combined_is_the_mean(report, "100%")  # of the trained arms only
        zero = [f for f in report["folds"] if f["init"] == "zero-shot"]
        assert [f["best_epoch"] for f in zero] == [[0], [0]]
        # its offsets would come from every training patient of the fold (it fits nothing)
        for f in zero:
            assert sorted(f["val_records"][0]) == sorted(set(records) - set(f["test_records"]))
        assert report["paired_zero_shot"]["100%"]["macro_f1"]["n"] == 2
        # the pretrained network's outputs, untouched by the real beats
        beats, _ = app._read_beats(SHIPPED_MITDB, records, cfg)
        state, _ = app.pretrain_on_synthetic_beats(cfg, beats.fs, say=lambda *_: None)
        model = app._new_model(cfg, beats.x.shape[1], 0)
        model.load_state_dict(state)
        expected = app._member_proba(model, beats)
        where = zip(beats.meta.record, beats.meta["sample"], strict=True)
        order = {(r, s): i for i, (r, s) in enumerate(where)}
        got = table[table["arm"] == "zero-shot 100%"]
        idx = [order[(r, s)] for r, s in zip(got.record, got["sample"], strict=True)]
        np.testing.assert_allclose(got[cols].to_numpy(), expected[idx], rtol=1e-5, atol=1e-6)
        with pytest.raises(InvalidParameterError, match="zero_shot"):
            app.run_beat_experiment(
                SHIPPED_MITDB, records, config=app.BeatExperiment(zero_shot=True), say=None
            )

    def test_refit_and_broad_pretraining_mix(self, tmp_path, monkeypatch):
        pytest.importorskip("torch")
        import ecgfast.apps.beats as beats_app
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        calls = []
        train = beats_app._train

        def spy(model, tr, va, cfg, seed, **options):
            calls.append((sorted(set(tr.meta["record"])), options))
            return train(model, tr, va, cfg, seed, **options)

        monkeypatch.setattr(beats_app, "_train", spy)
        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, refit=True, pretrain_records=6, pretrain_epochs=1,
            pretrain_mix="broad",
        )  # fmt: skip
        records = ["101", "119", "208", "209"]
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        assert report["config"]["refit"] and report["config"]["pretrain_mix"] == "broad"
        assert report["pretraining"]["beats"]["S"] > 0
        # per fold and arm: one early-stopped model on the fitting patients, then one model
        # on every training patient, its last epoch kept
        folds = [f for f in report["folds"] if f["arm"] == "scratch 100%"]
        fits = calls[1:]  # the first is the pretraining
        assert len(fits) == 2 * len(report["folds"])
        for k, fold in enumerate(folds):
            first, again = fits[2 * k], fits[2 * k + 1]
            inner = sorted(r for r in records if r not in fold["test_records"])
            assert again[0] == inner and set(first[0]) < set(inner)
            assert again[1]["keep"] == "last" and "keep" not in first[1]
        with pytest.raises(InvalidParameterError, match="pretrain_mix"):
            run_beat_experiment(
                SHIPPED_MITDB, records, config=BeatExperiment(pretrain_mix="wide"), say=None
            )

    def test_self_supervised_pretraining(self, tmp_path):
        pytest.importorskip("torch")
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, pretrain_records=6, pretrain_epochs=2,
            pretrain_objective="masked",
        )  # fmt: skip
        records = ["101", "119", "208", "209"]
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        pre = report["pretraining"]
        assert pre["objective"] == "masked" and "val_macro_f1" not in pre
        # six tiny records learn little; that it learns is tested in test_torch
        assert np.isfinite(pre["val_masked_r2"]) and pre["val_masked_r2"] <= 1
        assert len(pre["history"]) == 2
        assert list(report["summary"]) == ["scratch 100%", "pretrained 100%"]
        assert report["paired"]["100%"]["macro_f1"]["n"] == 2
        with pytest.raises(InvalidParameterError, match="pretrain_objective"):
            run_beat_experiment(
                SHIPPED_MITDB, records, config=BeatExperiment(pretrain_objective="mae"), say=None
            )

    def test_synthetic_beats_joined_to_the_pretrained_arm(self, monkeypatch):
        pytest.importorskip("torch")
        import ecgfast.apps.beats as beats_app
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        calls = []
        train = beats_app._train

        def spy(model, tr, va, cfg, seed, **options):
            records = tr.meta["record"].astype(str)
            calls.append(("policy" in options, int((records == "synthetic").sum()), len(tr)))
            assert not (va.meta["record"].astype(str) == "synthetic").any()  # real only
            return train(model, tr, va, cfg, seed, **options)

        monkeypatch.setattr(beats_app, "_train", spy)
        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, pretrain_records=6, pretrain_epochs=1,
            synthetic_share=0.1,
        )  # fmt: skip
        report = run_beat_experiment(
            SHIPPED_MITDB, ["101", "119", "208", "209"], config=cfg, say=None
        )
        assert report["config"]["synthetic_share"] == 0.1
        fine_tuning = calls[1:]  # the first is the pretraining
        pretrained = [c for c in fine_tuning if c[0]]
        scratch = [c for c in fine_tuning if not c[0]]
        assert pretrained and scratch and all(n == 0 for _, n, _ in scratch)
        available = sum(report["pretraining"]["beats"].values())
        for _, n, total in pretrained:  # a tenth as many synthetic beats as real ones
            assert n > 0 and n == min(available, round(0.1 * (total - n)))
        for bad in ({"synthetic_share": 0.5}, {"synthetic_share": -1.0, "pretrain_records": 5}):
            with pytest.raises(InvalidParameterError, match="synthetic_share"):
                run_beat_experiment(SHIPPED_MITDB, ["101", "119"], config=BeatExperiment(**bad))

    def test_self_supervised_on_the_training_patients(self, monkeypatch):
        pytest.importorskip("torch")
        import ecgfast.apps.beats as beats_app
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        seen = []
        masked = beats_app._fit_masked

        def spy(model, tr, va, cfg):
            seen.append(set(tr.meta["record"]) | set(va.meta["record"]))
            return masked(model, tr, va, cfg)

        monkeypatch.setattr(beats_app, "_fit_masked", spy)
        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, pretrain_epochs=1, pretrain_data="training",
            pretrain_objective="masked", seeds=(0, 1), fractions=(1.0, 0.5),
        )  # fmt: skip
        records = ["101", "119", "208", "209"]
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        folds = report["pretraining"]["folds"]
        # one pretraining per fold, on its training patients only, shared by seeds and fractions
        assert len(seen) == len(folds) == 2
        training = {frozenset(set(records) - set(f["test_records"])) for f in report["folds"]}
        assert {frozenset(x) for x in seen} == training == {frozenset(f["records"]) for f in folds}
        assert list(report["summary"]) == [
            "scratch 100%", "pretrained 100%", "scratch 50%", "pretrained 50%",
        ]  # fmt: skip
        for bad in (
            {"pretrain_data": "training"},  # supervised on the training patients is training
            {"pretrain_data": "training", "pretrain_objective": "masked", "pretrain_records": 5},
            {"pretrain_data": "real"},
        ):
            with pytest.raises(InvalidParameterError, match="pretrain_data"):
                run_beat_experiment(SHIPPED_MITDB, records, config=BeatExperiment(**bad), say=None)

    def test_cross_fitted_calibration_covers_every_training_patient(self, tmp_path, monkeypatch):
        pytest.importorskip("torch")
        import ecgfast.apps.beats as beats_app
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        calls = []
        train = beats_app._train

        def spy(model, tr, va, cfg, seed, **options):
            calls.append((set(tr.meta["record"]), set(va.meta["record"]), options))
            return train(model, tr, va, cfg, seed, **options)

        monkeypatch.setattr(beats_app, "_train", spy)
        records = ["101", "106", "119", "208", "209", "223"]
        cfg = BeatExperiment(epochs=2, folds=2, fs=120.0, calibration_folds=2)
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        assert report["config"]["calibration_folds"] == 2
        assert len(calls) == 3 * len(report["folds"])  # two group models, then the refit
        for k, fold in enumerate(report["folds"]):
            inner = set(records) - set(fold["test_records"])
            (fit_a, val_a, opt_a), (fit_b, val_b, opt_b), (full, _, again) = calls[
                3 * k : 3 * k + 3
            ]
            # each group is early-stopped on patients its model never saw, and the groups
            # together hold every training patient: the offsets see all of them out of sample
            assert not fit_a & val_a and not fit_b & val_b
            assert val_a | val_b == inner and not val_a & val_b
            assert fit_a == val_b and fit_b == val_a
            assert sorted(fold["val_records"][0]) == sorted(inner)
            assert full == inner and again["keep"] == "last" and again["epochs"] >= 2
            assert "keep" not in opt_a and "keep" not in opt_b
        without_refit = BeatExperiment(
            epochs=1, folds=2, fs=120.0, calibration_folds=2, refit=False
        )
        calls.clear()
        report = run_beat_experiment(SHIPPED_MITDB, records, config=without_refit, say=None)
        assert len(calls) == 2 * len(report["folds"])  # the group models are the ensemble
        assert all(0.0 <= run["macro_f1"] <= 1.0 for run in report["runs"])
        with pytest.raises(InvalidParameterError, match="calibration_folds"):
            run_beat_experiment(
                SHIPPED_MITDB, records, config=BeatExperiment(calibration_folds=1), say=None
            )
        too_many = BeatExperiment(epochs=1, folds=2, fs=120.0, calibration_folds=10)
        with pytest.raises(InvalidParameterError, match="calibration_folds=10 exceeds"):
            run_beat_experiment(SHIPPED_MITDB, records, config=too_many, say=None)

    def test_ensemble_members_share_the_labels_and_average_calibrated_probabilities(
        self, monkeypatch
    ):
        pytest.importorskip("torch")
        import ecgfast.apps.beats as beats_app
        from ecgfast.apps.beats import BeatExperiment, run_beat_experiment

        seen, shifted = [], []
        train, shift = beats_app._train, beats_app.apply_offsets

        def spy(model, tr, va, cfg, seed, **options):
            beats = zip(tr.meta["record"], tr.meta["sample"], strict=True)
            seen.append((seed, frozenset(beats)))
            return train(model, tr, va, cfg, seed, **options)

        def spy_shift(prob, offsets):
            out = shift(prob, offsets)
            shifted.append(out)
            return out

        monkeypatch.setattr(beats_app, "_train", spy)
        monkeypatch.setattr(beats_app, "apply_offsets", spy_shift)
        records = ["101", "106", "119", "208", "209", "223"]
        # the morphology gate (on by default) would apply after the mean checked here
        cfg = BeatExperiment(
            epochs=1, folds=2, fs=120.0, ensemble=2, fractions=(0.5,), morphology_gate=False
        )
        report = run_beat_experiment(SHIPPED_MITDB, records, config=cfg, say=None)
        # per fold: member 0 early-stopped then refit, member 1 the same; seed 0 -> members 0, 1
        assert [s for s, _ in seen] == [0, 0, 1, 1] * 2
        for k in range(2):
            (_, fit0), (_, all0), (_, fit1), (_, all1) = seen[4 * k : 4 * k + 4]
            # the refits see every training patient's labelled beats: the same ones for both
            # members, so two members spend the labels of one
            assert all0 == all1 and fit0 <= all0 and fit1 <= all1
        pred = report["predictions"]
        for k, fold in enumerate(report["folds"]):
            assert len(fold["offsets"]) == 2 and fold["offsets"][0] != fold["offsets"][1]
            members = shifted[2 * k : 2 * k + 2]
            got = pred[pred["fold"] == k][["p_N", "p_S", "p_V", "p_F"]].to_numpy()
            np.testing.assert_allclose(got, (members[0] + members[1]) / 2, atol=1e-12)

    def test_cli_named_splits_and_missing_records(self, tmp_path, capsys):
        pytest.importorskip("torch")
        from ecgfast.cli import main

        args = ["beats", "--train-records", "DS1", "--test-records", "DS2", "--out", str(tmp_path)]
        # de Chazal's split puts 201 and 202 (one man) on both sides: explicit opt-in only
        assert main(args) != 0
        assert "--allow-shared-patients" in capsys.readouterr().err
        # DS2 records are not shipped: asking for them is a clear error, not a silent subset
        assert main([*args, "--allow-shared-patients"]) != 0
        assert "100" in capsys.readouterr().err


class TestMeanCI:
    def test_interval_and_text(self):
        from scipy import stats

        from ecgfast.apps._stats import mean_ci, mean_ci_text

        d = [0.01, 0.05, -0.02, 0.04]
        half = stats.t.ppf(0.975, 3) * np.std(d, ddof=1) / 2
        got = mean_ci([*d, np.nan])  # non-finite values are left out
        assert got["n"] == 4 and got["mean"] == pytest.approx(np.mean(d))
        np.testing.assert_allclose(got["ci95"], [np.mean(d) - half, np.mean(d) + half])
        lo, hi = np.mean(d) - half, np.mean(d) + half
        assert mean_ci_text(d) == f"{np.mean(d):+.3f} [{lo:+.3f}, {hi:+.3f}]"
        assert mean_ci_text([0.2]) == "+0.200 [+nan, +nan]"


class TestBackboneLrFactor:
    def test_default_follows_the_label_fraction(self):
        from ecgfast.apps.beats import backbone_lr_factor_for

        assert backbone_lr_factor_for(1.0) == pytest.approx(0.1)
        assert backbone_lr_factor_for(0.5) == pytest.approx(0.2)
        assert backbone_lr_factor_for(0.1) == 1.0
        assert backbone_lr_factor_for(0.01) == 1.0
        for bad in (0.0, -0.1, float("nan")):
            with pytest.raises(InvalidParameterError, match="fraction"):
                backbone_lr_factor_for(bad)

    def test_fine_tuning_options_of_a_pretrained_arm(self):
        pytest.importorskip("torch")
        from ecgfast.apps.beats import BeatExperiment, _Arm, _new_model, _start

        cfg = BeatExperiment()
        state = _new_model(cfg, 2, 0).state_dict()
        got = {f: _start(cfg, 2, 0, _Arm("pretrained", state, f), [])[1] for f in (1.0, 0.1)}
        assert got[1.0] == {"policy": "full", "backbone_lr_factor": pytest.approx(0.1)}
        assert got[0.1] == {"policy": "full", "backbone_lr_factor": 1.0}
        # a given factor holds for every fraction; scratch arms get no fine-tuning options
        fixed = replace(cfg, backbone_lr_factor=0.5)
        assert (
            _start(fixed, 2, 0, _Arm("pretrained", state, 1.0), [])[1]["backbone_lr_factor"] == 0.5
        )
        assert _start(cfg, 2, 0, _Arm("scratch", None, 1.0), [])[1] == {}


class TestRefit:
    def test_refit_trains_at_least_min_refit_epochs(self, monkeypatch):
        from ecgfast.apps import beats as experiment
        from ecgfast.apps.beats import BeatExperiment, _Arm, _checked, _refit

        calls = []
        monkeypatch.setattr(
            experiment, "_training_beats", lambda *a: SimpleNamespace(x=np.zeros((1, 1, 4)))
        )
        monkeypatch.setattr(experiment, "_start", lambda *a: ("model", {}))
        monkeypatch.setattr(experiment, "_train", lambda *a, **kw: calls.append(kw))
        for floor, chosen, want in [(2, 1, 2), (2, 5, 5), (6, 3, 6), (6, 8, 8)]:
            cfg = BeatExperiment(min_refit_epochs=floor)
            assert _refit(None, [], cfg, 0, _Arm(), chosen, None) == "model"
            assert calls[-1]["epochs"] == calls[-1]["patience"] == want
            assert calls[-1]["keep"] == "last"
        with pytest.raises(InvalidParameterError, match="min_refit_epochs"):
            _checked(BeatExperiment(min_refit_epochs=0))
