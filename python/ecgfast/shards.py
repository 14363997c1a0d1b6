"""The on-disk shard format of :func:`ecgfast.synthesize_to` and how a shard is made.

One function, :func:`write_shard`, makes a shard; the single-process writer
(:func:`ecgfast.synthesize_to`) and the distributed one (:mod:`ecgfast.distributed`) both call it,
so a folder started by one can be finished by the other.

A dataset folder holds

- ``manifest.json``: every parameter, the seed, the shard layout and the ecgfast version. The
  driver writes it once, before any shard is made; workers never touch it (no contention).
- per shard ``i``: ``shard-{i:05d}.signals.npy`` (float32 ``(m, leads, samples)``),
  ``.labels.parquet`` and ``.beats.parquet``, and the commit record ``.done.json``.

A shard is written under temporary names unique to the attempt, flushed to disk (fsync), renamed
into place, and only then committed by writing its ``.done.json`` (itself renamed into place).
A shard counts as complete only when its commit record exists and names the sizes of the files
on disk. Records are deterministic by (seed, record index), so two attempts at the same shard (a
retried task whose first worker was only presumed dead) write identical bytes, and the atomic
renames leave one copy: a killed worker or run loses no shard and duplicates none.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import EcgError, InvalidParameterError
from .hearts import BANKS

__all__ = ["MANIFEST", "ShardError", "is_complete", "missing_shards", "write_shard"]

MANIFEST = "manifest.json"
FORMAT = "ecgfast-synth-shards/1"
CHUNK = 128  # records generated per core call while writing a shard (keeps memory flat)
# Testing only: a file holding a shard index; the first attempt at that shard deletes the file
# and kills its own process halfway through the shard (see tests/test_distributed.py).
_KILL_ENV = "_ECGFAST_TEST_KILL_SHARD"

# Parameters of synthesize() a sharded dataset accepts (not ``start``: the shards set it).
SHARD_PARAMS = frozenset(
    {
        "hr",
        "pr",
        "qrs",
        "qt",
        "qtc",
        "hrv",
        "fs",
        "duration",
        "leads",
        "noise",
        "seed",
        "rhythm",
        "ectopy",
        "conduction",
        "morphology",
        "method",
        "population",
        "hearts",
        "heart_jitter",
    }
)


class ShardError(EcgError, RuntimeError):
    """A sharded run ended with shards still missing (a task failed more often than allowed)."""


def shard_names(i: int) -> tuple[str, str, str]:
    """The three data files of shard ``i``."""
    stem = f"shard-{i:05d}"
    return f"{stem}.signals.npy", f"{stem}.labels.parquet", f"{stem}.beats.parquet"


def commit_name(i: int) -> str:
    """The commit record of shard ``i`` (written last)."""
    return f"shard-{i:05d}.done.json"


def jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_params(params: Mapping[str, Any]) -> None:
    """Only scalar or ``(low, high)`` parameters of :func:`synthesize` (shards regenerate
    records from the parameters, so per-record arrays cannot be honoured)."""
    unknown = set(params) - SHARD_PARAMS
    if unknown:
        raise InvalidParameterError(f"unknown parameter(s) for synthesize_to: {sorted(unknown)}")
    for name, value in params.items():
        if name == "hearts" and not (value is None or isinstance(value, str)):
            raise InvalidParameterError(
                "hearts: synthesize_to takes a heart bank shipped with ecgfast by name "
                f"({', '.join(BANKS)}), not an array"
            )
        if isinstance(value, (np.ndarray, list)) and name != "leads":
            raise InvalidParameterError(
                f"{name}: per-record arrays are not supported by synthesize_to; use a scalar or a "
                "(low, high) tuple"
            )


def make_manifest(probe: Any, n: int, shard_size: int) -> dict[str, Any]:
    """Everything that identifies a sharded dataset: parameters, seed, layout, version."""
    from . import __version__

    n_shards = -(-n // shard_size)
    return {
        "format": FORMAT,
        "ecgfast_version": __version__,
        "n_records": n,
        "shard_size": shard_size,
        "n_shards": n_shards,
        "fs": probe.fs,
        "n_samples": probe.signals.shape[-1],
        "lead_names": list(probe.lead_names),
        "label_columns": list(probe.labels.columns),
        "beat_columns": list(probe.beats.columns),
        "params": jsonable({k: v for k, v in probe.params.items() if k != "start"}),
        "shards": [
            {
                "index": i,
                "start": i * shard_size,
                "stop": min(n, (i + 1) * shard_size),
                "files": list(shard_names(i)),
            }
            for i in range(n_shards)
        ],
    }


def claim_folder(out: Path, manifest: dict[str, Any], overwrite: bool) -> None:
    """Write the manifest into ``out``: resuming the same dataset keeps its shards; another
    dataset there raises unless ``overwrite`` (then its shards are deleted)."""
    path = out / MANIFEST
    if path.exists():
        old = json.loads(path.read_text())
        same = {k: v for k, v in old.items() if k != "ecgfast_version"} == {
            k: v for k, v in manifest.items() if k != "ecgfast_version"
        }
        if not same and not overwrite:
            raise InvalidParameterError(
                f"{out} already holds a dataset made with other parameters; pass overwrite=True "
                "(--overwrite on the command line) or choose another folder"
            )
        if not same:
            for f in out.glob("shard-*"):
                f.unlink()
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1))


def prepare(
    out_dir: str | Path, n: int, shard_size: int, overwrite: bool, params: dict[str, Any]
) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    """Validate, write the manifest, and list the shards still to make: the common start of
    every writer. Nothing touches the disk unless the arguments are valid."""
    from ._validate import check_int
    from .synth import synthesize

    n = check_int(n, name="n", low=0, high=2**40)
    shard_size = check_int(shard_size, name="shard_size", low=1, high=10**7)
    check_params(params)
    probe = synthesize(0, **params)  # validates every parameter and gives the layout
    out = Path(out_dir)
    manifest = make_manifest(probe, n, shard_size)
    claim_folder(out, manifest, overwrite)
    return out, manifest, missing_shards(out, manifest)


def is_complete(out: str | Path, shard: Mapping[str, Any]) -> bool:
    """Whether ``shard`` (an entry of the manifest) is committed in ``out``: its commit record
    exists and every file has the size it names."""
    out = Path(out)
    try:
        record = json.loads((out / commit_name(shard["index"])).read_text())
        sizes = record["files"]
        return all((out / f).stat().st_size == sizes[f] for f in shard["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def missing_shards(out: Path, manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Shards of ``manifest`` not committed in ``out``. Shards written before commit records
    existed (all three files, right shape and row counts) are committed on the way."""
    todo = []
    for shard in manifest["shards"]:
        if not is_complete(out, shard) and not _adopt_uncommitted(out, shard, manifest):
            todo.append(dict(shard))
    return todo


