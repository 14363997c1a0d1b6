"""The command-line interface on the records shipped with the project."""

from __future__ import annotations

import json

import pytest

from ecgfast import cli


def test_demo_on_shipped_records(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert [r["record"] for r in report["records"]] == ["101", "119"]
    for row in report["records"]:
        assert row["lead"] == "MLII"
        assert row["fs"] == 360.0
        assert row["max_abs_diff_mV"] < 1e-9  # agrees with scipy
        assert row["ecgfast_ms"] > 0
        assert row["rpeak_f1"] >= 0.995  # R peaks against the shipped beat annotations
        assert row["beats_detected"] > 1800
    assert report["batch"]["windows"] == 2 * 180
    assert report["batch"]["max_abs_diff_mV"] < 1e-9
    out = capsys.readouterr().out
    assert "| 119 | MLII |" in out
    assert "R-peak detection" in out


def test_demo_reports_unreadable_records(tmp_path, capsys):
    (tmp_path / "broken.hea").write_text("this is not a header\n")
    assert cli.main(["demo", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "broken" in capsys.readouterr().err


def test_demo_empty_folder(tmp_path, capsys):
    assert cli.main(["demo", "--root", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no WFDB records" in capsys.readouterr().err


def test_bad_thread_count_is_a_clean_error(tmp_path, capsys):
    assert cli.main(["--threads", "0", "demo", "--out", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert "ecgfast" in capsys.readouterr().out
