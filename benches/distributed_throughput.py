"""Sharded synthesis on Dask and Ray against the single-process writer, in the same run.

    python benches/distributed_throughput.py [--n 4000] [--shard-size 250] [--workers 1,2]
                                             [--engines dask,ray] [--out DIR] [--json FILE]

For 12-lead, 10-s, 500 Hz records with default noise it measures

1. the anchor: ``ecgfast.synthesize_to`` in this process (all cores), records/s, and the
   generation alone (no disk) to separate compute from storage;
2. ``ecgfast.distributed.synthesize_to`` on a local Dask cluster and on a local Ray instance
   with 1..N worker processes (one core thread per task), the cluster started before the clock
   (its start-up time is printed apart), as a ratio to the anchor;
3. peak resident memory of every worker process (sampled every 50 ms), for n and 2n records:
   flat per worker means the same peak whatever n is;
4. the engines' per-task overhead, from 200 one-record shards against 4 fifty-record shards.

The figures are the inputs of the scaling model in docs/DESIGN.md ("Scaling past one machine").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import psutil

import ecgfast
from ecgfast import distributed

PARAMS = dict(duration=10.0, fs=500.0, seed=0)  # 12 leads, default noise
ROUNDS = 3  # best of three: this machine's disk throughput varies from run to run


class PeakRSS:
    """Peak resident set size of each descendant process of this one (sampled)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak = interval, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    name = " ".join(child.cmdline()[:3])
                    if "python" not in name and "ray::" not in name:
                        continue  # raylet, gcs_server: the engine's own daemons
                    rss = child.memory_info().rss
                    self.peak[child.pid] = max(self.peak.get(child.pid, 0), rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def top(self, k: int) -> list[float]:
        """The k largest peaks, MB (the workers; nannies and idle helpers are smaller)."""
        return [round(v / 2**20) for v in sorted(self.peak.values(), reverse=True)[:k]]


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def generation_only(n: int) -> float:
    ecgfast.synthesize(128, **PARAMS)
    start = time.perf_counter()
    for lo in range(0, n, 128):
        ecgfast.synthesize(min(128, n - lo), start=lo, **PARAMS)
    return n / (time.perf_counter() - start)


def local_rate(root: Path, n: int, shard_size: int) -> float:
    shutil.rmtree(root, ignore_errors=True)
    return n / timed(
        ecgfast.synthesize_to, root, n, shard_size=shard_size, progress=False, **PARAMS
    )


@contextlib.contextmanager
def cluster(engine: str, workers: int):
    """A running local cluster; yields the keyword arguments that use it, and start-up time."""
    start = time.perf_counter()
    if engine == "dask":
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as c,
            Client(c) as client,
        ):
            client.wait_for_workers(workers)
            yield {"client": client}, time.perf_counter() - start
    else:
        import ray

        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            # start the worker processes now (Ray starts them lazily)
            ray.get([ray.remote(lambda: 0).remote() for _ in range(workers)])
            yield {"engine": "ray"}, time.perf_counter() - start
        finally:
            ray.shutdown()


def cluster_rate(root: Path, n: int, shard_size: int, kwargs: dict) -> tuple[float, list[float]]:
    shutil.rmtree(root, ignore_errors=True)
    with PeakRSS() as rss:
        seconds = timed(
            distributed.synthesize_to,
            root,
            n,
            shard_size=shard_size,
            progress=False,
            **kwargs,
            **PARAMS,
        )
    return n / seconds, rss.top(len(rss.peak))


def task_overhead(root: Path, kwargs: dict) -> float:
    """Seconds per task beyond the work: 200 one-record shards vs 4 fifty-record shards."""
    shutil.rmtree(root, ignore_errors=True)
    small = dict(leads="II", duration=10.0, fs=500.0, seed=0)
    many = timed(
        distributed.synthesize_to, root, 200, shard_size=1, progress=False, **kwargs, **small
    )
    shutil.rmtree(root, ignore_errors=True)
    few = timed(
        distributed.synthesize_to, root, 200, shard_size=50, progress=False, **kwargs, **small
    )
    return (many - few) / 196


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--shard-size", type=int, default=250)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--engines", default="dask,ray")
    p.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args()
    scratch = Path(args.out or tempfile.mkdtemp(prefix="ecgfast-dist-"))
    root = scratch / "ds"
    n, size = args.n, args.shard_size
    workers = [int(w) for w in args.workers.split(",")]
    bytes_per_record = 12 * int(PARAMS["duration"] * PARAMS["fs"]) * 4
    out: dict = {"n": n, "shard_size": size, "bytes_per_record": bytes_per_record}
    print(
        f"{n} records of 12 leads x 10 s x 500 Hz ({bytes_per_record / 1e3:.0f} kB of signal "
        f"each, {n * bytes_per_record / 1e9:.2f} GB), shards of {size}; {os.cpu_count()} cores"
    )

    out["generation_only_rps"] = generation_only(n)
    local_rate(root, min(n, 500), size)  # warm the page cache and the file system
    anchor = [local_rate(root, n, size) for _ in range(ROUNDS)]
    out["local_rps"] = max(anchor)
    print(f"generation alone (no disk): {out['generation_only_rps']:7.0f} records/s")
    print(
        f"anchor synthesize_to:      {out['local_rps']:7.0f} records/s "
        f"({out['local_rps'] * bytes_per_record / 1e6:.0f} MB/s written; runs "
        f"{', '.join(f'{a:.0f}' for a in anchor)})"
    )

    rows = []
    for engine in args.engines.split(","):
        for w in workers:
            with cluster(engine, w) as (kwargs, startup):
                runs = [cluster_rate(root, n, size, kwargs) for _ in range(ROUNDS)]
                peaks_n = runs[-1][1]
                _, peaks_2n = cluster_rate(root, 2 * n, size, kwargs)
                overhead = task_overhead(root, kwargs) if w == max(workers) else float("nan")
            best = max(r for r, _ in runs)
            row = {
                "engine": engine,
                "workers": w,
                "startup_s": startup,
                "rps": best,
                "ratio_to_anchor": best / out["local_rps"],
                "peak_worker_rss_mb_n": peaks_n[:w],
                "peak_worker_rss_mb_2n": peaks_2n[:w],
                "task_overhead_ms": overhead * 1e3,
            }
            rows.append(row)
            print(
                f"{engine:5s} {w} worker(s): {best:6.0f} records/s = {row['ratio_to_anchor']:.2f}"
                f" x anchor (start-up {startup:.1f} s); peak RSS per worker, n: "
                f"{row['peak_worker_rss_mb_n']} MB, 2n: {row['peak_worker_rss_mb_2n']} MB"
                + (
                    f"; task overhead {row['task_overhead_ms']:.1f} ms"
                    if overhead == overhead
                    else ""
                )
            )
    out["clusters"] = rows
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
