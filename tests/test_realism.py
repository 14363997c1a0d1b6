"""ecgfast.evaluate.realism: the classifier two-sample test of synthetic against real ECG."""

from __future__ import annotations

import numpy as np
import pytest

import ecgfast
from ecgfast.errors import InvalidParameterError, InvalidSignalError
from ecgfast.evaluate import realism
from ecgfast.realism import FEATURE_NAMES, record_features


def _lead_ii(n: int, seed: int, **kw) -> np.ndarray:
    return ecgfast.synthesize(n, fs=250, duration=10, leads="II", seed=seed, **kw).signals[:, 0]


class TestRealism:
    def test_same_generator_is_indistinguishable(self):
        res = realism(_lead_ii(40, 1), _lead_ii(40, 2), 250.0, seed=3)
        assert res["n_real"] == res["n_synthetic"] == 40
        assert 0.25 < res["features"]["auc"] < 0.75
        assert len(res["features"]["fold_aucs"]) == 5

    def test_different_sources_are_told_apart_and_the_giveaway_named(self):
        calm = _lead_ii(30, 1, hr=(55, 70))
        fast = _lead_ii(30, 2, hr=(120, 150))
        res = realism(calm, fast, 250.0)
        assert res["features"]["auc"] > 0.95
        top = res["features"]["giveaways"][:3]
        assert "hr" in top
        hr = res["features"]["features"]["hr"]
        assert hr["real_median"] < 75 < 115 < hr["synthetic_median"]

    def test_rates_and_lengths_are_brought_together(self):
        a = ecgfast.synthesize(12, fs=500, duration=12, leads="II", seed=1).signals[:, 0]
        b = ecgfast.synthesize(12, fs=360, duration=10, leads="II", seed=2).signals[:, 0]
        res = realism(a, b, 500.0, synthetic_fs=360.0, folds=3, length=10.0)
        assert res["fs"] == 250.0 and np.isfinite(res["features"]["auc"])

    def test_record_features(self):
        x = _lead_ii(3, 4, hr=60, hrv=0)
        f = record_features(x, 250.0)
        assert f.shape == (3, len(FEATURE_NAMES))
        hr = f[:, FEATURE_NAMES.index("hr")]
        np.testing.assert_allclose(hr, 60, atol=1.5)
        bands = [n for n in FEATURE_NAMES if n.startswith("power_")]
        np.testing.assert_allclose(
            f[:, [FEATURE_NAMES.index(n) for n in bands]].sum(axis=1), 1, atol=1e-9
        )

    @pytest.mark.parametrize(
        "kwargs,exc",
        [
            ({"classifiers": ("svm",)}, InvalidParameterError),
            ({"folds": 1}, InvalidParameterError),
            ({"folds": 50}, InvalidParameterError),
            ({"length": 30.0}, InvalidSignalError),
        ],
    )
    def test_bad_arguments(self, kwargs, exc):
        with pytest.raises(exc):
            realism(_lead_ii(10, 1), _lead_ii(10, 2), 250.0, **kwargs)

    def test_bad_signals(self):
        x = _lead_ii(10, 1)
        bad = x.copy()
        bad[0, 10] = np.nan
        with pytest.raises(InvalidSignalError):
            realism(bad, x, 250.0)
        with pytest.raises(InvalidSignalError):
            realism(x[0], x, 250.0)

    def test_cnn_classifier(self):
        pytest.importorskip("torch")
        sinus = _lead_ii(32, 1, noise=0)
        # the same generator, three times the amplitude: a CNN sees it at once
        loud = 3.0 * _lead_ii(32, 2, noise=0)
        res = realism(sinus, loud, 250.0, classifiers=("cnn",), folds=2, epochs=15, out_fs=50.0)
        assert res["cnn"]["auc"] > 0.9 and len(res["cnn"]["fold_aucs"]) == 2


def test_logistic_regression_is_at_its_optimum():
    from ecgfast.realism import logistic_regression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=300) > 0).astype(float)
    w = logistic_regression(x, y, l2=1.0)
    a = np.hstack([x, np.ones((300, 1))])
    p = 1 / (1 + np.exp(-a @ w))
    grad = a.T @ (p - y) + np.r_[w[:-1], 0.0]
    assert np.abs(grad).max() < 1e-6
    assert w[1] < -1 < 1 < w[0]  # the signs and sizes of the true weights


