"""The training engine (fit, checkpoints, resume), transfer policies, tasks and the bugs of the
redesign issue: each test here fails on the code before it."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ecgfast  # noqa: E402
from ecgfast.errors import InvalidParameterError  # noqa: E402
from ecgfast.preprocessing import Preprocessing  # noqa: E402
from ecgfast.torch import (  # noqa: E402
    MODELS,
    FitConfig,
    Task,
    apply_policy,
    create_model,
    finetune_classifier,
    fit,
    load,
    predict,
    save_checkpoint,
)
from ecgfast.torch import engine as engine_module  # noqa: E402
from ecgfast.torch.policies import frozen_stage_count  # noqa: E402

TINY = {
    "xresnet1d": {"widths": (8, 8, 16, 16)},
    "resnet1d": {"width": 8},
    "inception1d": {"nb_filters": 4, "bottleneck": 4, "kernel_size": 8},
}


class Arrays(torch.utils.data.Dataset):
    """Items (signal, label) from arrays, optionally with extra features as a second input."""

    def __init__(self, n, *, classes=3, length=64, seed=0, features=0, multilabel=False):
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, classes, n)
        t = np.linspace(0, 1, length)
        # class-dependent frequency so that the task is learnable
        self.x = np.sin(2 * np.pi * (2 + 3 * self.labels[:, None]) * t)[:, None, :]
        self.x = (self.x + 0.3 * rng.standard_normal(self.x.shape)).astype(np.float32)
        self.f = rng.standard_normal((n, features)).astype(np.float32) if features else None
        self.classes = tuple("abcdefgh"[:classes])
        self.multilabel = multilabel
        self.preprocessing = Preprocessing("beat", 100.0, ("II",), length / 100.0)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = torch.from_numpy(self.x[i])
        y = (
            torch.from_numpy(np.eye(len(self.classes), dtype=np.float32)[self.labels[i]])
            if self.multilabel
            else torch.tensor(self.labels[i])
        )
        return ((x, torch.from_numpy(self.f[i])) if self.f is not None else x), y


def _model(name="xresnet1d", n_out=3, **kw):
    torch.manual_seed(0)
    return create_model(name, 1, n_out, **TINY[name], **kw)


QUIET = {"progress": False, "batch_size": 16, "epochs": 2}


# -- policies -------------------------------------------------------------------------------


class TestPolicies:
    @pytest.mark.parametrize("name", sorted(MODELS))
    def test_stages_are_the_unit(self, name):
        model = _model(name)
        stages = model.stages()
        assert stages[0] is model.backbone.stem and len(stages) >= 3
        owned = {id(p) for s in stages for p in s.parameters()}
        assert owned == {id(p) for p in model.backbone.parameters()}

    @pytest.mark.parametrize("name", sorted(MODELS))
    @pytest.mark.parametrize("policy", ["scratch", "linear", "partial", "full"])
    def test_same_meaning_for_every_family(self, name, policy):
        model = _model(name)
        setup = apply_policy(model, policy, 1e-3, backbone_lr_factor=0.1, seed=0)
        stages = model.stages()
        n_frozen = frozen_stage_count(model, policy)
        expected = {
            "scratch": 0,
            "full": 0,
            "linear": len(stages),
            "partial": 1 + max(1, (len(stages) - 1) // 2),
        }[policy]
        assert n_frozen == expected
        for k, stage in enumerate(stages):
            assert all(p.requires_grad == (k >= n_frozen) for p in stage.parameters())
        assert all(p.requires_grad for p in model.head.parameters())
        lrs = [g["lr"] for g in setup.param_groups]
        # the trainable backbone gets the same reduced rate under partial and full
        assert (
            lrs
            == {
                "scratch": [1e-3, 1e-3],
                "full": [1e-3, 1e-4],
                "partial": [1e-3, 1e-4],
                "linear": [1e-3],
            }[policy]
        )
        assert setup.frozen == stages[:n_frozen]

    @pytest.mark.parametrize("name", sorted(MODELS))
    def test_scratch_reinitialises_as_create_model(self, name):
        model = _model(name)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        apply_policy(model, "scratch", 1e-3, seed=7)
        torch.manual_seed(7)
        fresh = create_model(name, 1, 3, **TINY[name])
        for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
            assert torch.equal(a, b), k

    @pytest.mark.parametrize("name", sorted(MODELS))
    def test_frozen_stages_do_not_change_in_training(self, name):
        model = _model(name)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        data = Arrays(48)
        finetune_classifier(model, data, data, policy="partial", **QUIET)
        frozen = model.stages()[: frozen_stage_count(model, "partial")]
        names = {id(t): k for k, t in model.state_dict(keep_vars=True).items()}
        for stage in frozen:
            for t in [*stage.parameters(), *stage.buffers()]:
                k = names[id(t)]
                assert torch.equal(before[k], model.state_dict()[k]), k  # incl. BN statistics
        assert any(
            not torch.equal(before[k], v)
            for k, v in model.state_dict().items()
            if k.startswith("head.")
        )

    def test_bad_policy(self):
        with pytest.raises(InvalidParameterError, match="policy"):
            apply_policy(_model(), "half", 1e-3)
        with pytest.raises(InvalidParameterError, match="policy"):
            finetune_classifier(_model(), Arrays(8), Arrays(8), policy=None)


# -- models ---------------------------------------------------------------------------------


class TestModels:
    @pytest.mark.parametrize("name", sorted(MODELS))
    def test_replaced_non_default_head_round_trips(self, name, tmp_path):
        model = _model(name, n_out=4, hidden=32, dropout=0.1)
        model.replace_head(5)  # keeps hidden=32 (it used to rebuild the default 128)
        assert model.head[2].out_features == 32 and model.config["n_outputs"] == 5
        model.replace_head(2, hidden=16)
        save_checkpoint(tmp_path / "m.pt", model)
        loaded, _ = load(tmp_path / "m.pt")
        model.eval()
        x = torch.randn(3, 1, 64)
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
        with pytest.raises(InvalidParameterError, match="unknown head"):
            model.replace_head(2, width=3)

    @pytest.mark.parametrize("name", sorted(MODELS))
    def test_extra_features_join_before_the_head(self, name):
        model = _model(name, extra_features=3)
        model.eval()
        x, f = torch.randn(4, 1, 64), torch.randn(4, 3)
        out = model(x, f)
        assert out.shape == (4, 3)
        assert not torch.equal(out, model(x, f + 1))  # the features matter
        with pytest.raises(InvalidParameterError, match="extra features"):
            model(x)
        with pytest.raises(InvalidParameterError, match="signal only"):
            _model(name)(x, f)


# -- engine ---------------------------------------------------------------------------------


class TestFit:
    def test_last_batch_of_one_sample_trains(self):
        data = Arrays(17)  # 16 + 1: the last batch used to hit BatchNorm with one sample
        res = finetune_classifier(_model(), data, data, policy="full", **QUIET)
        assert len(res.history) == 2

    def test_needs_two_training_items(self):
        with pytest.raises(InvalidParameterError, match="at least 2"):
            fit(_model(), Arrays(1), Arrays(4), Task.classification("abc"), progress=False)

    def test_same_seed_same_weights(self):
        a, b, c = _model(), _model(), _model()
        data = Arrays(40)
        for m, seed in ((a, 1), (b, 1), (c, 2)):
            fit(m, data, data, Task.classification("abc"), seed=seed, **QUIET)
        sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
        assert not all(torch.equal(sa[k], sc[k]) for k in sa)

    def test_resume_after_interruption_gives_the_same_result(self, tmp_path, monkeypatch):
        data, val = Arrays(40), Arrays(20, seed=1)
        cfg = FitConfig(epochs=4, batch_size=16, progress=False, patience=10, seed=3)
        straight = _model()
        ref = fit(
            straight, data, val, Task.classification("abc"), cfg, checkpoint=tmp_path / "a.pt"
        )
        calls = {"n": 0}
        real = engine_module._validate

        def interrupted(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(engine_module, "_validate", interrupted)
        broken = _model()
        with pytest.raises(KeyboardInterrupt):
            fit(broken, data, val, Task.classification("abc"), cfg, checkpoint=tmp_path / "b.pt")
        monkeypatch.setattr(engine_module, "_validate", real)
        _, meta = load(tmp_path / "b.pt")
        assert not meta["finished"] and len(meta["history"]) == 2
        resumed = _model()
        res = fit(
            resumed,
            data,
            val,
            Task.classification("abc"),
            cfg,
            checkpoint=tmp_path / "b.pt",
            resume=True,
        )
        assert res.resumed_from == 2 and len(res.history) == 4
        for k, v in straight.state_dict().items():
            assert torch.equal(v, resumed.state_dict()[k]), k
        assert [h["train_loss"] for h in res.history] == [h["train_loss"] for h in ref.history]
        # a finished run resumes to itself without training
        again = fit(
            _model(),
            data,
            val,
            Task.classification("abc"),
            cfg,
            checkpoint=tmp_path / "b.pt",
            resume=True,
        )
        assert again.history == res.history
        with pytest.raises(InvalidParameterError, match="other settings"):
            fit(
                _model(),
                data,
                val,
                Task.classification("abc"),
                cfg,
                lr=1e-2,
                checkpoint=tmp_path / "b.pt",
                resume=True,
            )

    def test_checkpoint_carries_model_task_and_pipeline(self, tmp_path):
        data = Arrays(32)
        model = _model(hidden=24)
        fit(model, data, data, Task.classification("abc"), checkpoint=tmp_path / "c.pt", **QUIET)
        loaded, meta = load(tmp_path / "c.pt")
        assert meta["task"]["kind"] == "classification" and meta["task"]["names"] == list("abc")
        assert meta["preprocessing"] == data.preprocessing and meta["finished"]
        assert meta["config"]["epochs"] == 2 and len(meta["history"]) == 2
        assert loaded.config == model.config
        # the pipeline turns a raw recording into inputs the model takes
        lead = ecgfast.synthesize(1, fs=100.0, leads="II", duration=6.0, seed=0).signals[0]
        inputs = meta["preprocessing"](lead, fs=100.0, lead_names=["II"])
        assert inputs.shape[1:] == (1, 64) and inputs.dtype == np.float32
        assert loaded(torch.from_numpy(inputs)).shape == (len(inputs), 3)

    def test_multilabel_focal_and_extra_inputs(self):
        ml = Arrays(48, multilabel=True)
        res = fit(_model(), ml, ml, Task.multilabel("abc"), **QUIET)
        assert 0 <= res.metrics["macro_auroc"] <= 1 and set(res.metrics["per_label_f1"]) == set(
            "abc"
        )
        assert res.monitor == "macro_auroc" and "val_macro_auroc" in res.history[0]
        feats = Arrays(48, features=2)
        task = Task.classification("abc", weights=[1.0, 2.0, 1.0], focal_gamma=2.0)
        res = fit(_model(extra_features=2), feats, feats, task, **QUIET)
        assert res.y_pred.shape == (48, 3) and np.allclose(res.y_pred.sum(1), 1, atol=1e-5)
        y, p = predict(_model(extra_features=2), feats, task)
        assert y.shape == (48,) and p.shape == (48, 3)

    def test_focal_loss_with_gamma_zero_is_weighted_cross_entropy(self):
        from ecgfast.torch import FocalLoss

        logits, target = torch.randn(10, 3), torch.randint(0, 3, (10,))
        w = torch.tensor([1.0, 2.0, 0.5])
        ce = torch.nn.functional.cross_entropy(logits, target, weight=w)
        torch.testing.assert_close(FocalLoss(0.0, w)(logits, target), ce)
        assert FocalLoss(2.0, w)(logits, target) < ce

    def test_monitor_and_config_errors(self):
        data = Arrays(16)
        with pytest.raises(InvalidParameterError, match="monitor"):
            fit(_model(), data, data, Task.classification("abc"), monitor="magic", **QUIET)
        with pytest.raises(InvalidParameterError, match="unknown setting"):
            fit(_model(), data, data, Task.classification("abc"), epoch=3)
        with pytest.raises(InvalidParameterError, match="device"):
            fit(_model(), data, data, Task.classification("abc"), device="warp9", **QUIET)
        res = fit(_model(), data, data, Task.classification("abc"), monitor="loss", **QUIET)
        best = min(range(2), key=lambda e: res.history[e]["val_loss"])
        assert res.best_epoch == best + 1

    def test_not_a_checkpoint(self, tmp_path):
        (tmp_path / "x.pt").write_bytes(b"nonsense")
        with pytest.raises(InvalidParameterError, match="not a readable checkpoint"):
            load(tmp_path / "x.pt")
        torch.save({"format": "ecgfast-checkpoint/1"}, tmp_path / "old.pt")
        with pytest.raises(InvalidParameterError, match="checkpoint/2"):
            load(tmp_path / "old.pt")
        with pytest.raises(InvalidParameterError, match="no checkpoint"):
            load(tmp_path / "missing.pt")


class TestKeep:
    """``keep="best"`` returns the weights of the best validation epoch, ``keep="last"`` those
    of the last epoch (refitting on all data for an epoch count chosen before)."""

    class Recorder(torch.nn.Module):
        """A small classifier that keeps its weights each time validation starts (``eval``)."""

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Conv1d(1, 4, 5), torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(),
                torch.nn.Linear(4, 3),
            )  # fmt: skip
            self.seen: list[dict] = []

        def forward(self, x):
            return self.net(x)

        def eval(self):
            self.seen.append({k: v.detach().clone() for k, v in self.state_dict().items()})
            return super().eval()

    @pytest.mark.parametrize("keep", ["best", "last"])
    def test_returned_weights(self, keep):
        torch.manual_seed(0)
        model = self.Recorder()
        tr, va = Arrays(64, seed=1), Arrays(6, seed=2)  # a tiny validation set: a noisy best
        res = fit(model, tr, va, Task.classification(tr.classes), epochs=6, patience=6,
                  lr=0.05, keep=keep, progress=False, batch_size=16)  # fmt: skip
        epochs = len(res.history)
        assert epochs == 6
        want = model.seen[epochs - 1] if keep == "last" else model.seen[res.best_epoch - 1]
        got = model.state_dict()
        assert all(torch.equal(got[k], want[k]) for k in want)

    def test_bad_keep(self):
        with pytest.raises(InvalidParameterError, match="keep"):
            FitConfig(keep="first").validate()
