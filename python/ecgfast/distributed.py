"""Sharded synthesis on an existing distributed engine: Dask or Ray.

:func:`synthesize_to` writes the dataset format of :func:`ecgfast.synthesize_to` (described in
:mod:`ecgfast.shards`) with one task per shard. Records are deterministic by (seed, record
index), so any shard can be made on any worker, again, at any time, with the same bytes; a
shard is committed only when all its files are on disk. Hence:

- a worker killed in the middle of a shard loses nothing: the engine retries the task
  elsewhere (``retries``), and the dead attempt's temporary files are swept at the end;
- a killed run resumes: calling again with the same arguments (with any engine, or the
  single-process writer) makes only the shards not committed;
- a shard is never duplicated: its files have fixed names and are renamed into place
  atomically, so two attempts leave one copy.

The driver (this function) writes ``manifest.json`` once before any task runs; workers only
write their own shard's files, so nothing is contended however many workers there are. The
folder must be reachable by every worker under the same path (a shared file system on a
multi-machine cluster).

Neither engine is a dependency of ecgfast: install ``dask[distributed]`` or ``ray`` (the extra
``ecgfast[distributed]`` installs both).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from . import shards
from ._validate import check_int
from .errors import InvalidParameterError

__all__ = ["ENGINES", "synthesize_to"]

ENGINES = ("local", "dask", "ray")
# Shard tasks submitted ahead per task slot: enough to keep every worker busy, few enough that
# the scheduler and the driver hold a bounded number of tasks however many shards there are.
_WINDOW = 4


def synthesize_to(
    out_dir: str | Path,
    n: int,
    *,
    engine: str = "dask",
    workers: int | None = None,
    address: str | None = None,
    client: Any = None,
    threads_per_task: int = 1,
    retries: int = 3,
    shard_size: int = 10_000,
    progress: bool = True,
    overwrite: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """Generate ``n`` records to ``out_dir`` in shards, one task per shard, on Dask or Ray.

    The result is byte-for-byte the dataset :func:`ecgfast.synthesize_to` writes with the same
    arguments (read it with :class:`ecgfast.torch.ShardDataset`).

    Parameters
    ----------
    out_dir : path
        Output folder, on storage every worker can reach under this path.
    n : int
        Number of records.
    engine : {"dask", "ray", "local"}
        ``"dask"`` (``dask.distributed``), ``"ray"``, or ``"local"`` (this process, as
        :func:`ecgfast.synthesize_to`).
    workers : int, optional
        Worker processes of the local cluster started when no cluster is given (default: the
        number of cores). Ignored when connecting to a running cluster.
    address : str, optional
        A running cluster to use: a Dask scheduler (``"tcp://host:8786"``) or a Ray address
        (``"auto"``, ``"ray://host:10001"``). Default: start a local one for this call and
        stop it afterwards.
    client : dask.distributed.Client, optional
        A Dask client to use (Dask only; it is left running).
    threads_per_task : int
        Core threads per shard task (each task also reserves this many CPUs on Ray). The
        default 1 with one worker per core keeps every core busy without oversubscription.
    retries : int
        Times a failed task is tried again (Dask ``retries``; Ray ``max_retries``, which also
        covers a worker process that died). A Dask task whose worker dies is rescheduled by the
        scheduler (``distributed.scheduler.allowed-failures``, default 3).
    shard_size : int
        Records per shard. Choose it so that a shard takes seconds or more (the engines'
        per-task overhead is milliseconds).
    progress : bool
        A tqdm progress bar over records, advanced as shards are committed.
    overwrite : bool
        Replace a dataset made with other parameters (otherwise that raises).
    **params
        Parameters of :func:`ecgfast.synthesize` (scalars or ``(low, high)`` ranges).

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ecgfast.shards.ShardError
        Some shards failed more often than ``retries`` allows (the message names them); rerun
        to make just those.
    """
    if engine not in ENGINES:
        raise InvalidParameterError(f"engine must be one of {ENGINES}, not {engine!r}")
    if workers is not None:
        workers = check_int(workers, name="workers", low=1, high=1 << 16)
    threads_per_task = check_int(threads_per_task, name="threads_per_task", low=1, high=4096)
    retries = check_int(retries, name="retries", low=0, high=1000)
    if client is not None and engine != "dask":
        raise InvalidParameterError(
            "client= is a dask.distributed.Client; use it with engine='dask'"
        )
    if engine == "local":
        from .synth import synthesize_to as local

        return local(
            out_dir, n, shard_size=shard_size, progress=progress, overwrite=overwrite, **params
        )
    runner = _run_dask if engine == "dask" else _run_ray
    _import_engine(engine)  # a clear error before touching the disk
    out, manifest, todo = shards.prepare(out_dir, n, shard_size, overwrite, params)
    if todo:
        from tqdm.auto import tqdm

        left = sum(s["stop"] - s["start"] for s in todo)
        total = manifest["n_records"]
        bar = tqdm(
            total=total,
            initial=total - left,
            unit="rec",
            desc=f"synthesizing ({engine})",
            disable=not progress,
        )
        task = _TaskSpec(
            str(out.resolve()),
            params,
            threads_per_task,
            _token(manifest),
            retries,
            workers,
            address,
            client,
        )
        errors: list[str] = []
        try:
            runner(task, todo, bar.update, errors)
        finally:
            bar.close()
    else:
        errors = []
    missing = shards.missing_shards(out, manifest)
    if missing:
        first = f"; first error: {errors[0]}" if errors else ""
        raise shards.ShardError(
            f"{len(missing)} shard(s) not committed after the run "
            f"(indices {[s['index'] for s in missing][:10]}){first}. Rerun with the same "
            "arguments to make just those."
        )
    shards.sweep_temporaries(out)
    return manifest


@dataclass
class _TaskSpec:
    """What every shard task needs besides its shard (small, pickled once per task), and where
    the tasks run (read by the driver only)."""

    out: str
    params: dict[str, Any]
    threads: int
    token: str
    retries: int = 3
    workers: int | None = None
    address: str | None = None
    client: Any = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "client": None}  # a client is not sent to the workers


def make_shard(spec: _TaskSpec, shard: dict[str, Any]) -> dict[str, Any]:
    """The task: one shard, committed (runs on a worker)."""
    return shards.write_shard(spec.out, shard, spec.params, threads=spec.threads)


def _token(manifest: dict[str, Any]) -> str:
    """Identifies the dataset in task keys (same dataset, same keys: resubmission dedups)."""
    text = json.dumps({k: v for k, v in manifest.items() if k != "ecgfast_version"}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _import_engine(engine: str) -> Any:
    try:
        if engine == "dask":
            import distributed

            return distributed
        import ray

        return ray
    except ImportError as exc:
        package = "dask[distributed]" if engine == "dask" else "ray"
        raise InvalidParameterError(
            f"engine={engine!r} needs {package}: pip install '{package}' "
            "(or pip install 'ecgfast[distributed]')"
        ) from exc


def _run_dask(
    spec: _TaskSpec, todo: list[dict[str, Any]], advance: Callable[[int], Any], errors: list[str]
) -> None:
    from distributed import as_completed

    with _dask_client(spec.client, spec.address, spec.workers) as c:
        slots = sum(c.nthreads().values()) or 1

        def submit(shard: dict[str, Any]) -> Any:
            return c.submit(
                make_shard,
                spec,
                shard,
                key=f"ecgfast-shard-{spec.token}-{shard['index']}",
                retries=spec.retries,
                pure=False,
            )

        queue = iter(todo)
        running = as_completed([submit(s) for s in islice(queue, _WINDOW * slots)])
        try:
            for fut in running:
                if fut.status == "finished":
                    record = fut.result()
                    advance(record["stop"] - record["start"])
                else:
                    errors.append(f"{fut.key}: {fut.exception()!r}")
                fut.release()
                following = next(queue, None)
                if following is not None:
                    running.add(submit(following))
        finally:
            running.clear()


@contextmanager
def _dask_client(client: Any, address: str | None, workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if client is not None:
        yield client
        return
    if address is not None:
        with Client(address) as c:
            yield c
        return
    with (
        LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _run_ray(
    spec: _TaskSpec, todo: list[dict[str, Any]], advance: Callable[[int], Any], errors: list[str]
) -> None:
    import ray

    own = not ray.is_initialized()
    if own:
        if spec.address is None:
            ray.init(
                num_cpus=spec.workers or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
            )
        else:
            ray.init(address=spec.address, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=spec.threads, max_retries=spec.retries)(make_shard)
        slots = max(1, int(ray.cluster_resources().get("CPU", 1)) // spec.threads)
        queue = iter(todo)
        pending = [task.remote(spec, shard) for shard in islice(queue, _WINDOW * slots)]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    record = ray.get(ref)
                    advance(record["stop"] - record["start"])
                except Exception as exc:  # the shard is reported missing by the caller
                    errors.append(repr(exc))
                following = next(queue, None)
                if following is not None:
                    pending.append(task.remote(spec, following))
    finally:
        if own:
            ray.shutdown()