class TestSeveralLeadsAndNormalisation:
    def test_several_leads(self):
        # the same records, one of them with V1 flipped: only the V1 features give it away
        # (60 a side: with 72 features, 30 a side scatter to AUC 0.8 by chance)
        leads = ["II", "V1", "V5"]
        a = ecgfast.synthesize(60, fs=250, duration=10, leads=leads, seed=1).signals
        b = ecgfast.synthesize(60, fs=250, duration=10, leads=leads, seed=2).signals
        same = realism(a, b, 250.0, lead_names=leads)
        assert same["leads"] == leads and 0.2 < same["features"]["auc"] < 0.8
        names = list(same["features"]["features"])
        assert len(names) == 3 * len(FEATURE_NAMES) and "qrs_peak_to_peak[V1]" in names
        flipped = b.copy()
        flipped[:, 1] *= -1
        res = realism(a, flipped, 250.0, lead_names=leads)
        assert res["features"]["auc"] > 0.9
        assert all(g.endswith("[V1]") for g in res["features"]["giveaways"][:3])
        with pytest.raises(InvalidSignalError, match="lead"):
            realism(a, b[:, :2], 250.0)
        with pytest.raises(InvalidParameterError, match="lead_names"):
            realism(a, b, 250.0, lead_names=["II"])

    def test_peak_to_peak_normalisation_removes_absolute_amplitude(self):
        a = _lead_ii(30, 1, noise=0)
        b = 3.0 * _lead_ii(30, 2, noise=0)
        assert realism(a, b, 250.0)["features"]["auc"] > 0.95
        res = realism(a, b, 250.0, normalize="peak_to_peak")
        assert res["normalize"] == "peak_to_peak" and res["features"]["auc"] < 0.8
        with pytest.raises(InvalidParameterError, match="normalize"):
            realism(a, b, 250.0, normalize="zscore")

    def test_cnn_on_several_leads(self):
        pytest.importorskip("torch")
        # the second lead three times louder on one side: the CNN must look at both channels
        a = ecgfast.synthesize(48, fs=100, duration=10, leads=["V1", "II"], seed=1, noise=0)
        b = ecgfast.synthesize(48, fs=100, duration=10, leads=["V1", "II"], seed=2, noise=0)
        loud = b.signals.copy()
        loud[:, 1] *= 3.0
        res = realism(a.signals, loud, 100.0, classifiers=("cnn",), folds=2, epochs=20,
                      out_fs=50.0)  # fmt: skip
        assert res["cnn"]["auc"] > 0.9


def _template(fs: float) -> np.ndarray:
    """Two leads of one beat, 0.7 s, R at 0.25 s: P, QRS and T Gaussians, zero at both ends."""
    t = (np.arange(round(0.7 * fs)) - round(0.25 * fs)) / fs

    def g(mu: float, sd: float, amp: float) -> np.ndarray:
        return amp * np.exp(-0.5 * ((t - mu) / sd) ** 2)

    ii = g(-0.16, 0.025, 0.12) + g(-0.02, 0.008, -0.1) + g(0.0, 0.01, 1.0) + g(0.25, 0.04, 0.3)
    v1 = g(-0.16, 0.025, -0.05) + g(-0.01, 0.012, 0.2) + g(0.02, 0.012, -0.9) + g(0.25, 0.05, 0.1)
    return np.stack([ii, v1])


