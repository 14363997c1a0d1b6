"""The command-line interface on the records shipped with the project."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from ecgfast import cli


def test_bad_thread_count_is_a_clean_error(tmp_path, capsys):
    assert cli.main(["--threads", "0", "demo", "--out", str(tmp_path)]) == 2
    assert "error:" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert "ecgfast" in capsys.readouterr().out


class TestLabel:
    def test_labels_shipped_ludb_against_annotations(self, tmp_path, capsys):
        import shutil

        import numpy as np
        import pandas as pd
        import wfdb

        from ecgfast import evaluate
        from ecgfast._data import SHIPPED_LUDB

        data = tmp_path / "data"
        shutil.copytree(SHIPPED_LUDB, data)
        (data / "broken.hea").write_text("this is not a header\n")
        out = tmp_path / "labels.parquet"
        assert cli.main(["label", str(data), "--out", str(out)]) == 0
        table = pd.read_parquet(out).set_index("record")
        assert len(table) == 2
        assert "skipped" in capsys.readouterr().err
        sinus = table.loc[str(data / "1")]
        # record 1, lead II: intervals from the cardiologists' marks
        ann = wfdb.rdann(str(data / "1"), "ii")
        ref = evaluate.fiducials_from_annotation(ann.sample, ann.symbol).astype(float)
        rr = np.diff(ref["r_peak"].dropna().to_numpy()) * 2.0
        assert abs(sinus["hr"] - 60000 / np.median(rr)) < 1.0
        assert abs(sinus["qrs"] - np.nanmedian((ref.qrs_off - ref.qrs_on) * 2.0)) < 25
        assert abs(sinus["qt"] - np.nanmedian((ref.t_off - ref.qrs_on) * 2.0)) < 40
        assert sinus["n_leads"] == 12 and sinus["fs"] == 500.0
        af = table.loc[str(data / "38")]
        assert np.isnan(af["pr"])  # atrial fibrillation: no P waves, no PR

    def test_csv_output_and_missing_path(self, tmp_path, capsys):
        from ecgfast._data import SHIPPED_LUDB

        out = tmp_path / "labels.csv"
        assert cli.main(["label", str(SHIPPED_LUDB / "1.hea"), "--out", str(out)]) == 0
        assert out.read_text().count("\n") == 2
        assert cli.main(["label", str(tmp_path / "nope"), "--out", str(out)]) == 2
        assert "not a folder" in capsys.readouterr().err


def test_bench_smoke_on_two_shipped_records(tmp_path, capsys):
    import shutil

    from ecgfast._data import SHIPPED_LUDB

    data = tmp_path / "data"
    shutil.copytree(SHIPPED_LUDB, data)
    out = tmp_path / "bench"
    args = ["bench", "--quick", "--stages", "filtering,rpeaks,real", "--data", str(data)]
    assert cli.main([*args, "--out", str(out)]) == 0
    report = json.loads((out / "bench.json").read_text())
    stages = {r["stage"] for r in report["rows"]}
    assert {"filtering", "R peaks", "R peaks (real)", "delineation (real)"} <= stages
    filt = next(r for r in report["rows"] if r["stage"] == "filtering")
    assert filt["ecgfast_ms"] > 0 and "max abs diff" in filt["accuracy"]
    assert report["meta"]["versions"]["ecgfast"] and report["meta"]["threads"] >= 1
    assert (out / "bench.md").read_text().startswith("# ecgfast bench")
    assert "| stage |" in capsys.readouterr().out


def test_bench_rejects_unknown_stage_and_missing_folder(tmp_path, capsys):
    assert cli.main(["bench", "--data", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert cli.main(["bench", "--stages", "everything", "--out", str(tmp_path)]) == 2
    assert "unknown stage" in capsys.readouterr().err


def test_make_demo_is_a_valid_beats_command():
    # the README's first command: `make demo` runs `ecgfast beats` on the shipped records with
    # pretraining, both label fractions and several seeds (paired intervals need n >= 2)
    recipe = Path(__file__).resolve().parents[1].joinpath("Makefile").read_text()
    line = recipe.split("\ndemo:", 1)[1].splitlines()[1].strip()
    argv = shlex.split(line)
    assert argv[0].endswith("/ecgfast") and argv[1] == "beats"
    args = cli.build_parser().parse_args(argv[1:])
    assert args.root is None  # the records that ship with ecgfast
    assert args.pretrain_records > 0 and args.out == "runs/demo"
    assert set(args.fractions) == {0.1, 1.0} and len(args.seeds) >= 2
    assert 2 <= args.folds <= 3  # six shipped patients: two per held-out fold
    assert args.combine  # and the two arms averaged (no extra training)
    assert args.zero_shot  # and the pretrained network scored untrained


def test_beats_defaults_are_the_experiments_and_the_gate_can_be_turned_off():
    from ecgfast.apps.beats import BeatExperiment

    parser = cli.build_parser()
    cfg = cli._beat_experiment(parser.parse_args(["beats"]))
    d = BeatExperiment()
    assert cfg.morphology_gate and cfg.shape_leads == d.shape_leads == ("MLII", "V")
    assert (cfg.leads, cfg.features, cfg.rhythm_gate) == (d.leads, d.features, d.rhythm_gate)
    off = cli._beat_experiment(parser.parse_args(["beats", "--no-morphology-gate"]))
    assert not off.morphology_gate
    after = cli._beat_experiment(parser.parse_args(["beats", "--offsets-after-gates"]))
    assert after.offsets_after_gates and not cfg.offsets_after_gates
    own = cli._beat_experiment(parser.parse_args(["beats", "--shape-leads", ""]))
    assert own.shape_leads is None  # the leads the models read
    v1 = cli._beat_experiment(parser.parse_args(["beats", "--shape-leads", "V"]))
    assert v1.shape_leads == ("V",)


class TestBeatFeatures:
    def test_full_list_and_additions(self):
        from ecgfast.beatdata import BEAT_FEATURES, P_WAVE_FEATURES

        assert cli._beat_features("pre_rr, qrs") == ("pre_rr", "qrs")
        assert cli._beat_features("+p") == (*BEAT_FEATURES, *P_WAVE_FEATURES)
        added = cli._beat_features("+rhythm_irregularity,+p,+qrs")
        assert added == (*BEAT_FEATURES, "rhythm_irregularity", *P_WAVE_FEATURES)
        from ecgfast.beatdata import TEMPLATE_FEATURES

        assert cli._beat_features("+template") == (*BEAT_FEATURES, *TEMPLATE_FEATURES)

    def test_mixed_list_is_a_clean_error(self):
        from ecgfast.errors import InvalidParameterError

        with pytest.raises(InvalidParameterError, match="either a full list"):
            cli._beat_features("pre_rr,+p")


class TestRpeaksCommand:
    """``ecgfast rpeaks``: detections of WFDB records, scored EC57-style where annotated."""

    def test_detections_and_scores_match_the_library(self, tmp_path, capsys):
        import numpy as np
        import pandas as pd
        import wfdb

        import ecgfast
        from ecgfast._data import SHIPPED_MITDB
        from ecgfast.evaluate import QRS_SYMBOLS, match_peaks

        paths = [str(SHIPPED_MITDB / r) for r in ("119", "208")]
        out = tmp_path / "rp.csv"
        assert cli.main(["rpeaks", *paths, "--out", str(out)]) == 0
        det = pd.read_csv(out)
        scores = pd.read_csv(tmp_path / "rp_scores.csv")
        assert list(scores["record"]) == ["119", "208", "pooled"]
        for path in paths:
            rec = wfdb.rdrecord(path)
            ann = wfdb.rdann(path, "atr")
            peaks = ecgfast.detect_rpeaks(rec.p_signal[:, 0], rec.fs)
            name = int(Path(path).name)
            np.testing.assert_array_equal(det.loc[det.record == name, "sample"], peaks)
            ref = [s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in QRS_SYMBOLS]
            m = match_peaks(peaks, ref, rec.fs)  # no flutter in 119 or 208
            row = scores[scores.record == str(name)].iloc[0]
            assert (row.tp, row.fp, row.fn) == (m.tp, m.fp, m.fn)
        assert scores.iloc[-1].tp == scores.tp.iloc[:-1].sum()
        assert "F1" in capsys.readouterr().out

    def test_a_record_without_annotations_is_detected_not_scored(self, tmp_path):
        import shutil

        from ecgfast._data import SHIPPED_MITDB

        for ext in ("hea", "dat"):
            shutil.copy(SHIPPED_MITDB / f"119.{ext}", tmp_path / f"119.{ext}")
        out = tmp_path / "rp.csv"
        assert (
            cli.main(["rpeaks", str(tmp_path / "119"), "--channel", "MLII", "--out", str(out)]) == 0
        )
        assert out.exists() and not (tmp_path / "rp_scores.csv").exists()

    def test_bad_input_is_a_clean_error(self, tmp_path, capsys):
        from ecgfast._data import SHIPPED_MITDB

        out = str(tmp_path / "rp.csv")
        assert cli.main(["rpeaks", str(tmp_path / "nope"), "--out", out]) == 2
        assert (
            cli.main(["rpeaks", str(SHIPPED_MITDB / "119"), "--channel", "V9", "--out", out]) == 2
        )
        assert cli.main(["rpeaks", str(SHIPPED_MITDB / "119"), "--channel", "5", "--out", out]) == 2
        err = capsys.readouterr().err
        assert "cannot read" in err and "no channel" in err
