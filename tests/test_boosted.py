"""Gradient-boosted trees on beat inputs (ecgfast.boosted)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ecgfast.errors import InvalidParameterError, InvalidSignalError

pytest.importorskip("sklearn")

from ecgfast.boosted import BoostedBeatModel


def _beats(n: int, seed: int, classes: int = 3) -> SimpleNamespace:
    """Windows whose class is the height of a bump (plus noise), one RR-like feature."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    t = np.linspace(-1, 1, 60)
    bump = np.exp(-(t**2) / 0.05)
    x = rng.normal(0, 0.3, (n, 2, 60)) + (labels[:, None, None] * bump)[:, :, :] * [[1.0], [0.5]]
    features = np.c_[labels + rng.normal(0, 1.5, n), rng.normal(0, 1, n)]
    return SimpleNamespace(x=x, features=features, labels=labels)


class TestBoostedBeatModel:
    def test_learns_the_classes_and_is_deterministic(self):
        train, val, test = _beats(600, 0), _beats(200, 1), _beats(300, 2)
        model = BoostedBeatModel(window_step=3).fit(train, val)
        p = model.predict_proba(test)
        assert p.shape == (300, 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p.argmax(axis=1) == test.labels).mean() > 0.9  # chance is 1/3
        assert 1 <= model.n_iter <= model.max_iter
        again = BoostedBeatModel(window_step=3).fit(train, val).predict_proba(test)
        np.testing.assert_array_equal(p, again)
        # refit for a fixed count: exactly that many iterations
        refit = BoostedBeatModel(window_step=3).fit(train, n_iter=7)
        assert refit.n_iter == 7

    def test_inputs_are_features_then_every_step_th_sample(self):
        beats = _beats(10, 0)
        before = beats.x.copy()
        got = BoostedBeatModel(window_step=4).inputs(beats)
        assert got.shape == (10, 2 + 2 * 15) and got.dtype == np.float32
        np.testing.assert_allclose(got[:, 2:17], beats.x[:, 0, ::4], rtol=1e-6)
        np.testing.assert_allclose(got[:, 17:], beats.x[:, 1, ::4], rtol=1e-6)
        np.testing.assert_array_equal(beats.x, before)  # the input is not modified
        # without features: the windows only; non-contiguous windows are fine
        strided = SimpleNamespace(x=beats.x[:, :, ::2], features=None, labels=beats.labels)
        assert BoostedBeatModel(window_step=1).inputs(strided).shape == (10, 60)

    def test_a_class_absent_from_training_gets_probability_zero(self):
        train = _beats(300, 0)
        keep = train.labels != 1
        train = SimpleNamespace(
            x=train.x[keep],
            features=train.features[keep],
            labels=np.where(train.labels[keep] == 2, 2, 0),
        )
        model = BoostedBeatModel().fit(train, n_iter=5)
        p = model.predict_proba(_beats(20, 1))
        assert p.shape == (20, 3) and (p[:, 1] == 0).all()

    def test_class_weights_follow_the_power(self):
        y = np.array([0] * 90 + [1] * 10)
        w = BoostedBeatModel(balance_power=0.5)._weights(y, 2)
        assert w[0] == pytest.approx(1 / np.sqrt(90)) and w[-1] == pytest.approx(1 / np.sqrt(10))
        assert (BoostedBeatModel(balance_power=0)._weights(y, 2) == 1).all()

    def test_bad_input(self):
        beats = _beats(50, 0)
        with pytest.raises(InvalidParameterError, match="window_step"):
            BoostedBeatModel(window_step=0)
        with pytest.raises(InvalidParameterError, match="balance_power"):
            BoostedBeatModel(balance_power=2)
        with pytest.raises(InvalidParameterError, match="either val"):
            BoostedBeatModel().fit(beats)
        with pytest.raises(InvalidParameterError, match="either val"):
            BoostedBeatModel().fit(beats, beats, n_iter=3)
        with pytest.raises(InvalidParameterError, match="n_iter"):
            BoostedBeatModel().fit(beats, n_iter=0)
        with pytest.raises(InvalidParameterError, match="fit the model first"):
            BoostedBeatModel().predict_proba(beats)
        with pytest.raises(InvalidParameterError, match="windows"):
            BoostedBeatModel().inputs(SimpleNamespace(x=np.zeros((0, 1, 10)), features=None))
        bad = _beats(10, 0)
        bad.x[3, 0, 5] = np.nan
        with pytest.raises(InvalidSignalError, match="finite"):
            BoostedBeatModel().inputs(bad)
        bad = _beats(10, 0)
        bad.features[2, 1] = np.inf
        with pytest.raises(InvalidSignalError, match="finite"):
            BoostedBeatModel().fit(bad, n_iter=3)
        bad = _beats(10, 0)
        bad.features = np.zeros((20, 1))  # reshapes to (10, 2), must not pass
        with pytest.raises(InvalidParameterError, match="n = 10 windows"):
            BoostedBeatModel().inputs(bad)
        with pytest.raises(InvalidParameterError, match="no training beats"):
            BoostedBeatModel().fit(
                SimpleNamespace(x=np.zeros((0, 1, 10)), features=None, labels=np.zeros(0)),
                n_iter=3,
            )