class TestMedianBeatRecords:
    fs = 250.0

    def _records(self, n: int = 3, seed: int = 0) -> np.ndarray:
        """``n`` 10-s records of the template at irregular R times (55-85 bpm) with a little
        white noise."""
        rng = np.random.default_rng(seed)
        tpl = _template(self.fs)
        x = np.zeros((n, 2, round(10 * self.fs)))
        for k in range(n):
            start = rng.integers(0, 100)
            while start + tpl.shape[1] <= x.shape[-1]:
                x[k, :, start : start + tpl.shape[1]] += tpl
                start += round(rng.uniform(0.7, 1.1) * self.fs)
        return x + rng.normal(0, 0.005, x.shape)

    def test_the_beat_comes_back_repeated_every_period(self):
        from ecgfast.realism import median_beat_records

        x = self._records()
        before = x.copy()
        m = median_beat_records(x, self.fs)
        np.testing.assert_array_equal(x, before)  # not modified
        assert m.shape == x.shape and m.dtype == np.float64
        tpl, w, step = _template(self.fs), _template(self.fs).shape[1], round(self.fs)
        for k in range(len(x)):
            np.testing.assert_allclose(m[k, :, :w], tpl, atol=0.02)
            assert np.argmax(m[k, 0, :w]) == round(0.25 * self.fs)
            np.testing.assert_array_equal(m[k, :, :w], m[k, :, step : step + w])
            assert not m[k, :, w:step].any()  # zero between the beats

    def test_shapes_layouts_and_the_aligning_lead(self):
        from ecgfast.realism import median_beat_records

        x = self._records(2)
        one = median_beat_records(x[:, 0], self.fs)
        assert one.shape == (2, x.shape[-1])
        np.testing.assert_allclose(one, median_beat_records(x, self.fs)[:, 0])
        np.testing.assert_allclose(
            median_beat_records(np.asfortranarray(x), self.fs), median_beat_records(x, self.fs)
        )
        # aligned on V1's (negative-dominant) R wave: the same beat, possibly a few samples off
        v1 = median_beat_records(x, self.fs, lead=1)
        lag = np.argmax(np.correlate(v1[0, 0, :200], median_beat_records(x, self.fs)[0, 0, :200],
                                     "full")) - 199  # fmt: skip
        assert abs(lag) <= round(0.05 * self.fs)

    @pytest.mark.parametrize(
        "kwargs,exc",
        [
            ({"lead": 2}, InvalidParameterError),
            ({"period": 0.5}, InvalidParameterError),
            ({"before": 0.0}, InvalidParameterError),
        ],
    )
    def test_bad_parameters(self, kwargs, exc):
        from ecgfast.realism import median_beat_records

        with pytest.raises(exc):
            median_beat_records(self._records(1), self.fs, **kwargs)

    def test_bad_signals(self):
        from ecgfast.realism import median_beat_records

        x = self._records(2)
        bad = x.copy()
        bad[1, 0, 7] = np.inf
        with pytest.raises(InvalidSignalError, match="NaN or infinity"):
            median_beat_records(bad, self.fs)
        with pytest.raises(InvalidSignalError, match="n_records"):
            median_beat_records(x[0, 0], self.fs)
        with pytest.raises(InvalidSignalError, match="record 1"):
            median_beat_records(np.stack([x[0], np.zeros_like(x[1])]), self.fs)
        with pytest.raises(InvalidSignalError, match="window"):
            median_beat_records(x[:, :, : round(0.5 * self.fs)], self.fs)


class TestViews:
    def test_median_beat_view_leaves_out_the_rhythm(self):
        # the same hearts at two heart-rate ranges (QT fixed, so the beats are alike): told
        # apart by their records, not by their median beats
        a = _lead_ii(40, 1, hr=(50, 60), qt=400)
        b = _lead_ii(40, 2, hr=(70, 80), qt=400)
        signal = realism(a, b, 250.0)
        assert signal["view"] == "signal" and signal["features"]["auc"] > 0.95
        assert "hr" in signal["features"]["giveaways"][:3]
        beat = realism(a, b, 250.0, view="median_beat")
        assert beat["view"] == "median_beat" and beat["features"]["auc"] < 0.8
        assert "hr" not in beat["features"]["giveaways"]
        with pytest.raises(InvalidParameterError, match="view"):
            realism(a, b, 250.0, view="beats")

    def test_unpairing_keeps_each_lead_and_breaks_the_records(self):
        from ecgfast.realism import _unpair_leads

        x = np.arange(20, dtype=np.float64)[:, None, None] * np.ones((1, 3, 4))
        u = _unpair_leads(x, np.random.default_rng(0))
        np.testing.assert_array_equal(u[:, 0], x[:, 0])
        for j in (1, 2):
            assert sorted(u[:, j, 0]) == sorted(x[:, j, 0])
            assert (u[:, j, 0] != x[:, j, 0]).any()
        assert (u[:, 1, 0] != u[:, 2, 0]).any()  # independent permutations

    def test_breakdown(self):
        from ecgfast.evaluate import realism_breakdown

        leads = ["II", "V1"]
        a = ecgfast.synthesize(30, fs=250, duration=10, leads=leads, seed=1).signals
        b = ecgfast.synthesize(30, fs=250, duration=10, leads=leads, seed=2).signals
        t = realism_breakdown(a, b, 250.0, lead_names=leads, progress=False, seed=4)
        assert list(t.columns) == ["view", "lead", "features_auc", "features_sd"]
        assert list(zip(t["view"], t["lead"], strict=True)) == [
            ("signal", "all"),
            ("median_beat", "all"),
            ("median_beat_unpaired", "all"),
            ("signal", "II"),
            ("signal", "V1"),
            ("median_beat", "II"),
            ("median_beat", "V1"),
        ]
        alone = realism(a[:, [1]], b[:, [1]], 250.0, view="median_beat", seed=4)
        assert t["features_auc"].iloc[6] == alone["features"]["auc"]
        one = realism_breakdown(a[:, 0], b[:, 0], 250.0, progress=False)
        assert list(one["view"]) == ["signal", "median_beat"] and list(one["lead"]) == ["all"] * 2
        with pytest.raises(InvalidParameterError, match="lead_names"):
            realism_breakdown(a, b, 250.0, lead_names=["II"], progress=False)
        with pytest.raises(InvalidParameterError, match="view"):
            realism_breakdown(a, b, 250.0, view="signal", progress=False)