def _adopt_uncommitted(out: Path, shard: Mapping[str, Any], manifest: Mapping[str, Any]) -> bool:
    files = [out / f for f in shard["files"]]
    if not all(f.is_file() for f in files):
        return False
    m = shard["stop"] - shard["start"]
    try:
        sig = np.load(files[0], mmap_mode="r")
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(files[1]).metadata.num_rows
        pq.ParquetFile(files[2]).metadata  # noqa: B018 - readable footer
    except (OSError, ValueError):
        return False
    layout = (m, len(manifest["lead_names"]), manifest["n_samples"])
    if sig.shape != layout or rows != m:
        return False
    _commit(out, shard, time.perf_counter())
    return True


def write_shard(
    out: str | Path,
    shard: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    threads: int | None = None,
    on_records: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Make one shard: records ``shard["start"]..shard["stop"]`` of ``synthesize(**params)``.

    Safe to run twice at once or after a crash: temporary names are unique to the attempt,
    the files are flushed before they are renamed into place, and the commit record is written
    last. A shard already committed is left as it is.

    Parameters
    ----------
    out : path
        The dataset folder (shared storage when workers run on several machines).
    shard : dict
        The shard's entry in the manifest (``index``, ``start``, ``stop``, ``files``).
    params : dict
        The parameters of :func:`ecgfast.synthesize` (as given to ``synthesize_to``).
    threads : int, optional
        Core threads for this shard (a worker of a distributed run uses one per task slot);
        default: leave the thread setting of this process as it is.
    on_records : callable, optional
        Called with the number of records after each chunk (progress bars).

    Returns
    -------
    dict
        The commit record: index, start, stop, file sizes, host, process id, seconds.
    """
    from ._threads import thread_limit
    from .synth import synthesize

    out = Path(out)
    if is_complete(out, shard):
        return json.loads((out / commit_name(shard["index"])).read_text())
    t0 = time.perf_counter()
    start, stop = int(shard["start"]), int(shard["stop"])
    files = [out / f for f in shard["files"]]
    attempt = uuid.uuid4().hex[:12]
    tmp = [f.with_name(f"{f.name}.tmp-{attempt}") for f in files]
    labels, beats = [], []
    try:
        limit = thread_limit(threads) if threads is not None else contextlib.nullcontext()
        with limit, open(tmp[0], "wb") as fh, ThreadPoolExecutor(1) as writer:
            # Plain appends after an .npy header (no memory map while writing: mapped dirty
            # pages would count against this process's memory). One chunk is written by a
            # background thread while the next is generated (both release the GIL), so the
            # cores and the disk work at once; memory holds at most two chunks.
            pending: Future[None] | None = None
            for lo in range(start, stop, CHUNK):
                hi = min(stop, lo + CHUNK)
                part = synthesize(hi - lo, start=lo, **params)
                signals = np.ascontiguousarray(part.signals, dtype="<f4")
                if pending is None:
                    header = {
                        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                        "fortran_order": False,
                        "shape": (stop - start, *signals.shape[1:]),
                    }
                    np.lib.format.write_array_header_1_0(fh, header)
                else:
                    pending.result()
                pending = writer.submit(signals.tofile, fh)  # no copy
                labels.append(part.labels)
                beats.append(part.beats)
                if on_records is not None:
                    on_records(hi - lo)
                _maybe_die_for_test(shard["index"], pending)
            if pending is not None:
                pending.result()
            fh.flush()
            os.fsync(fh.fileno())
        pd.concat(labels).to_parquet(tmp[1])
        pd.concat(beats, ignore_index=True).to_parquet(tmp[2], index=False)
        for t in tmp[1:]:
            _fsync_path(t)
        for t, f in zip(tmp, files, strict=True):
            os.replace(t, f)
    finally:
        for t in tmp:
            if t.exists():
                t.unlink()
    return _commit(out, shard, t0)


def _commit(out: Path, shard: Mapping[str, Any], t0: float) -> dict[str, Any]:
    record = {
        "index": int(shard["index"]),
        "start": int(shard["start"]),
        "stop": int(shard["stop"]),
        "files": {f: (out / f).stat().st_size for f in shard["files"]},
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    _fsync_dir(out)
    _atomic_write_text(out / commit_name(shard["index"]), json.dumps(record))
    return record


def sweep_temporaries(out: Path) -> int:
    """Delete the temporary files of attempts that died (call only when no attempt runs)."""
    n = 0
    for f in out.glob("shard-*.tmp*"):
        f.unlink(missing_ok=True)
        n += 1
    return n


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:12]}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        _fsync_path(path)
    except OSError:  # directories cannot be fsynced on every platform
        pass


def _maybe_die_for_test(index: int, pending: Future[None]) -> None:
    arm = os.environ.get(_KILL_ENV)
    if not arm:
        return
    try:
        if int(Path(arm).read_text()) != index:
            return
        os.unlink(arm)  # only the first attempt dies (unlink succeeds once)
    except (OSError, ValueError):
        return
    pending.result()  # part of the shard is on disk (a partial temporary file)
    os._exit(77)
