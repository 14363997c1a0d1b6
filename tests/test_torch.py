"""ecgfast.torch: datasets, models, pretraining, checkpoints, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ecgfast  # noqa: E402
from ecgfast import cli  # noqa: E402
from ecgfast.errors import InvalidParameterError  # noqa: E402
from ecgfast.torch import (  # noqa: E402
    MODELS,
    ShardDataset,
    SyntheticBeats,
    SyntheticECG,
    TargetScaler,
    create_model,
    load,
    pretrain_regression,
)
from ecgfast.torch.datasets import BlockBatchSampler  # noqa: E402

SMALL = {"fs": 100.0, "duration": 5.0}


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


class TestSyntheticECG:
    def test_items_deterministic_and_batch_independent(self):
        ds = SyntheticECG(40, seed=3, **SMALL)
        again = SyntheticECG(40, seed=3, **SMALL)
        for i in (0, 7, 39):
            assert _same(ds[i], ds[i]) and _same(ds[i], again[i])
        idx = [5, 2, 30, 3, 4, 2]
        batch = ds.__getitems__(idx)
        for k, i in enumerate(idx):
            assert _same(batch[k], ds[i])
        assert not torch.equal(ds[0][0], SyntheticECG(40, seed=4, **SMALL)[0][0])

    def test_item_layout_and_labels(self):
        ds = SyntheticECG(8, targets="hr,qt", seed=1, scaler=None, normalize=None, **SMALL)
        x, y = ds[2]
        assert x.dtype == torch.float32 and x.shape == (12, 500)
        b = ecgfast.synthesize(1, seed=1, start=2, **SMALL)
        np.testing.assert_array_equal(x.numpy(), b.signals[0])
        np.testing.assert_allclose(y.numpy(), b.labels[["hr", "qt"]].to_numpy()[0], rtol=1e-6)

    def test_normalisation_crop_scaler_transform(self):
        z = SyntheticECG(8, seed=0, **SMALL)[1][0]
        np.testing.assert_allclose(z.mean(-1).numpy(), 0, atol=1e-4)
        np.testing.assert_allclose(z.std(-1, unbiased=False).numpy(), 1, atol=1e-3)
        m = SyntheticECG(8, seed=0, normalize="minmax", **SMALL)[1][0]
        assert m.min() >= 0 and m.max() <= 1
        c = SyntheticECG(8, seed=0, crop=2.0, **SMALL)
        assert c[3][0].shape == (12, 200) and _same(c[3], c[3])
        ds = SyntheticECG(64, seed=0, **SMALL)
        raw = SyntheticECG(64, seed=0, scaler=None, **SMALL)
        np.testing.assert_allclose(
            ds.scaler.inverse(ds[5][1].numpy()), raw[5][1].numpy(), rtol=1e-5
        )
        t = SyntheticECG(4, seed=0, transform=lambda x, y: (x * 0, y), **SMALL)
        assert float(t[0][0].abs().sum()) == 0.0

    def test_leads_and_rate(self):
        ds = SyntheticECG(4, leads=["II", "V5"], fs=250, duration=4)
        assert ds[0][0].shape == (2, 1000) and ds.lead_names == ("II", "V5")

    def test_dataloader_workers_match_main_process(self):
        ds = SyntheticECG(24, seed=2, **SMALL)
        sampler = BlockBatchSampler(24, 8, shuffle=True, seed=1)
        main = list(torch.utils.data.DataLoader(ds, batch_sampler=sampler, num_workers=0))
        two = list(
            torch.utils.data.DataLoader(
                ds, batch_sampler=sampler, num_workers=2, multiprocessing_context="fork"
            )
        )
        for (xa, ya), (xb, yb) in zip(main, two, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)

    def test_block_sampler(self):
        s = BlockBatchSampler(10, 4, shuffle=True, seed=0)
        batches = list(s)
        assert sorted(i for b in batches for i in b) == list(range(10))
        assert all(b == list(range(b[0], b[0] + len(b))) for b in batches)
        many = BlockBatchSampler(100, 4, shuffle=True, seed=0)
        first = [b[0] for b in many]
        many.set_epoch(1)
        assert [b[0] for b in many] != first and sorted([b[0] for b in many]) == sorted(first)
        assert len(BlockBatchSampler(10, 4, drop_last=True)) == 2

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"n": -1},
            {"n": 4, "targets": ("hr", "st_level")},
            {"n": 4, "targets": ()},
            {"n": 4, "normalize": "l2"},
            {"n": 4, "crop": -1.0},
            {"n": 4, "scaler": "yes"},
            {"n": 4, "hr": 1000},
        ],
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(InvalidParameterError):
            SyntheticECG(**kwargs, **SMALL)

    def test_index_out_of_range(self):
        with pytest.raises(IndexError):
            SyntheticECG(4, **SMALL)[4]


class TestSyntheticDiagnoses:
    def test_targets_follow_the_generator_and_stay_binary(self):
        kw = dict(rhythm={"af": 0.5}, conduction={"lbbb": 0.3, "rbbb": 0.3}, **SMALL)
        ds = SyntheticECG(16, targets=("hr", "AF", "LBBB", "RBBB", "CD"), seed=2, **kw)
        b = ecgfast.synthesize(16, seed=2, **kw)
        y = np.stack([ds[i][1].numpy() for i in range(16)])
        np.testing.assert_array_equal(y[:, 1], b.labels["param_af"].to_numpy())
        np.testing.assert_array_equal(y[:, 2], (b.labels["param_conduction"] == 1).to_numpy())
        np.testing.assert_array_equal(y[:, 4], b.labels["CD"].to_numpy())
        assert set(np.unique(y[:, 1:])) <= {0.0, 1.0}  # not standardised
        assert abs(y[:, 0].mean()) < 1.5  # hr is

    def test_a_multilabel_model_learns_them(self):
        from ecgfast.torch import Task, fit, predict

        kw = dict(
            targets=("AF", "LBBB", "RBBB"),
            leads=["II", "V1"],
            rhythm={"af": 0.5},
            conduction={"lbbb": 0.3, "rbbb": 0.3},
            **SMALL,
        )
        tr, va = SyntheticECG(384, seed=1, **kw), SyntheticECG(96, seed=2, **kw)
        task = Task.multilabel(("AF", "LBBB", "RBBB"))
        torch.manual_seed(0)
        model = create_model("resnet1d", 2, 3, width=16)
        fit(model, tr, va, task, epochs=4, batch_size=32, lr=3e-3, seed=0, progress=False)
        y, p = predict(model, va, task)
        from ecgfast.evaluate import auroc

        aucs = [auroc(y[:, k], p[:, k]) for k in range(3)]
        # bundle-branch blocks are plain in V1 at once; AF (5 beats, 100 Hz) takes longer
        assert aucs[0] > 0.7 and min(aucs[1:]) > 0.95


class TestSyntheticBeats:
    def test_windows_and_beat_targets(self):
        ds = SyntheticBeats(6, window=0.8, beats_per_record=4, seed=1, scaler=None, **SMALL)
        assert len(ds) == 24
        x, _ = ds[5]
        assert x.shape == (12, 80)
        b = ecgfast.synthesize(6, seed=1, **SMALL)
        ys = np.stack([ds[i][1].numpy() for i in range(len(ds))])
        # per-beat intervals scatter around the record's median labels
        lab = b.labels[["hr", "pr", "qrs", "qt"]].to_numpy()
        per_record = ys.reshape(6, 4, 4).mean(axis=1)
        assert np.all(np.abs(per_record[:, 1:] - lab[:, 1:]) < 25)
        assert np.all(np.abs(per_record[:, 0] - lab[:, 0]) < 15)
        assert _same(
            ds[5],
            SyntheticBeats(6, window=0.8, beats_per_record=4, seed=1, scaler=None, **SMALL)[5],
        )

    def test_window_longer_than_record(self):
        with pytest.raises(InvalidParameterError):
            SyntheticBeats(2, window=6.0, **SMALL)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    ecgfast.synthesize_to(root, 20, shard_size=8, seed=5, progress=False, **SMALL)
    return root


class TestShardDataset:
    def test_equals_on_demand_generation(self, shards):
        disk = ShardDataset(shards, scaler=None)
        live = SyntheticECG(20, seed=5, scaler=None, **SMALL)
        assert len(disk) == 20
        for i in (0, 8, 19):
            x0, y0 = disk[i]
            x1, y1 = live[i]
            torch.testing.assert_close(x0, x1)
            torch.testing.assert_close(y0, y1)

    def test_ranks_are_disjoint_and_complete(self, shards):
        seen = []
        for rank in range(3):
            ds = ShardDataset(
                shards, rank=rank, world_size=3, scaler=None, normalize=None, equal_split=False
            )
            seen += [int(r) for r in ds._records]
            assert len(ds) in (6, 7)
        assert sorted(seen) == list(range(20))

    def test_equal_split_gives_every_rank_one_block_of_the_same_size(self, shards):
        live = SyntheticECG(20, seed=5, scaler=None, normalize=None, **SMALL)
        seen = []
        for rank in range(3):
            ds = ShardDataset(shards, rank=rank, world_size=3, scaler=None, normalize=None)
            assert len(ds) == 6  # 20 // 3; records 18 and 19 are left out
            assert list(ds._records) == list(range(6 * rank, 6 * rank + 6))
            seen += list(ds._records)
            torch.testing.assert_close(ds[5][0], live[6 * rank + 5][0])
        assert sorted(seen) == list(range(18))

    def test_uncommitted_shard_is_refused(self, shards, tmp_path):
        import shutil

        copy = tmp_path / "copy"
        shutil.copytree(shards, copy)
        (copy / "shard-00001.done.json").unlink()
        with pytest.raises(InvalidParameterError, match="not committed"):
            ShardDataset(copy)
        ecgfast.synthesize_to(copy, 20, shard_size=8, seed=5, progress=False, **SMALL)
        assert len(ShardDataset(copy)) == 20

    def test_leads_and_resampling(self, shards):
        ds = ShardDataset(shards, leads=["ii", "V1"], fs=50.0)
        assert ds[0][0].shape == (2, 250)

    def test_errors(self, tmp_path, shards):
        with pytest.raises(InvalidParameterError):
            ShardDataset(tmp_path)
        with pytest.raises(InvalidParameterError):
            ShardDataset(shards, leads=["V9"])
        with pytest.raises(InvalidParameterError):
            ShardDataset(shards, rank=3, world_size=3)


class TestModels:
    @pytest.mark.parametrize("name", sorted(MODELS))
    @pytest.mark.parametrize("leads", [1, 8, 12])
    def test_shapes(self, name, leads):
        small = {"inception1d": {"nb_filters": 8, "depth": 3}}.get(name, {})
        model = create_model(name, leads, 3, **small).eval()
        for length in (250, 1001):
            x = torch.randn(2, leads, length)
            assert model(x).shape == (2, 3)
            assert model.forward_features(x).shape == (2, model.n_features)
        assert isinstance(model.backbone, torch.nn.Module) and isinstance(
            model.head, torch.nn.Module
        )
        model.replace_head(5)
        assert model(torch.randn(2, leads, 300)).shape == (2, 5)

    def test_bad_arguments(self):
        with pytest.raises(InvalidParameterError):
            create_model("transformer", 12, 4)
        with pytest.raises(InvalidParameterError):
            create_model("resnet1d", 0, 4)
        with pytest.raises(InvalidParameterError):
            create_model("xresnet1d", 12, 4, widths=(8, 8), layers=(1,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("pre")
    train = SyntheticECG(192, targets=("hr", "qrs"), seed=0, **SMALL)
    val = SyntheticECG(64, targets=train.targets, seed=1, scaler=train.scaler, **SMALL)
    torch.manual_seed(0)
    model = create_model("xresnet1d", 12, 2, widths=(16, 16, 32, 32))
    result = pretrain_regression(
        model,
        train,
        val,
        epochs=4,
        batch_size=32,
        lr=5e-3,
        progress=False,
        checkpoint=str(out / "m.pt"),
    )
    return model, result, val


class TestPretrain:
    def test_loss_goes_down(self, trained):
        _, result, _ = trained
        losses = [h["train_loss"] for h in result.history]
        assert losses[-1] < losses[0]
        assert set(result.best_mae) == {"hr", "qrs"}
        assert result.y_pred.shape == (64, 2)

    def test_checkpoint_round_trip(self, trained):
        model, result, val = trained
        loaded, meta = load(result.checkpoint)
        x = torch.stack([val[i][0] for i in range(8)])
        model.eval()
        with torch.no_grad():
            torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        scaler = meta["scaler"]
        assert isinstance(scaler, TargetScaler) and scaler.names == ("hr", "qrs")
        assert meta["ecgfast_version"] == ecgfast.__version__ and meta["finished"]
        pre = meta["preprocessing"]
        assert pre.fs == 100.0 and pre.kind == "record" and pre.leads == val.lead_names

    def test_bad_config(self, trained):
        model, _, val = trained
        with pytest.raises(InvalidParameterError):
            pretrain_regression(model, val, val, epochs=0)
        with pytest.raises(InvalidParameterError):
            pretrain_regression(model, val, val, lr=-1.0)
        with pytest.raises(InvalidParameterError):
            load("/nonexistent/model.pt")


def test_cli_pretrain_tiny(tmp_path, capsys):
    out = tmp_path / "run"
    args = [
        "pretrain",
        "--n-train",
        "64",
        "--n-val",
        "32",
        "--epochs",
        "1",
        "--fs",
        "100",
        "--duration",
        "5",
        "--batch-size",
        "32",
        "--out",
        str(out),
    ]
    assert cli.main(args) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["targets"] == ["hr", "pr", "qrs", "qt"] and len(report["history"]) == 1
    assert (out / "model.pt").is_file()
    assert "validation MAE" in capsys.readouterr().out


def test_import_ecgfast_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import ecgfast; ecgfast.synthesize(1)\n"
        "try:\n    import ecgfast.torch\nexcept ImportError as e:\n    print('ok', e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.startswith("ok") and "ecgfast[torch]" in res.stdout


class TestMaskedReconstruction:
    """Self-supervised pretraining (issue 16): hidden spans, reconstructed from the backbone."""

    @staticmethod
    def _beats(n, start):
        from ecgfast.beatdata import BEAT_FEATURES, synthetic_beats
        from ecgfast.torch import MITBIHBeats

        opts = {"window": (0.25, 0.45), "band": (0.5, 40.0), "template": True}
        got = synthetic_beats(
            n, seed=0, start=start, fs=250.0, lead="II", classes=("N", "S", "V", "F"),
            features=BEAT_FEATURES, progress=False, ectopy={"pvc": 0.1}, **opts,
        )  # fmt: skip
        return MITBIHBeats.from_beatset(got, normalize="record", **opts)

    def test_masks(self):
        from ecgfast.torch import MaskedReconstruction

        model = create_model("resnet1d", 2, 4, width=8)
        objective = MaskedReconstruction(model, length=84, mask_fraction=0.3, spans=3)
        x = torch.randn(16, 2, 84)
        m = objective.mask(x)
        assert m.shape == (16, 1, 84) and set(torch.unique(m).tolist()) <= {0.0, 1.0}
        hidden = m.sum(dim=-1).squeeze(1)
        span = round(0.3 * 84 / 3)
        assert bool((hidden >= span).all()) and bool((hidden <= 3 * span).all())
        objective.eval()
        assert torch.equal(objective.mask(x), objective.mask(x))  # fixed validation masks
        before = x.clone()
        out = objective(x)
        assert out.shape == (16, 2, 2, 84) and torch.equal(x, before)  # input not modified
        assert torch.equal(out[:, 1, :1], objective.mask(x).expand(16, 1, 84))

    def test_learns_to_fill_the_gaps(self):
        from ecgfast.torch import (
            MaskedReconstruction,
            SignalTargets,
            fit,
            masked_reconstruction_task,
        )

        tr, va = self._beats(24, 0), self._beats(4, 24)
        torch.manual_seed(0)
        model = create_model("resnet1d", tr.x.shape[1], 4, width=16, extra_features=11)
        head = {k: v.clone() for k, v in model.head.state_dict().items()}
        stem = [p.detach().clone() for p in model.backbone.stem.parameters()]
        objective = MaskedReconstruction(model, length=tr.x.shape[-1])
        task = masked_reconstruction_task()
        result = fit(
            objective, SignalTargets(tr), SignalTargets(va), task, epochs=5, lr=3e-3, batch_size=64,
            progress=False, seed=0,
        )  # fmt: skip
        r2 = [h["val_masked_r2"] for h in result.history]
        # predicting the mean scores 0: the backbone's features fill the hidden spans
        assert r2[-1] > 0.2 and r2[-1] > r2[0] + 0.1
        assert all(torch.equal(v, head[k]) for k, v in model.head.state_dict().items())
        assert not all(
            torch.equal(a, b) for a, b in zip(stem, model.backbone.stem.parameters(), strict=True)
        )

    def test_bad_arguments(self):
        from ecgfast.torch import MaskedReconstruction

        model = create_model("resnet1d", 1, 4, width=8)
        for kwargs in ({"mask_fraction": 0.0}, {"mask_fraction": 0.95}, {"spans": 0}):
            with pytest.raises(InvalidParameterError):
                MaskedReconstruction(model, length=100, **kwargs)
        with pytest.raises(InvalidParameterError):
            MaskedReconstruction(model, length=10)
        with pytest.raises(InvalidParameterError):
            MaskedReconstruction(torch.nn.Linear(3, 3), length=100)
        with pytest.raises(InvalidParameterError, match="samples"):
            MaskedReconstruction(model, length=100)(torch.randn(2, 1, 120))