def test_validation_beats_of_an_unseen_class_are_left_out_of_early_stopping():
    train, val = _beats(300, 0), _beats(100, 1)
    keep = train.labels != 2
    train = SimpleNamespace(
        x=train.x[keep], features=train.features[keep], labels=train.labels[keep]
    )
    model = BoostedBeatModel().fit(train, val)  # val holds class 2, training does not
    assert model.predict_proba(val).shape == (100, 2)
    only_unseen = SimpleNamespace(
        x=val.x[val.labels == 2],
        features=val.features[val.labels == 2],
        labels=val.labels[val.labels == 2],
    )
    with pytest.raises(InvalidParameterError, match="no validation beat"):
        BoostedBeatModel().fit(train, only_unseen)


def test_results_do_not_depend_on_the_thread_cap():
    import ecgfast

    train, val, test = _beats(300, 0), _beats(100, 1), _beats(50, 2)
    with ecgfast.thread_limit(1):
        one = BoostedBeatModel().fit(train, val).predict_proba(test)
    with ecgfast.thread_limit(2):
        two = BoostedBeatModel().fit(train, val).predict_proba(test)
    np.testing.assert_allclose(one, two, rtol=1e-12, atol=1e-12)


class TestBeatClassifierWithTrees:
    """ecgfast.torch.BeatClassifier with BoostedBeatModel members (saved with pickle)."""

    @staticmethod
    def _pipeline(features=("rr", "noise")):
        from ecgfast.preprocessing import Preprocessing

        return Preprocessing(
            "beat", 100.0, ("II",), 0.6, "record", band=(0.5, 40.0), features=features
        )

    def test_round_trip_needs_allow_pickle_and_repeats_the_probabilities(self, tmp_path):
        pytest.importorskip("torch")
        from ecgfast.evaluate import apply_offsets
        from ecgfast.torch import BeatClassifier, create_model

        train, test = _beats(600, 0), _beats(300, 2)
        trees = BoostedBeatModel(window_step=3).fit(train, n_iter=20)
        # the trees read the pipeline's two features, the network only the first
        net = create_model("resnet1d", 2, 3, extra_features=1, width=8)
        offsets = [np.zeros(3), np.array([0.0, 0.5, -0.5])]
        clf = BeatClassifier(
            [net, trees],
            self._pipeline(),
            ("N", "S", "V"),
            offsets=offsets,
            member_features=[("rr",), None],
        )
        assert clf.member_features == [("rr",), ("rr", "noise")]
        meta = None  # no rhythm gate: no meta columns needed
        x = test.x.astype(np.float32)
        p = clf.predict_proba_inputs(x, test.features.astype(np.float32), meta)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        tree_part = apply_offsets(trees.predict_proba(test), offsets[1]) / 2
        path = clf.save(tmp_path / "clf.pt")
        with pytest.raises(InvalidParameterError, match="allow_pickle=True"):
            BeatClassifier.load(path)
        back = BeatClassifier.load(path, allow_pickle=True)
        assert back.member_features == clf.member_features
        np.testing.assert_allclose(
            back.predict_proba_inputs(x, test.features.astype(np.float32), meta), p, atol=1e-12
        )
        # the network alone gives other probabilities: both members count
        only_trees = BeatClassifier([trees], self._pipeline(), ("N", "S", "V"), offsets=offsets[1:])
        got = only_trees.predict_proba_inputs(x, test.features.astype(np.float32), meta)
        np.testing.assert_allclose(got, 2 * tree_part)
        only_net = BeatClassifier(
            [net], self._pipeline(), ("N", "S", "V"), member_features=[("rr",)]
        )
        net_part = only_net.predict_proba_inputs(x, test.features.astype(np.float32), meta)
        np.testing.assert_allclose(p, (net_part + got) / 2, atol=1e-12)
        assert not np.allclose(got, p)

    def test_bad_members_and_features_raise(self):
        pytest.importorskip("torch")
        from ecgfast.torch import BeatClassifier

        trees = BoostedBeatModel(window_step=3).fit(_beats(200, 0), n_iter=3)
        with pytest.raises(InvalidParameterError, match="members must be"):
            BeatClassifier([object()], self._pipeline(), ("N", "S", "V"))
        with pytest.raises(InvalidParameterError, match="not made by the pipeline"):
            BeatClassifier(
                [trees], self._pipeline(), ("N", "S", "V"), member_features=[("qrs_width",)]
            )
        with pytest.raises(InvalidParameterError, match="one entry per member"):
            BeatClassifier([trees], self._pipeline(), ("N", "S", "V"), member_features=[None] * 2)
