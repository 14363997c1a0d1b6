"""Real-data side of the torch layer: MIT-BIH beats, splits, classification metrics, policies."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ecgfast._data import SHIPPED_MITDB  # noqa: E402
from ecgfast.errors import InvalidParameterError  # noqa: E402
from ecgfast.torch import (  # noqa: E402
    AAMI_CLASSES,
    AAMI_MAP,
    DS1,
    DS2,
    PACED,
    MITBIHBeats,
    create_model,
    patient_split,
)


@pytest.fixture(scope="module")
def beats():
    return MITBIHBeats(SHIPPED_MITDB, window=0.8, fs=250)


class TestMITBIHBeats:
    def test_windows_classes_and_meta(self, beats):
        import wfdb

        assert beats[0][0].shape == (1, 200) and beats[0][1].dtype == torch.int64
        for rec in ("101", "119"):
            ann = wfdb.rdann(str(SHIPPED_MITDB / rec), "atr")
            n_beats = sum(sym in AAMI_MAP for sym in ann.symbol)
            got = int((beats.meta["record"] == rec).sum())
            assert n_beats - 2 <= got <= n_beats  # only beats at the very ends lack a full window
        counts = beats.class_counts()
        assert counts["N"] > 3000 and counts["V"] > 400  # 119 has bigeminy
        assert set(beats.meta["label"]) <= set(range(len(AAMI_CLASSES)))
        v = beats.meta[beats.meta["symbol"] == "V"]
        assert (v["label"] == AAMI_CLASSES.index("V")).all()

    def test_aami_map_and_splits(self):
        assert AAMI_MAP["L"] == "N" and AAMI_MAP["a"] == "S" and AAMI_MAP["E"] == "V"
        assert AAMI_MAP["/"] == "Q" and "+" not in AAMI_MAP and "~" not in AAMI_MAP
        assert not set(DS1) & set(DS2) and not (set(DS1) | set(DS2)) & set(PACED)
        train, val = patient_split([*DS2], 0.25, seed=3)
        assert not set(train) & set(val) and sorted(train + val) == sorted(DS2)
        # 201 and 202 are one patient: never on both sides
        for seed in range(10):
            tr, _ = patient_split(["201", "202", "203", "205"], 0.5, seed=seed)
            assert ("201" in tr) == ("202" in tr)

    def test_fraction_keeps_classes_deterministically(self):
        a = MITBIHBeats(SHIPPED_MITDB, ["119"], fraction=0.1, seed=1)
        b = MITBIHBeats(SHIPPED_MITDB, ["119"], fraction=0.1, seed=1)
        full = MITBIHBeats(SHIPPED_MITDB, ["119"])
        assert len(a) == len(b) and (a.meta["sample"] == b.meta["sample"]).all()
        assert 0.08 * len(full) <= len(a) <= 0.12 * len(full)
        assert set(a.meta["label"]) == set(full.meta["label"])

    def test_subset_equals_reading_the_records(self, beats):
        for fraction, seed in ((1.0, 0), (0.1, 1), (0.3, 7)):
            direct = MITBIHBeats(
                SHIPPED_MITDB, ["119", "223"], fs=250, fraction=fraction, seed=seed
            )
            sub = beats.subset(["119", "223"], fraction=fraction, seed=seed)
            assert np.array_equal(sub.x, direct.x)
            assert (sub.meta["sample"].to_numpy() == direct.meta["sample"].to_numpy()).all()
            assert np.array_equal(sub.labels, direct.labels)
        assert len(beats.subset()) == len(beats)
        with pytest.raises(InvalidParameterError, match="999"):
            beats.subset(["999"])
        with pytest.raises(InvalidParameterError):
            beats.subset(["119"], fraction=1.5)
        counts = beats.record_class_counts()
        assert list(counts.columns) == list(AAMI_CLASSES)
        assert counts.loc["119"].sum() == int((beats.meta["record"] == "119").sum())

    def test_stratified_patient_split(self, beats):
        counts = beats.record_class_counts()
        records = list(counts.index)
        for seed in range(5):
            train, val = patient_split(records, 1 / 3, seed=seed, class_counts=counts)
            assert not set(train) & set(val) and sorted(train + val) == sorted(records)
            assert len(val) == 2
            # every class carried by two or more patients lands on both sides
            for c in AAMI_CLASSES:
                carriers = counts.index[counts[c] > 0]
                if len(carriers) >= 2:
                    assert counts.loc[train, c].sum() > 0 and counts.loc[val, c].sum() > 0, c
            again = patient_split(records, 1 / 3, seed=seed, class_counts=counts)
            assert again == (train, val)
        with pytest.raises(InvalidParameterError, match="999"):
            patient_split([*records, "999"], 0.3, class_counts=counts)

    def test_unreadable_record_reported(self, tmp_path):
        for f in SHIPPED_MITDB.glob("101.*"):
            shutil.copy(f, tmp_path)
        (tmp_path / "999.hea").write_text("garbage\n")
        with pytest.warns(UserWarning, match="999"):
            ds = MITBIHBeats(tmp_path)
        assert len(ds.skipped) == 1 and "999" in ds.skipped[0][0]
        assert set(ds.meta["record"]) == {"101"}

    def test_missing_samples_are_skipped_and_reported_never_zero_filled(self, tmp_path):
        import wfdb

        rec = wfdb.rdrecord(str(SHIPPED_MITDB / "119"))
        sig = rec.p_signal.copy()
        lo, hi = 100_000, 110_000  # a lead-off stretch of ~28 s
        sig[lo:hi, :] = np.nan
        wfdb.wrsamp(
            "119",
            fs=rec.fs,
            units=rec.units,
            sig_name=rec.sig_name,
            p_signal=sig,
            fmt=["16", "16"],
            adc_gain=[200.0, 200.0],
            baseline=[0, 0],
            write_dir=str(tmp_path),
        )
        shutil.copy(SHIPPED_MITDB / "119.atr", tmp_path)
        clean = MITBIHBeats(SHIPPED_MITDB, ["119"], fs=250)
        with pytest.warns(UserWarning, match="NaN"):
            ds = MITBIHBeats(tmp_path, ["119"], fs=250)
        assert ds.skipped and "NaN" in ds.skipped[0][1]
        assert np.all(np.isfinite(ds.x))
        near = (clean.meta["sample"] * 360 / 250 > lo - 300) & (
            clean.meta["sample"] * 360 / 250 < hi + 300
        )
        kept = set(ds.meta["sample"])
        # every beat of the clean record is kept unless its window (+ the filters' 2-s reach)
        # comes near the gap, and none near it is kept
        assert kept <= set(clean.meta["sample"])
        assert not kept & set(clean.meta.loc[near, "sample"])
        far = (clean.meta["sample"] * 360 / 250 < lo - 3 * 360) | (
            clean.meta["sample"] * 360 / 250 > hi + 3 * 360
        )
        assert set(clean.meta.loc[far, "sample"]) <= kept
        # the beats that remain are those of the clean record, window for window
        same = clean.meta["sample"].isin(kept).to_numpy()
        np.testing.assert_allclose(ds.x, clean.x[same], atol=0.02)

    def test_records_missing_from_root_are_an_error(self):
        with pytest.raises(InvalidParameterError, match=r"not found.*777"):
            MITBIHBeats(SHIPPED_MITDB, ["101", "777"])

    @pytest.mark.parametrize(
        "kwargs", [{"records": ["102"]}, {"fraction": 0.0}, {"normalize": "l1"}, {"window": -1}]
    )
    def test_bad_arguments(self, kwargs):
        with pytest.raises(InvalidParameterError):
            MITBIHBeats(SHIPPED_MITDB, **kwargs)

    def test_bad_root(self, tmp_path):
        with pytest.raises(InvalidParameterError):
            MITBIHBeats(tmp_path / "none")
        with pytest.raises(InvalidParameterError):
            MITBIHBeats(tmp_path)  # no records


def test_classification_metrics():
    from ecgfast.evaluate import classification as classification_metrics

    y = np.array([0, 0, 1, 1, 2])
    p = np.eye(3)[[0, 1, 1, 1, 2]] * 0.9 + 0.05
    m = classification_metrics(y, p, ("a", "b", "c"))
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["per_class_f1"]["a"] == pytest.approx(2 / 3) and m["per_class_f1"]["c"] == 1.0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    perfect = classification_metrics(y, np.eye(3)[y], ("a", "b", "c"))
    assert perfect["macro_auroc"] == 1.0 and perfect["macro_f1"] == 1.0


def test_class_weights():
    from ecgfast.torch.finetune import class_weights

    labels = np.array([0] * 90 + [1] * 9 + [3])  # class 2 absent
    w = class_weights(labels, 4, "weights")
    assert w == pytest.approx([100 / 360, 100 / 36, 0.0, 100 / 4])
    assert (w[labels]).mean() == pytest.approx(3 / 4)  # each present class weighs n / k in all
    assert class_weights(labels, 4, "sqrt") == pytest.approx(np.sqrt(w))
    assert list(class_weights(labels, 4, None)) == [1.0, 1.0, 0.0, 1.0]


def test_cli_pretrain_beats_then_finetune(tmp_path, capsys):
    """The transfer path end to end on the shipped records: a beat-level lead-II backbone,
    then fine-tuning on MIT-BIH beats with patient-wise validation."""
    import json

    from ecgfast import cli

    pre = tmp_path / "pre"
    args = [
        "pretrain",
        "--beats",
        "--leads",
        "II",
        "--fs",
        "125",
        "--window",
        "0.8",
        "--duration",
        "6",
        "--n-train",
        "32",
        "--n-val",
        "8",
        "--epochs",
        "1",
        "--out",
        str(pre),
    ]
    assert cli.main(args) == 0
    fine = tmp_path / "fine"
    args = [
        "finetune",
        "--pretrained",
        str(pre),
        "--policy",
        "linear",
        "--epochs",
        "1",
        "--out",
        str(fine),
    ]
    assert cli.main(args) == 0
    report = json.loads((fine / "finetune.json").read_text())
    assert report["policy"] == "linear"
    assert not set(report["train_records"]) & set(report["val_records"])
    assert set(report["metrics"]) >= {"accuracy", "macro_f1", "macro_auroc", "confusion"}
    assert "macro-F1" in capsys.readouterr().out


def test_cli_finetune_rejects_multilead_backbone(tmp_path, capsys):
    from ecgfast import cli

    pre = tmp_path / "pre"
    args = [
        "pretrain",
        "--leads",
        "I,II",
        "--fs",
        "100",
        "--duration",
        "4",
        "--n-train",
        "16",
        "--n-val",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(pre),
    ]
    assert cli.main(args) == 0
    assert cli.main(["finetune", "--pretrained", str(pre), "--out", str(tmp_path / "f")]) == 2
    assert "takes 2 leads" in capsys.readouterr().err


class TestWFDBDataset:
    def test_single_and_multi_label(self, tmp_path):
        import pandas as pd

        from ecgfast._data import SHIPPED_LUDB
        from ecgfast.torch import WFDBDataset

        table = pd.DataFrame({"record": ["1", "38"], "label": ["sinus", "afib"]})
        ds = WFDBDataset(SHIPPED_LUDB, table, fs=250, duration=8.0, leads=["II", "v1"])
        assert len(ds) == 2 and ds.classes == ("afib", "sinus") and ds.lead_names == ("ii", "v1")
        x, y = ds[1]
        assert x.shape == (2, 2000) and int(y) == 0
        csv = tmp_path / "labels.csv"
        pd.DataFrame({"record": ["1", "38", "nope"], "AF": [0, 1, 0], "LVH": [1, 0, 0]}).to_csv(
            csv, index=False
        )
        with pytest.warns(UserWarning, match="nope"):
            multi = WFDBDataset(SHIPPED_LUDB, csv, duration=12.0)
        with pytest.warns(UserWarning, match="nope"):
            raw = WFDBDataset(SHIPPED_LUDB, csv, duration=12.0, normalize=None)
        assert multi.classes == ("AF", "LVH") and multi.records == ["1", "38"]
        x, y = multi[0]
        assert x.shape == (12, 6000) and y.tolist() == [0.0, 1.0]
        assert float(raw[0][0][:, 5000:].abs().sum()) == 0.0  # zero-padded past the 10-s record
        assert float(raw[0][0][:, :5000].abs().sum()) > 0.0
        assert len(multi.skipped) == 1

    def test_errors(self, tmp_path):
        import pandas as pd

        from ecgfast._data import SHIPPED_LUDB
        from ecgfast.torch import WFDBDataset

        with pytest.raises(InvalidParameterError):
            WFDBDataset(tmp_path / "none", pd.DataFrame({"record": ["1"], "label": ["a"]}))
        with pytest.raises(InvalidParameterError):
            WFDBDataset(SHIPPED_LUDB, pd.DataFrame({"record": ["1"]}))
        with pytest.warns(UserWarning), pytest.raises(InvalidParameterError):
            WFDBDataset(SHIPPED_LUDB, pd.DataFrame({"record": ["x"], "label": ["a"]}))


@pytest.fixture(scope="module")
def ptbxl_root(tmp_path_factory):
    """A tiny PTB-XL copy in the official layout, signals from the shipped LUDB records and the
    synthesizer, written with wfdb (records100/ at 100 Hz, records500/ at 500 Hz)."""
    import pandas as pd
    import wfdb

    import ecgfast

    root = tmp_path_factory.mktemp("ptbxl")
    leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    codes = [
        "{'NORM': 100.0, 'SR': 0.0}",
        "{'IMI': 50.0, 'LVH': 100.0}",
        "{'NDT': 100.0}",
        "{'CLBBB': 100.0}",
        "{'SR': 0.0}",  # no diagnostic superclass: left out
        "{'NORM': 80.0}",
    ]
    folds = [1, 2, 9, 10, 3, 9]
    rows = []
    batch = ecgfast.synthesize(len(codes), seed=7)
    for k, (code, fold) in enumerate(zip(codes, folds, strict=True)):
        ecg_id = k + 1
        names = {}
        for fs, folder, suffix in ((100, "records100", "lr"), (500, "records500", "hr")):
            sig = batch.signals[k].T.astype(np.float64)[:: 500 // fs]
            sub = root / folder / "00000"
            sub.mkdir(parents=True, exist_ok=True)
            name = f"{ecg_id:05d}_{suffix}"
            wfdb.wrsamp(
                name,
                fs=fs,
                units=["mV"] * 12,
                sig_name=leads,
                p_signal=sig,
                fmt=["16"] * 12,
                write_dir=str(sub),
            )
            names[suffix] = f"{folder}/00000/{name}"
        rows.append(
            {
                "ecg_id": ecg_id,
                "patient_id": 100 + k,
                "scp_codes": code,
                "strat_fold": fold,
                "filename_lr": names["lr"],
                "filename_hr": names["hr"],
            }
        )
    pd.DataFrame(rows).to_csv(root / "ptbxl_database.csv", index=False)
    scp = pd.DataFrame(
        {
            "diagnostic": [1, 1, 1, 1, 1, np.nan],
            "diagnostic_class": ["NORM", "MI", "HYP", "STTC", "CD", np.nan],
        },
        index=["NORM", "IMI", "LVH", "NDT", "CLBBB", "SR"],
    )
    scp.to_csv(root / "scp_statements.csv")
    return root


class TestPTBXL:
    def test_splits_and_superclasses(self, ptbxl_root):
        from ecgfast.torch import PTBXL, PTBXL_SUPERCLASSES

        train = PTBXL(ptbxl_root, 100, split="train")
        assert list(train.meta.index) == [1, 2]  # fold 3 record has no superclass
        x, y = train[1]
        assert x.shape == (12, 1000)
        assert dict(zip(PTBXL_SUPERCLASSES, y.tolist(), strict=True)) == {
            "NORM": 0.0,
            "MI": 1.0,
            "STTC": 0.0,
            "CD": 0.0,
            "HYP": 1.0,
        }
        val = PTBXL(ptbxl_root, 500, split="val")
        assert list(val.meta.index) == [3, 6] and val[0][0].shape == (12, 5000)
        assert val.y[0].tolist() == [0, 0, 1, 0, 0]
        test = PTBXL(ptbxl_root, 100, split="test")
        assert test.y.tolist() == [[0, 0, 0, 1, 0]]
        assert not set(train.meta.patient_id) & set(val.meta.patient_id)

    def test_errors(self, ptbxl_root, tmp_path):
        from ecgfast.torch import PTBXL

        with pytest.raises(InvalidParameterError):
            PTBXL(tmp_path)
        with pytest.raises(InvalidParameterError):
            PTBXL(ptbxl_root, 250)
        with pytest.raises(InvalidParameterError):
            PTBXL(ptbxl_root, split="holdout")
        with pytest.raises(InvalidParameterError):
            PTBXL(ptbxl_root, task="rhythm")


class TestFinetuneCommand:
    """``ecgfast finetune`` used to fall back to all records and to override --policy."""

    def test_missing_record_is_an_error(self, tmp_path, capsys):
        from ecgfast import cli

        args = ["finetune", "--records", "101", "777", "--epochs", "1", "--out", str(tmp_path)]
        assert cli.main(args) == 2
        assert "777" in capsys.readouterr().err

    def test_transfer_policy_without_checkpoint_is_an_error(self, tmp_path, capsys):
        from ecgfast import cli

        assert cli.main(["finetune", "--policy", "linear", "--out", str(tmp_path)]) == 2
        assert "--pretrained" in capsys.readouterr().err

    def test_scratch_with_checkpoint_is_an_error(self, tmp_path, capsys):
        from ecgfast import cli
        from ecgfast.torch import save_checkpoint

        save_checkpoint(tmp_path / "m.pt", create_model("xresnet1d", 1, 4))
        args = [
            "finetune",
            "--pretrained",
            str(tmp_path / "m.pt"),
            "--policy",
            "scratch",
            "--out",
            str(tmp_path),
        ]
        assert cli.main(args) == 2
        assert "ignored" in capsys.readouterr().err


def test_pretrain_seed_seeds_the_model_initialisation(tmp_path):
    """Two ``ecgfast pretrain --seed 5`` runs give the same weights (the initialisation used
    not to be seeded); another seed gives other weights."""
    from ecgfast import cli
    from ecgfast.torch import load

    def run(seed, name):
        args = [
            "pretrain",
            "--leads",
            "II",
            "--fs",
            "100",
            "--duration",
            "4",
            "--n-train",
            "16",
            "--n-val",
            "8",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--model",
            "resnet1d",
            "--seed",
            str(seed),
            "--out",
            str(tmp_path / name),
        ]
        torch.manual_seed(1234 + len(name))  # whatever the global state, the seed decides
        assert cli.main(args) == 0
        return load(tmp_path / name / "model.pt")[0].state_dict()

    a, b, c = run(5, "a"), run(5, "bb"), run(6, "ccc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
