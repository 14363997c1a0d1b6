"""Record-level diagnosis labels (LUDB, CinC 2021), the multi-task pretraining objective and the
LUDB transfer experiment (``ecgfast ludb``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from ecgfast._data import SHIPPED_LUDB
from ecgfast.diagnoses import LUDB_LABELS, cinc2021_diagnoses, ludb_diagnoses
from ecgfast.errors import EcgError, InvalidParameterError


class TestLudbDiagnoses:
    def test_shipped_records(self):
        t = ludb_diagnoses(SHIPPED_LUDB).set_index("record")
        assert list(t.index) == ["1", "38"]
        assert list(t.columns) == list(LUDB_LABELS)
        # 1: sinus bradycardia, left axis, LVH, non-specific repolarisation
        # 38: atrial fibrillation, left axis, PVCs, LVH, ischaemia
        expect = {
            "1": {"SBRAD", "LAD", "LVH", "NSSTT"},
            "38": {"AF", "LAD", "EXTRA", "LVH", "ISC"},
        }
        for rec, positives in expect.items():
            assert {c for c in t.columns if t.loc[rec, c] == 1.0} == positives

    def test_subset_keeps_order(self):
        t = ludb_diagnoses(SHIPPED_LUDB, ["LVH", "AF"])
        assert list(t.columns) == ["record", "LVH", "AF"]
        assert t["AF"].tolist() == [0.0, 1.0]

    @pytest.mark.parametrize("labels", [["AF", "nope"], []])
    def test_unknown_labels(self, labels):
        with pytest.raises(InvalidParameterError, match="LUDB labels"):
            ludb_diagnoses(SHIPPED_LUDB, labels)

    def test_no_table(self, tmp_path):
        with pytest.raises(EcgError, match=r"ludb\.csv"):
            ludb_diagnoses(tmp_path)

    def test_shared_counts_match_a_plain_reading(self, shared_data):
        root = shared_data / "ludb"
        t = ludb_diagnoses(root)
        raw = pd.read_csv(root / "ludb.csv", dtype=str).fillna("")
        raw = raw[raw.ID.isin(t.record.str.split("/").str[-1])]
        assert len(t) == len(raw) > 0
        rhythm = raw["Rhythms"].str.lower()
        af = rhythm.str.contains("fibrillation") | rhythm.str.contains("flutter")
        assert t["AF"].sum() == af.sum() > 0
        assert t["PACE"].sum() == (raw["Cardiac pacing"].str.strip() != "").sum()
        assert t["LAD"].sum() == raw["Electric axis of the heart"].str.contains("left axis").sum()
        assert set(np.unique(t.drop(columns="record").to_numpy())) <= {0.0, 1.0}


def _header(path, dx: str) -> None:
    path.write_text(f"{path.stem} 1 500 5000\n{path.stem}.mat 16 1000 16 0 0 0 0 I\n# Dx: {dx}\n")


class TestCinc2021Diagnoses:
    def test_codes_by_frequency(self, tmp_path):
        (tmp_path / "g").mkdir()
        _header(tmp_path / "A1.hea", "164889003,59118001")
        _header(tmp_path / "A2.hea", "164889003")
        _header(tmp_path / "g" / "A3.hea", "426783006")
        t = cinc2021_diagnoses(tmp_path)
        assert list(t.columns) == ["record", "164889003", "426783006", "59118001"]
        assert t.record.tolist() == ["A1", "A2", "g/A3"]
        assert t["164889003"].tolist() == [1.0, 1.0, 0.0]
        assert list(cinc2021_diagnoses(tmp_path, min_count=2).columns) == ["record", "164889003"]
        chosen = cinc2021_diagnoses(tmp_path, ["59118001", "1"])
        assert chosen["59118001"].tolist() == [1.0, 0.0, 0.0] and chosen["1"].sum() == 0

    def test_errors(self, tmp_path):
        with pytest.raises(InvalidParameterError, match="no WFDB headers"):
            cinc2021_diagnoses(tmp_path)
        _header(tmp_path / "A1.hea", "1")
        with pytest.raises(InvalidParameterError, match="no diagnosis codes"):
            cinc2021_diagnoses(tmp_path, min_count=5)

    def test_shared_samples_load_through_the_multilabel_dataset(self, shared_data):
        pytest.importorskip("torch")
        from ecgfast.torch import WFDBDataset

        root = shared_data / "cinc2021"
        t = cinc2021_diagnoses(root, min_count=3)
        assert len(t) >= 10 and t.shape[1] > 2
        data = WFDBDataset(root, t.head(6), fs=100.0, duration=10.0)
        assert data.multilabel and data.classes == tuple(t.columns[1:])
        assert data.x.shape == (6, 12, 1000)
        np.testing.assert_array_equal(data.y, t.head(6).drop(columns="record").to_numpy())


class TestLabelFolds:
    def test_balanced_and_stratified(self):
        from ecgfast.apps.records import label_folds

        rng = np.random.default_rng(3)
        y = (rng.random((103, 6)) < [0.5, 0.2, 0.1, 0.06, 0.3, 0.04]).astype(float)
        fold = label_folds(y, 5, seed=1)
        sizes = np.bincount(fold, minlength=5)
        assert sizes.max() - sizes.min() <= 1
        per_fold = np.array([y[fold == k].sum(axis=0) for k in range(5)])
        # every label spread over the folds almost evenly (random assignment is far worse)
        assert np.all(per_fold.max(axis=0) - per_fold.min(axis=0) <= 2)
        np.testing.assert_array_equal(fold, label_folds(y, 5, seed=1))
        assert not np.array_equal(fold, label_folds(y, 5, seed=2))

    @pytest.mark.parametrize("k", [1, 11])
    def test_bad_k(self, k):
        from ecgfast.apps.records import label_folds

        with pytest.raises(InvalidParameterError, match="folds"):
            label_folds(np.zeros((10, 2)), k)


class TestMultitask:
    def test_loss_is_masked_l1_plus_bce(self):
        torch = pytest.importorskip("torch")
        from ecgfast.torch.tasks import Task

        task = Task.multitask(("hr", "qt"), ("AF", "LBBB", "PVC"))
        out = torch.tensor([[0.5, -1.0, 2.0, -3.0, 0.1], [1.5, 0.0, -1.0, 0.5, 0.0]])
        y = torch.tensor([[0.0, float("nan"), 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0, 1.0]])
        l1 = (0.5 + 0.5 + 1.0) / 3  # the NaN left out
        bce = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 2:], y[:, 2:])
        assert float(task.loss(out, y)) == pytest.approx(l1 + float(bce), rel=1e-6)

    def test_predictions_and_metrics(self):
        pytest.importorskip("torch")
        from ecgfast.torch import TargetScaler
        from ecgfast.torch.tasks import Task

        scaler = TargetScaler(("hr", "AF"), np.array([60.0, 0.0]), np.array([10.0, 1.0]))
        task = Task.multitask(("hr",), ("AF",), scaler)
        outputs = np.array([[1.0, 0.0], [-1.0, 3.0], [0.0, -2.0]], dtype=np.float32)
        pred = task.predictions(outputs)
        np.testing.assert_allclose(pred[:, 0], [70.0, 50.0, 60.0])
        np.testing.assert_allclose(pred[:, 1], 1 / (1 + np.exp(-outputs[:, 1])), rtol=1e-6)
        m = task.metrics(np.array([[0.0, 1.0], [-1.0, 1.0], [0.0, 0.0]]), outputs)
        assert m["mae"]["hr"] == pytest.approx(10.0 / 3)
        assert m["per_label_auroc"]["AF"] == pytest.approx(1.0)
        with pytest.raises(InvalidParameterError):
            Task.multitask(("hr",), ())

    def test_pretrains_on_synthetic_diagnoses(self):
        pytest.importorskip("torch")
        from ecgfast.apps.records import RecordExperiment, pretrain_on_synthetic_records

        cfg = RecordExperiment(pretrain_records=24, pretrain_epochs=1)
        state, summary = pretrain_on_synthetic_records(cfg, "pathology", say=None)
        assert summary["best_epoch"] == 1 and set(summary["val_mae"]) == {"hr", "pr", "qrs", "qt"}
        assert summary["val_macro_auroc"] is None or 0 <= summary["val_macro_auroc"] <= 1
        # the head is kept, its outputs named: the intervals, then the generator's diagnoses
        assert summary["outputs"][:4] == ["hr", "pr", "qrs", "qt"] and "AF" in summary["outputs"]
        assert state["head.6.weight"].shape[0] == len(summary["outputs"])
        assert summary["scaler"]["names"] == summary["outputs"]
        with pytest.raises(InvalidParameterError, match="pretraining source"):
            pretrain_on_synthetic_records(cfg, "nope", say=None)

    def test_pretrains_on_the_ludb_population(self):
        pytest.importorskip("torch")
        from ecgfast.apps.records import (
            PRETRAIN_SOURCES,
            RecordExperiment,
            pretrain_on_synthetic_records,
        )

        assert PRETRAIN_SOURCES["dipole-ludb"]["synth"] == {"population": "ludb"}
        ludb_pathology = PRETRAIN_SOURCES["pathology-ludb"]
        assert ludb_pathology["synth"]["population"] == "ludb" and ludb_pathology["diagnoses"]
        cfg = RecordExperiment(pretrain_records=16, pretrain_epochs=1)
        state, summary = pretrain_on_synthetic_records(cfg, "dipole-ludb", say=None)
        assert summary["best_epoch"] == 1 and set(summary["val_mae"]) == {"hr", "pr", "qrs", "qt"}
        assert summary["outputs"] == ["hr", "pr", "qrs", "qt"]
        assert state["head.6.weight"].shape[0] == 4


class TestMatchedHead:
    """The pretrained head read as the target's labels (``head="matched"``)."""

    OUTPUTS = ("hr", "pr", "qrs", "qt", "AF", "PAC", "PVC", "AVB")

    def _pretrained(self):
        torch = pytest.importorskip("torch")
        from ecgfast.torch import create_model

        torch.manual_seed(1)
        source = create_model("resnet1d", 12, len(self.OUTPUTS)).eval()
        with torch.no_grad():  # non-trivial running statistics in the head's batch norms
            for m in source.head.modules():
                if isinstance(m, torch.nn.BatchNorm1d):
                    m.running_mean.uniform_(-1, 1)
                    m.running_var.uniform_(0.5, 2)
        names = list(self.OUTPUTS)
        scaler = {"names": names, "mean": [70.0, 160.0, 95.0, 400.0] + [0.0] * 4,
                  "std": [15.0, 25.0, 12.0, 35.0] + [1.0] * 4}  # fmt: skip
        return torch, source, names, scaler

    def test_each_label_reads_its_counterparts(self):
        from ecgfast.diagnoses import LUDB_FROM_SYNTHETIC as TERMS
        from ecgfast.torch import create_model, matched_head

        torch, source, names, scaler = self._pretrained()
        labels = ("AF", "SBRAD", "EXTRA", "AVB", "LAFB")
        torch.manual_seed(2)
        model = create_model("resnet1d", 12, len(labels)).eval()
        fresh_lafb = model.state_dict()["head.6.weight"][4].clone()
        model.load_state_dict(
            {k: v for k, v in source.state_dict().items() if not k.startswith("head.")},
            strict=False,
        )
        matched = matched_head(model, source.state_dict(), names, scaler, labels, TERMS)
        assert matched == ["AF", "SBRAD", "EXTRA", "AVB"]  # no LAFB output in this source
        x = torch.randn(3, 12, 1000)
        with torch.no_grad():
            pre, out = source(x).numpy(), model(x).numpy()
        hr = pre[:, 0] * 15.0 + 70.0
        pr = pre[:, 1] * 25.0 + 160.0
        np.testing.assert_allclose(out[:, 0], pre[:, 4], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out[:, 1], (hr - 60.0) / -5.0, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(out[:, 2], pre[:, 5] + pre[:, 6], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(out[:, 3], pre[:, 7] + (pr - 200.0) / 20.0, atol=1e-3)
        torch.testing.assert_close(model.state_dict()["head.6.weight"][4], fresh_lafb)

    def test_custom_terms_and_errors(self):
        from ecgfast.diagnoses import LUDB_FROM_SYNTHETIC as TERMS
        from ecgfast.torch import create_model, matched_head

        torch, source, names, scaler = self._pretrained()
        model = create_model("resnet1d", 12, 1).eval()
        model.load_state_dict(
            {k: v for k, v in source.state_dict().items() if not k.startswith("head.")},
            strict=False,
        )
        terms = {"LONGQT": (("qt", 450.0, 10.0),)}
        assert matched_head(model, source.state_dict(), names, scaler, ["LONGQT"], terms) == [
            "LONGQT"
        ]
        x = torch.randn(2, 12, 1000)
        with torch.no_grad():
            qt = source(x).numpy()[:, 3] * 35.0 + 400.0
            np.testing.assert_allclose(model(x).numpy()[:, 0], (qt - 450.0) / 10.0, atol=1e-3)
        wide = create_model("resnet1d", 12, 1, hidden=64)
        with pytest.raises(InvalidParameterError, match="head"):
            matched_head(wide, source.state_dict(), names, scaler, ["AF"], TERMS)
        backbone = {k: v for k, v in source.state_dict().items() if not k.startswith("head.")}
        with pytest.raises(InvalidParameterError, match="no head"):
            matched_head(model, backbone, names, scaler, ["AF"], TERMS)
        with pytest.raises(InvalidParameterError, match="no head"):  # outputs of another head
            matched_head(model, source.state_dict(), names[:3], scaler, ["AF"], TERMS)
        with pytest.raises(InvalidParameterError, match="no scaler"):  # SBRAD reads the HR
            matched_head(model, source.state_dict(), names, None, ["SBRAD"], TERMS)
        assert matched_head(model, source.state_dict(), names, None, ["AF"], TERMS) == ["AF"]

    def test_every_map_names_outputs_the_generator_has(self):
        from ecgfast import diagnoses
        from ecgfast.apps.records import INTERVALS, PRETRAIN_SOURCES
        from ecgfast.torch import DIAGNOSES, FINDINGS, PTBXL_SUPERCLASSES

        known = set(INTERVALS) | set(DIAGNOSES) | set(FINDINGS)
        maps = {
            "LUDB": (diagnoses.LUDB_FROM_SYNTHETIC, set(LUDB_LABELS)),
            "CinC": (diagnoses.CINC2021_FROM_SYNTHETIC, None),
            "PTB-XL": (diagnoses.PTBXL_FROM_SYNTHETIC, set(PTBXL_SUPERCLASSES)),
        }
        for name, (terms, labels) in maps.items():
            assert labels is None or set(terms) == labels, name
            for label, parts in terms.items():
                assert parts, (name, label)
                for part in parts:
                    output = part if isinstance(part, str) else part[0]
                    assert output in known, (name, label, part)
                    assert isinstance(part, str) or (len(part) == 3 and part[2] != 0)
        # the source built for it has a counterpart for every LUDB label
        outputs = set(INTERVALS) | set(PRETRAIN_SOURCES["pathology-matched"]["diagnoses"])
        for label, parts in diagnoses.LUDB_FROM_SYNTHETIC.items():
            assert all((p if isinstance(p, str) else p[0]) in outputs for p in parts), label

    def test_synthetic_findings_are_the_generators_parameters(self):
        pytest.importorskip("torch")
        import ecgfast
        from ecgfast.apps.records import RECORD_PATHOLOGY_MIX_LAFB
        from ecgfast.torch import FINDINGS
        from ecgfast.torch.datasets import record_targets

        b = ecgfast.synthesize(200, seed=3, duration=10, fs=100, **RECORD_PATHOLOGY_MIX_LAFB)
        y = record_targets(b.labels, FINDINGS)
        np.testing.assert_array_equal(y[:, 0], b.labels.param_qrs_axis < -30)
        np.testing.assert_array_equal(y[:, 1], b.labels.param_lafb > 0)
        np.testing.assert_array_equal(y[:, 2], b.labels.param_paced > 0)
        assert y.sum(axis=0).min() > 0  # every finding occurs in 200 records of this mix
        # LAFB turns the axis left (the generator's rule), so every LAFB record has LAD
        assert np.all(y[y[:, 1] > 0, 0] > 0)


class TestRecordExperiment:
    def test_cross_validation_report(self, shared_data, tmp_path):
        pytest.importorskip("torch")
        from ecgfast.apps.records import RecordExperiment, markdown, run_record_experiment

        cfg = RecordExperiment(
            labels=("AF", "LAD", "LVH", "ISC"),
            epochs=1,
            folds=2,
            seeds=(0,),
            fractions=(1.0, 0.5),
            pretrain=("dipole",),
            pretrain_records=16,
            pretrain_epochs=1,
        )
        records = [str(i) for i in range(1, 25)]
        report = run_record_experiment(
            shared_data / "ludb", cfg, train_records=records, out=tmp_path, say=None
        )
        runs = pd.DataFrame(report["runs"])
        assert len(runs) == 2 * 2 * 2  # folds x fractions x arms
        assert set(runs.init) == {"scratch", "dipole"}
        half = runs[runs.fraction == 0.5]
        assert (half.train_records + half.val_records).max() <= 0.5 * 12 + 1
        preds = report["predictions"]
        # each record is tested once per arm and fraction, in the fold that never trained on it
        per = preds.groupby(["init", "fraction"]).record.apply(sorted)
        assert all(p == sorted(records) for p in per)
        assert set(report["paired"]) == {"dipole - scratch, 100%", "dipole - scratch, 50%"}
        d = report["paired"]["dipole - scratch, 100%"]["macro_auroc"]
        a = runs[(runs.init == "dipole") & (runs.fraction == 1.0)].macro_auroc.to_numpy()
        b = runs[(runs.init == "scratch") & (runs.fraction == 1.0)].macro_auroc.to_numpy()
        assert d["mean"] == pytest.approx(np.nanmean(a - b))
        assert "| 100% | dipole |" in markdown(report)
        for name in (
            "report.md",
            "report.json",
            "runs.csv",
            "predictions.csv",
            "ludb_transfer.png",
        ):
            assert (tmp_path / name).stat().st_size > 0
        assert json.loads((tmp_path / "report.json").read_text())["config"]["folds"] == 2

    def test_pretrained_cache_and_repeated_folds(self, shared_data, tmp_path, monkeypatch):
        pytest.importorskip("torch")
        from ecgfast.apps import records

        cfg = records.RecordExperiment(
            labels=("AF", "LVH"), epochs=1, folds=2, seeds=(0, 1), fractions=(1.0,),
            pretrain=("dipole",), pretrain_records=16, pretrain_epochs=1,
        )  # fmt: skip
        kw = {"train_records": [str(i) for i in range(1, 13)], "say": None}
        first = records.run_record_experiment(shared_data / "ludb", cfg, out=tmp_path, **kw)
        assert len(list((tmp_path / "pretrained").glob("dipole-*.pt"))) == 1

        def no_pretraining(*args, **kwargs):
            raise AssertionError("pretrained again despite the cache")

        monkeypatch.setattr(records, "pretrain_on_synthetic_records", no_pretraining)
        again = records.run_record_experiment(shared_data / "ludb", cfg, out=tmp_path, **kw)
        pd.testing.assert_frame_equal(pd.DataFrame(first["runs"]), pd.DataFrame(again["runs"]))
        assert again["pretraining"] == first["pretraining"]
        # each seed draws its own partition (repeated cross-validation), shared by both arms
        p = first["predictions"]
        fold_of = p.groupby(["seed", "init"]).apply(lambda g: tuple(g.sort_values("record").fold))
        assert fold_of[(0, "scratch")] == fold_of[(0, "dipole")]
        assert fold_of[(0, "scratch")] != fold_of[(1, "scratch")]

    def test_matched_head_and_zero_shot_arms(self, shared_data):
        pytest.importorskip("torch")
        from ecgfast.apps import records
        from ecgfast.diagnoses import LUDB_FROM_SYNTHETIC
        from ecgfast.torch import matched_head, predict
        from ecgfast.torch.tasks import Task

        cfg = records.RecordExperiment(
            labels=("AF", "SBRAD", "LVH"), epochs=1, seeds=(0,), fractions=(1.0,),
            pretrain=("pathology",), pretrain_records=16, pretrain_epochs=1, head="both",
            zero_shot=True,
        )  # fmt: skip
        root = shared_data / "ludb"
        train, test = [str(i) for i in range(1, 13)], ["40", "41", "42"]
        report = records.run_record_experiment(
            root, cfg, train_records=train, test_records=test, cache=None, say=None
        )
        runs = pd.DataFrame(report["runs"]).set_index("init")
        arms = {"scratch", "pathology", "pathology+head", "pathology:zero-shot"}
        assert set(runs.index) == arms
        assert runs.loc["pathology:zero-shot", "best_epoch"] == 0
        assert runs.loc["pathology+head", "best_epoch"] >= 1
        assert set(report["paired"]) == {f"{a} - scratch, 100%" for a in arms - {"scratch"}}
        assert "Zero-shot arms are not trained" in records.markdown(report)
        # the zero-shot arm's predictions are the pretrained model's, its head read as the labels
        state, summary = records.pretrain_on_synthetic_records(cfg, "pathology", say=None)
        data = records._ludb_records(root, cfg, train, test)
        model = records._new_model(cfg, 12, 3, 0)
        model.load_state_dict(
            {k: v for k, v in state.items() if not k.startswith("head.")}, strict=False
        )
        outputs, scaler = summary["outputs"], summary["scaler"]
        matched_head(model, state, outputs, scaler, cfg.labels, LUDB_FROM_SYNTHETIC)
        te = records._take(data, np.flatnonzero(np.isin(data.records, test)))
        _, expected = predict(model, te, Task.multilabel(cfg.labels))
        p = report["predictions"]
        got = p[p.init == "pathology:zero-shot"][["p_AF", "p_SBRAD", "p_LVH"]].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        for bad, match in (({"head": "old"}, "head must be"), ({"zero_shot": True}, "source")):
            with pytest.raises(InvalidParameterError, match=match):
                records.run_record_experiment(root, records.RecordExperiment(**bad), say=None)

    def test_train_test_split_and_errors(self, shared_data):
        pytest.importorskip("torch")
        from ecgfast.apps.records import RecordExperiment, run_record_experiment

        cfg = RecordExperiment(labels=("AF", "LVH"), epochs=1, seeds=(0,), fractions=(1.0,))
        root = shared_data / "ludb"
        train, test = [str(i) for i in range(1, 13)], ["40", "41", "42"]
        report = run_record_experiment(root, cfg, train_records=train, test_records=test, say=None)
        assert sorted(set(report["predictions"].record)) == test
        assert [r["fold"] for r in report["runs"]] == [-1]
        assert math.isfinite(report["runs"][0]["macro_f1"])
        with pytest.raises(InvalidParameterError, match="not found"):
            run_record_experiment(root, cfg, train_records=["1", "999"], say=None)

    def test_warns_when_a_label_budget_is_too_small_to_learn(self, shared_data, recwarn):
        pytest.importorskip("torch")
        from ecgfast.apps.records import RecordExperiment, run_record_experiment

        root = shared_data / "ludb"
        train, test = [str(i) for i in range(1, 13)], ["40", "41"]
        cfg = RecordExperiment(labels=("AF", "LVH"), epochs=1, seeds=(0,), fractions=(1.0,))
        run_record_experiment(root, cfg, train_records=train, test_records=test, say=None)
        assert not [w for w in recwarn if "chance-level" in str(w.message)]
        small = RecordExperiment(
            labels=("AF", "LAD", "LVH", "ISC"), epochs=1, seeds=(0,), fractions=(0.2,)
        )
        with pytest.warns(UserWarning, match="chance-level"):
            run_record_experiment(root, small, train_records=train, test_records=test, say=None)
        with pytest.raises(InvalidParameterError, match="pretraining sources"):
            run_record_experiment(root, RecordExperiment(pretrain=("gan",)), say=None)
        with pytest.raises(InvalidParameterError, match="fractions"):
            run_record_experiment(root, RecordExperiment(fractions=(0.0,)), say=None)

    def test_cli(self, shared_data, tmp_path, capsys):
        pytest.importorskip("torch")
        from ecgfast.cli import main

        args = [
            "ludb",
            "--root",
            str(shared_data / "ludb"),
            "--pretrain",
            "none",
            "--train-records",
            *[str(i) for i in range(1, 11)],
            "--test-records",
            "20",
            "21",
            "--labels",
            "AF,LVH",
            "--epochs",
            "1",
            "--seeds",
            "0",
            "--fractions",
            "1",
            "--out",
            str(tmp_path),
        ]
        assert main(args) == 0
        assert "| 100% | scratch |" in capsys.readouterr().out
        assert main(["ludb", "--root", str(tmp_path), "--pretrain", "none"]) == 2


@pytest.fixture(scope="module")
def ptbxl_copy(tmp_path_factory):
    """A 30-record PTB-XL copy in the official layout (100-Hz records from the synthesizer),
    folds 1-10 in turn, four kinds of diagnostic statement and one record without any."""
    import wfdb

    import ecgfast

    root = tmp_path_factory.mktemp("ptbxl30")
    leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    codes = ["{'NORM': 100.0}", "{'IMI': 50.0, 'LVH': 100.0}", "{'NDT': 100.0}", "{'CLBBB': 100.0}"]
    batch = ecgfast.synthesize(30, seed=11, fs=100)
    rows = []
    for k in range(30):
        sub = root / "records100" / "00000"
        sub.mkdir(parents=True, exist_ok=True)
        name = f"{k + 1:05d}_lr"
        wfdb.wrsamp(
            name, fs=100, units=["mV"] * 12, sig_name=leads,
            p_signal=batch.signals[k].T.astype(np.float64), fmt=["16"] * 12, write_dir=str(sub),
        )  # fmt: skip
        code = "{'SR': 0.0}" if k == 29 else codes[k % 4]
        path = f"records100/00000/{name}"
        row = {"ecg_id": k + 1, "patient_id": 500 + k, "scp_codes": code}
        rows.append({**row, "strat_fold": k % 10 + 1, "filename_lr": path, "filename_hr": path})
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    scp = pd.DataFrame(
        {"diagnostic": [1, 1, 1, 1, 1, np.nan],
         "diagnostic_class": ["NORM", "MI", "HYP", "STTC", "CD", np.nan]},
        index=["NORM", "IMI", "LVH", "NDT", "CLBBB", "SR"],
    )  # fmt: skip
    scp.to_csv(root / "scp_statements.csv")
    return root


class TestPtbxlExperiment:
    def test_recommended_split_and_matched_superclasses(self, ptbxl_copy):
        pytest.importorskip("torch")
        from ecgfast.apps import records

        cfg = records.RecordExperiment(
            dataset="ptbxl", labels=("NORM", "MI", "STTC", "CD", "HYP"), epochs=1, seeds=(0,),
            fractions=(1.0,), pretrain=("pathology",), pretrain_records=16, pretrain_epochs=1,
            head="matched", zero_shot=True,
        )  # fmt: skip
        report = records.run_record_experiment(ptbxl_copy, cfg, cache=None, say=None)
        p = report["predictions"]
        # fold 10 (ecg_id 10, 20; 30 has no diagnostic superclass) is the test set of every arm
        assert set(p.record) == {"10", "20"}
        assert set(p.init) == {"scratch", "pathology+head", "pathology:zero-shot"}
        runs = pd.DataFrame(report["runs"]).set_index("init")
        assert runs.loc["scratch", "train_records"] + runs.loc["scratch", "val_records"] == 27
        assert "PTB-XL superdiagnostic diagnoses" in records.markdown(report)
        # the five superclasses read straight from the generator's outputs
        from ecgfast.diagnoses import PTBXL_FROM_SYNTHETIC
        from ecgfast.torch import matched_head

        state, summary = records.pretrain_on_synthetic_records(cfg, "pathology", say=None)
        model = records._new_model(cfg, 12, 5, 0)
        got = matched_head(
            model, state, summary["outputs"], summary["scaler"], cfg.labels, PTBXL_FROM_SYNTHETIC
        )
        assert got == list(cfg.labels)

    def test_given_records_cli_and_errors(self, ptbxl_copy, tmp_path, capsys):
        pytest.importorskip("torch")
        from ecgfast.apps import records
        from ecgfast.cli import main

        args = ["ptbxl", "--root", str(ptbxl_copy), "--pretrain", "none", "--labels", "NORM,MI",
                "--train-records", *[str(i) for i in range(1, 13)], "--test-records", "13", "14",
                "--epochs", "1", "--seeds", "0", "--fractions", "1",
                "--out", str(tmp_path)]  # fmt: skip
        assert main(args) == 0
        assert "PTB-XL superdiagnostic" in capsys.readouterr().out
        assert (tmp_path / "ptbxl_transfer.png").stat().st_size > 0
        preds = pd.read_csv(tmp_path / "predictions.csv")
        assert sorted(set(preds.record)) == [13, 14]
        bad = records.RecordExperiment(dataset="ptbxl", labels=("AF",))
        with pytest.raises(InvalidParameterError, match="not ptbxl labels"):
            records.run_record_experiment(ptbxl_copy, bad, say=None)
        with pytest.raises(InvalidParameterError, match="dataset must be"):
            records.run_record_experiment(ptbxl_copy, records.RecordExperiment(dataset="x"))
        for fs in (0.0, -1.0, float("nan")):
            with pytest.raises(InvalidParameterError, match="fs must be"):
                cfg = records.RecordExperiment(dataset="ptbxl", labels=("NORM",), fs=fs)
                records.run_record_experiment(ptbxl_copy, cfg, say=None)
        ok = records.RecordExperiment(dataset="ptbxl", labels=("NORM",), epochs=1, seeds=(0,))
        with pytest.raises(InvalidParameterError, match="ecg_id"):
            records.run_record_experiment(ptbxl_copy, ok, test_records=["30"], say=None)
