"""Sharded synthesis on Dask and Ray (ecgfast.distributed), and DDP training over the shards.

The fault tests kill real processes: a worker in the middle of a shard (through the testing
hook in ecgfast.shards, which deletes its arm file and exits halfway through the shard it names)
and a whole run (SIGKILL to its process group once the first shard is committed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ecgfast
from ecgfast import distributed, shards
from ecgfast.errors import InvalidParameterError

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(leads="II", duration=4.0, fs=250.0, seed=11)


def _assert_same_dataset(a: Path, b: Path) -> None:
    """Two dataset folders hold the same records, files and manifest."""
    ma, mb = (json.loads((p / shards.MANIFEST).read_text()) for p in (a, b))
    assert ma == mb
    for shard in ma["shards"]:
        assert shards.is_complete(a, shard) and shards.is_complete(b, shard)
        sig, lab, beats = shard["files"]
        assert (a / sig).read_bytes() == (b / sig).read_bytes()
        pd.testing.assert_frame_equal(pd.read_parquet(a / lab), pd.read_parquet(b / lab))
        pd.testing.assert_frame_equal(pd.read_parquet(a / beats), pd.read_parquet(b / beats))


def _assert_equals_synthesize(out: Path, n: int, params: dict) -> None:
    """Every record once, in order, equal to synthesize(); no temporary file left."""
    manifest = json.loads((out / shards.MANIFEST).read_text())
    sig = np.concatenate([np.load(out / s["files"][0]) for s in manifest["shards"]])
    labels = pd.concat([pd.read_parquet(out / s["files"][1]) for s in manifest["shards"]])
    ref = ecgfast.synthesize(n, **params)
    np.testing.assert_array_equal(sig, ref.signals)
    pd.testing.assert_frame_equal(labels, ref.labels)
    assert not list(out.glob("*.tmp*"))


@pytest.fixture(scope="module")
def arm_file(tmp_path_factory):
    """The testing hook's arm file; workers started after this inherit the variable."""
    path = tmp_path_factory.mktemp("arm") / "kill-shard"
    old = os.environ.get(shards._KILL_ENV)
    os.environ[shards._KILL_ENV] = str(path)
    yield path
    if old is None:
        del os.environ[shards._KILL_ENV]
    else:
        os.environ[shards._KILL_ENV] = old


@pytest.fixture(scope="module")
def dask_client(arm_file):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


