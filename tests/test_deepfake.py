"""synthesize(method="deepfake"): the deepfake-ecg GAN with ecgfast's open labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ecgfast
from ecgfast import deepfake
from ecgfast.errors import InvalidParameterError

pytest.importorskip("torch")
pytest.importorskip("deepfakeecg")


@pytest.fixture(scope="module")
def batch():
    return ecgfast.synthesize(24, method="deepfake", seed=7)


class TestDeepfake:
    def test_layout_and_lead_identities(self, batch):
        assert batch.signals.shape == (24, 12, 5000) and batch.signals.dtype == np.float32
        assert batch.fs == 500.0 and batch.lead_names == ecgfast.LEAD_NAMES
        i, ii, iii, avr, avl, avf = batch.signals[:, :6].transpose(1, 0, 2)
        np.testing.assert_allclose(iii, ii - i, atol=1e-6)
        np.testing.assert_allclose(avr, -(i + ii) / 2, atol=1e-6)
        np.testing.assert_allclose(avl, i - ii / 2, atol=1e-6)
        np.testing.assert_allclose(avf, ii - i / 2, atol=1e-6)
        # an ECG in mV: QRS complexes of a few tenths to a few mV in lead II
        pp = np.ptp(batch.signals[:, 1], axis=1)
        assert np.all((pp > 0.3) & (pp < 6))

    def test_labels_are_ecgfast_intervals_of_the_record(self, batch):
        lab = batch.labels
        assert lab.index.tolist() == list(range(24))
        assert lab["labelled"].mean() >= 0.9
        ok = lab[lab["labelled"]]
        assert ok["hr"].between(40, 130).all() and ok["qrs"].between(60, 140).all()
        assert ok["pr"].between(90, 260).all() and ok["qt"].between(280, 500).all()
        assert (lab.loc[~lab["labelled"], "unlabelled_reason"] != "").all()
        again = ecgfast.intervals(batch.signals[3], batch.fs)
        for k in ("hr", "pr", "qrs", "qt"):
            assert again[k] == lab.loc[3, k]
        # beats of lead II at the detected R peaks, one table for the batch
        per_record = batch.beats.groupby("record").size()
        assert (per_record.reindex(range(24), fill_value=0) >= lab["n_beats"] - 1).all()

    def test_record_depends_only_on_seed_and_index(self, batch):
        part = ecgfast.synthesize(5, method="deepfake", seed=7, start=9, leads=["II", "V5"])
        np.testing.assert_array_equal(part.signals, batch.signals[9:14][:, [1, 10]])
        pd.testing.assert_frame_equal(part.labels, batch.labels.iloc[9:14])
        other = ecgfast.synthesize(2, method="deepfake", seed=8)
        assert not np.array_equal(other.signals, batch.signals[:2])

    def test_empty_request_has_the_layout(self, batch):
        empty = ecgfast.synthesize(0, method="deepfake")
        assert empty.signals.shape == (0, 12, 5000)
        assert list(empty.labels.columns) == list(batch.labels.columns)
        assert list(empty.beats.columns) == list(batch.beats.columns)

    @pytest.mark.parametrize(
        "kwargs",
        [
            dict(hr=70),
            dict(fs=250),
            dict(duration=5),
            dict(noise=0),
            dict(rhythm="af"),
            dict(morphology="lvh"),
            dict(qrs=100),
        ],
    )
    def test_what_the_gan_cannot_honour_is_an_error(self, kwargs):
        with pytest.raises(InvalidParameterError, match="deepfake"):
            ecgfast.synthesize(2, method="deepfake", **kwargs)

    def test_through_synthesize_to_and_the_dataset(self, tmp_path):
        ecgfast.synthesize_to(
            tmp_path, 10, shard_size=4, method="deepfake", seed=2, leads="II", progress=False
        )
        ref = ecgfast.synthesize(10, method="deepfake", seed=2, leads="II")
        sig = np.concatenate([np.load(tmp_path / f"shard-0000{i}.signals.npy") for i in range(3)])
        np.testing.assert_array_equal(sig, ref.signals)
        from ecgfast.torch import SyntheticECG

        ds = SyntheticECG(
            10,
            targets=("hr", "qrs"),
            method="deepfake",
            seed=2,
            leads="II",
            scaler=None,
            normalize=None,
        )
        x, y = ds[4]
        np.testing.assert_array_equal(x.numpy(), ref.signals[4])
        np.testing.assert_allclose(
            y.numpy(), ref.labels[["hr", "qrs"]].iloc[4].to_numpy(float), rtol=1e-6
        )

    def test_blocks_do_not_depend_on_the_request(self):
        a = deepfake.gan_signals(3, seed=1, start=deepfake.BLOCK - 1)
        b = deepfake.gan_signals(deepfake.BLOCK + 2, seed=1, start=0)
        np.testing.assert_array_equal(a, b[deepfake.BLOCK - 1 :])


def test_cli_synth_deepfake(tmp_path, capsys):
    from ecgfast import cli

    out = tmp_path / "ds"
    args = ["synth", "--n", "5", "--out", str(out), "--method", "deepfake", "--leads", "II,V5"]
    assert cli.main([*args, "--seed", "4", "--shard-size", "8"]) == 0
    assert "wrote 5 records" in capsys.readouterr().out
    ref = ecgfast.synthesize(5, method="deepfake", seed=4, leads=["II", "V5"])
    np.testing.assert_array_equal(np.load(out / "shard-00000.signals.npy"), ref.signals)
    assert cli.main([*args, "--hr", "70"]) == 2
    assert "cannot be set" in capsys.readouterr().err


class TestMissingTargets:
    """GAN records the labeller could not measure carry NaN targets: left out, never zero."""

    def test_masked_l1_scaler_and_metrics(self):
        import torch

        from ecgfast.torch import TargetScaler
        from ecgfast.torch.tasks import MaskedL1Loss

        pred = torch.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
        target = torch.tensor([[2.0, float("nan")], [1.0, 1.0]])
        loss = MaskedL1Loss()(pred, target)
        assert loss.item() == pytest.approx((1 + 2 + 4) / 3)
        loss.backward()
        assert torch.isfinite(pred.grad).all() and pred.grad[0, 1] == 0
        scaler = TargetScaler.fit(("a", "b"), np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 6.0]]))
        np.testing.assert_allclose(scaler.mean, [3.0, 5.0])
        np.testing.assert_allclose(scaler.std, [np.std([1, 3, 5]), 1.0])
        m = ecgfast.evaluate.regression([[1.0, np.nan], [2.0, 4.0]], [[2.0, 9.0], [2.0, 5.0]], "ab")
        assert m["mae"] == {"a": 0.5, "b": 1.0}

    def test_resampled_dataset_and_pretrain_command(self, tmp_path, capsys):
        from ecgfast import cli
        from ecgfast.torch import SyntheticECG

        ds = SyntheticECG(4, method="deepfake", fs=100.0, leads="II", seed=3)
        assert ds.fs == 100.0 and ds[0][0].shape == (1, 1000)
        code = cli.main(
            [
                "pretrain",
                "--method",
                "deepfake",
                "--n-train",
                "16",
                "--n-val",
                "8",
                "--fs",
                "100",
                "--leads",
                "II",
                "--model",
                "resnet1d",
                "--epochs",
                "1",
                "--batch-size",
                "8",
                "--out",
                str(tmp_path / "run"),
                "--device",
                "cpu",
            ]
        )
        assert code == 0
        report = __import__("json").loads((tmp_path / "run" / "metrics.json").read_text())
        assert report["data"]["method"] == "deepfake"
        assert all(np.isfinite(v) for v in report["val_mae"].values())
