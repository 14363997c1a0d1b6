"""The main job (`ecgfast demo`) in a tiny configuration: synthesize → pretrain → fine-tune
every policy → report, on the MIT-BIH records shipped with the project."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from ecgfast import cli  # noqa: E402
from ecgfast.apps.demo import DemoConfig, run_demo  # noqa: E402
from ecgfast.errors import InvalidParameterError  # noqa: E402
from ecgfast.torch import AAMI_CLASSES, POLICIES  # noqa: E402

RECORDS = ["101", "106", "119", "223"]
TINY = dict(
    fs=125.0,
    window=0.8,
    pretrain_records=16,
    pretrain_val_records=4,
    pretrain_epochs=1,
    epochs=2,
    fractions=(0.1, 0.05),
    seeds=(0, 1),
    progress=False,
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(records=RECORDS, out=out, **TINY)


class TestRunDemo:
    def test_writes_report_and_plots(self, report):
        out, rep = report
        on_disk = json.loads((out / "report.json").read_text())
        assert on_disk["runs"] == json.loads(json.dumps(rep["runs"], default=float))
        assert (out / "report.md").read_text() == rep["markdown"]
        assert (out / "pretrained.pt").is_file()
        names = {p.split("/")[-1] for p in rep["plots"]}
        assert {"finetune_curves.png", "confusion.png", "macro_f1.png"} <= names
        assert "pretrain_learning_curves.png" in names
        for p in rep["plots"]:
            assert (out / p.split("/")[-1]).stat().st_size > 1000

    def test_every_policy_fraction_and_seed_at_equal_budget(self, report):
        _, rep = report
        runs = rep["runs"]
        assert len(runs) == len(POLICIES) * 2 * 2
        for fraction in (0.1, 0.05):
            for seed in (0, 1):
                same = [r for r in runs if r["fraction"] == fraction and r["seed"] == seed]
                assert sorted(r["policy"] for r in same) == sorted(POLICIES)
                # the same training beats and the same epoch budget for every policy
                assert len({r["train_beats"] for r in same}) == 1
                assert all(len(r["history"]) <= TINY["epochs"] for r in same)
        beats = {f: {r["train_beats"] for r in runs if r["fraction"] == f} for f in (0.1, 0.05)}
        assert max(beats[0.05]) < min(beats[0.1])
        for r in runs:
            m = r["val"]
            assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1
            assert set(m["per_class_f1"]) == set(AAMI_CLASSES)
            assert sum(map(sum, m["confusion"])) == sum(rep["splits"]["val"]["counts"].values())

    def test_patient_wise_splits(self, report):
        _, rep = report
        train = set(rep["splits"]["train"]["records"])
        val = set(rep["splits"]["val"]["records"])
        assert train and val and not train & val and train | val == set(RECORDS)
        assert "test" not in rep["splits"]  # too few patients here unless asked

    def test_summary_table(self, report):
        _, rep = report
        assert len(rep["summary"]) == len(POLICIES) * 2
        for row in rep["summary"]:
            s = row["val"]["macro_f1"]
            assert s["n"] == 2 and s["sd"] >= 0
            runs = [
                r["val"]["macro_f1"]
                for r in rep["runs"]
                if r["policy"] == row["policy"] and r["fraction"] == row["fraction"]
            ]
            assert s["mean"] == pytest.approx(sum(runs) / 2)
        md = rep["markdown"]
        for policy in POLICIES:
            assert f"| {policy} | 0.1 |" in md
        assert "±" in md and "macro-F1" in md


def test_held_out_test_patients(tmp_path):
    rep = run_demo(
        records=RECORDS,
        out=tmp_path,
        **{**TINY, "fractions": (0.05,), "seeds": (0,), "test_fraction": 0.25},
        policies=("scratch", "linear"),
    )
    s = rep["splits"]
    sets = [set(s[k]["records"]) for k in ("train", "val", "test")]
    assert all(sets) and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    for r in rep["runs"]:
        assert sum(map(sum, r["test"]["confusion"])) == sum(s["test"]["counts"].values())
    assert "## test patients" in rep["markdown"]


@pytest.mark.parametrize(
    "bad",
    [
        {"policies": ("scratch", "magic")},
        {"policies": ()},
        {"fractions": (0.0,)},
        {"seeds": ()},
        {"test_fraction": 1.0},
        {"epochs": 0},
    ],
)
def test_bad_config(bad, tmp_path):
    with pytest.raises(InvalidParameterError):
        DemoConfig(**bad).validate()


def test_bad_data(tmp_path):
    with pytest.raises(InvalidParameterError, match="no WFDB records"):
        run_demo(root=tmp_path, out=tmp_path / "o", **TINY)
    with pytest.raises(InvalidParameterError, match="not found"):
        run_demo(records=["101", "999"], out=tmp_path / "o", **TINY)
    with pytest.raises(InvalidParameterError, match="two"):
        run_demo(records=["101"], out=tmp_path / "o", **TINY)


def test_cli_demo_tiny(tmp_path, capsys):
    args = ["demo", "--out", str(tmp_path), "--records", "101", "119", "223"]
    args += ["--pretrain-records", "16", "--pretrain-epochs", "1", "--epochs", "1"]
    args += ["--policies", "scratch,full", "--fractions", "0.05", "--fs", "125", "--window", "0.6"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "| scratch | 0.05 |" in out and "| full | 0.05 |" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["fs"] == 125.0 and report["config"]["window"] == 0.6
    assert report["config"]["balance"] == "sqrt"


def test_cli_demo_errors(tmp_path, capsys):
    assert cli.main(["demo", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no WFDB records" in capsys.readouterr().err
    (tmp_path / "broken.hea").write_text("this is not a header\n")
    assert cli.main(["demo", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert cli.main(["demo", "--policies", "magic", "--out", str(tmp_path / "o")]) == 2
    assert "policies" in capsys.readouterr().err


@pytest.mark.parametrize(
    "bad", [["--fractions", "1,abc"], ["--balance", "smote"], ["--fractions", ""]]
)
def test_cli_demo_rejects_malformed_options(bad, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["demo", "--out", str(tmp_path), *bad])
    assert info.value.code == 2
    assert "error: argument" in capsys.readouterr().err