class TestDask:
    def test_same_bytes_as_the_single_process_writer(self, dask_client, tmp_path):
        m = distributed.synthesize_to(
            tmp_path / "dask", 30, client=dask_client, shard_size=7, progress=False, **SMALL
        )
        assert m["n_shards"] == 5
        ecgfast.synthesize_to(tmp_path / "local", 30, shard_size=7, progress=False, **SMALL)
        _assert_same_dataset(tmp_path / "dask", tmp_path / "local")
        _assert_equals_synthesize(tmp_path / "dask", 30, SMALL)

    def test_worker_killed_mid_shard_loses_and_duplicates_nothing(
        self, dask_client, arm_file, tmp_path, monkeypatch
    ):
        monkeypatch.setattr(distributed, "_WINDOW", 1)  # 2 tasks ahead: the refill path runs
        pids = set(dask_client.run(os.getpid).values())
        arm_file.write_text("2")
        out = tmp_path / "ds"
        distributed.synthesize_to(
            out, 40, client=dask_client, shard_size=10, progress=False, **SMALL
        )
        assert not arm_file.exists(), "the hook did not fire: no worker was killed"
        time.sleep(0.5)
        assert set(dask_client.run(os.getpid).values()) != pids  # a worker was replaced
        _assert_equals_synthesize(out, 40, SMALL)

    def test_killed_run_resumes_without_redoing_committed_shards(self, dask_client, tmp_path):
        out = tmp_path / "ds"
        params = dict(duration=10.0, fs=500.0, seed=3)  # 12 leads
        n, size = 480, 24
        code = (
            "from ecgfast import distributed\n"
            f"distributed.synthesize_to({str(out)!r}, {n}, engine='dask', workers=2, "
            f"shard_size={size}, progress=False, **{params!r})\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not list(out.glob("*.done.json")):
                assert proc.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "no shard committed within 120 s"
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        time.sleep(0.5)  # let the killed workers' last writes land
        manifest = json.loads((out / shards.MANIFEST).read_text())
        done = [s for s in manifest["shards"] if shards.is_complete(out, s)]
        assert 1 <= len(done) < manifest["n_shards"]
        kept = {s["index"]: (out / s["files"][0]).stat().st_mtime_ns for s in done}
        distributed.synthesize_to(
            out, n, client=dask_client, shard_size=size, progress=False, **params
        )
        for s in done:
            assert (out / s["files"][0]).stat().st_mtime_ns == kept[s["index"]]
        _assert_equals_synthesize(out, n, params)

    def test_resume_with_another_engine(self, dask_client, tmp_path):
        out = tmp_path / "ds"
        m = ecgfast.synthesize_to(out, 20, shard_size=5, progress=False, **SMALL)
        for s in m["shards"][1:3]:
            (out / shards.commit_name(s["index"])).unlink()
            (out / s["files"][1]).unlink()  # uncommitted and incomplete: must be made again
        # a running cluster by its address, as a user would give it
        address = dask_client.scheduler.address
        distributed.synthesize_to(out, 20, address=address, shard_size=5, progress=False, **SMALL)
        _assert_equals_synthesize(out, 20, SMALL)


class TestRay:
    def test_same_bytes_and_a_killed_worker_is_retried(self, arm_file, tmp_path, monkeypatch):
        monkeypatch.setattr(distributed, "_WINDOW", 1)
        arm_file.write_text("1")
        distributed.synthesize_to(
            tmp_path / "ray", 24, engine="ray", workers=2, shard_size=6, progress=False, **SMALL
        )
        assert not arm_file.exists(), "the hook did not fire: no worker was killed"
        ecgfast.synthesize_to(tmp_path / "local", 24, shard_size=6, progress=False, **SMALL)
        _assert_same_dataset(tmp_path / "ray", tmp_path / "local")
        _assert_equals_synthesize(tmp_path / "ray", 24, SMALL)


class TestArguments:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (dict(engine="spark"), "engine must be one of"),
            (dict(engine="ray", client=object()), "client="),
            (dict(workers=0), "workers"),
            (dict(retries=-1), "retries"),
            (dict(threads_per_task=0), "threads_per_task"),
            (dict(hr=0), "hr"),
            (dict(start=4), "unknown parameter"),
        ],
    )
    def test_bad_arguments_touch_nothing(self, tmp_path, kwargs, match):
        with pytest.raises(InvalidParameterError, match=match):
            distributed.synthesize_to(tmp_path / "x", 5, progress=False, **kwargs)
        assert not (tmp_path / "x").exists()

    def test_local_engine_is_the_single_process_writer(self, tmp_path):
        distributed.synthesize_to(
            tmp_path / "a", 9, engine="local", shard_size=4, progress=False, **SMALL
        )
        _assert_equals_synthesize(tmp_path / "a", 9, SMALL)

    def test_missing_shards_are_reported(self, tmp_path, monkeypatch):
        monkeypatch.setattr(distributed, "_run_dask", lambda spec, todo, adv, errors: None)
        with pytest.raises(shards.ShardError, match="3 shard"):
            distributed.synthesize_to(tmp_path / "x", 9, shard_size=3, progress=False, **SMALL)


def test_ddp_training_over_shards_with_torchrun(tmp_path):
    """Two CPU ranks (gloo): disjoint records, same number of batches, identical parameters."""
    pytest.importorskip("torch")
    data = tmp_path / "shards"
    ecgfast.synthesize_to(data, 70, shard_size=16, progress=False, **SMALL)
    run = tmp_path / "run"
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    cmd = [
        torchrun,
        "--standalone",
        "--nproc_per_node",
        "2",
        str(ROOT / "examples" / "ddp_pretrain.py"),
        "--root",
        str(data),
        "--out",
        str(run),
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--targets",
        "hr,qrs",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = (json.loads((run / f"rank-{r}.json").read_text()) for r in (0, 1))
    assert a["world_size"] == b["world_size"] == 2
    assert a["n_records"] == b["n_records"] == 35
    assert not set(a["records_seen"]) & set(b["records_seen"])
    assert a["batches_per_epoch"] == b["batches_per_epoch"] == 4
    assert a["parameters_sha1"] == b["parameters_sha1"]
    assert a["losses"] == b["losses"] and all(np.isfinite(a["losses"]))
    from ecgfast.torch import load

    _, meta = load(run / "model.pt")
    assert meta["task"]["names"] == ["hr", "qrs"]


def test_cli_synth_on_dask(tmp_path, capsys):
    from ecgfast import cli

    out = tmp_path / "ds"
    args = ["synth", "--n", "6", "--out", str(out), "--leads", "II", "--duration", "4"]
    args += ["--fs", "250", "--seed", "11", "--shard-size", "4"]
    assert cli.main([*args, "--engine", "dask", "--workers", "1"]) == 0
    assert "engine dask" in capsys.readouterr().out
    _assert_equals_synthesize(out, 6, SMALL)
    assert cli.main([*args, "--workers", "2"]) == 2
    assert "--engine dask or ray" in capsys.readouterr().err
