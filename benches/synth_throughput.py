"""Synthesis at scale: labelled beats per second, and peak memory of ``synthesize_to``.

    python benches/synth_throughput.py [--beats 1000000] [--batch 128] [--disk DIR] [--pathology]

1. Generates 12-lead, 500 Hz, 10-s records with default noise in batches (as a DataLoader
   would) until ``--beats`` labelled beats exist; prints beats/s and records/s. With
   ``--pathology`` the records carry the 12-lead pathology mix of the LUDB experiment
   (``apps.records.RECORD_PATHOLOGY_MIX``: AF, pacing, bundle-branch and AV blocks, ectopy,
   ST-T changes, Q waves, hypertrophy, axis deviation), the setting the pathology issue's
   throughput target names; both settings are timed in the same run.
2. Runs ``synthesize_to`` for the same number of beats in a child process and reports its peak
   resident memory (the target is < 2 GB whatever n is) and its throughput including the writes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import ecgfast


def in_memory(target_beats: int, batch: int, **kwargs) -> dict:
    ecgfast.synthesize(batch, seed=0, **kwargs)  # warm up (page cache, thread pool)
    beats = records = 0
    start = time.perf_counter()
    while beats < target_beats:
        b = ecgfast.synthesize(batch, seed=0, start=records, **kwargs)
        beats += len(b.beats)
        records += batch
    elapsed = time.perf_counter() - start
    return {
        "beats": beats,
        "records": records,
        "seconds": elapsed,
        "beats_per_s": beats / elapsed,
        "records_per_s": records / elapsed,
    }


def to_disk(records: int, folder: str) -> dict:
    code = (
        "import ecgfast, time, json, sys\n"
        "t = time.perf_counter()\n"
        f"ecgfast.synthesize_to({folder!r}, {records}, shard_size=10000, progress=False)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(out.stdout.strip().splitlines()[-1])
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    result.update({"records": records, "peak_rss_mb": peak_kib / 1024, "disk_gb": size / 1e9})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=float, default=1e6)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--disk", default=None, help="folder for synthesize_to (default: temp)")
    parser.add_argument("--skip-disk", action="store_true")
    parser.add_argument(
        "--pathology",
        action="store_true",
        help="also time records with the 12-lead pathology mix (RECORD_PATHOLOGY_MIX)",
    )
    parser.add_argument(
        "--ludb",
        action="store_true",
        help='also time sinus records of population="ludb" (Ta and U waves), same run',
    )
    args = parser.parse_args()
    print(
        f"ecgfast {ecgfast.__version__}, {ecgfast.get_num_threads()} threads, "
        f"{ecgfast._core.simd_level()} synthesis loops"
    )
    settings = {"sinus": {}}
    if args.ludb:
        settings["sinus, population ludb"] = {"population": "ludb"}
    if args.pathology:
        from ecgfast.apps.records import RECORD_PATHOLOGY_MIX

        settings["pathology"] = RECORD_PATHOLOGY_MIX
    timed = {}
    for name, kwargs in settings.items():
        timed[name] = mem = in_memory(int(args.beats), args.batch, **kwargs)
        print(
            f"in memory : {mem['beats']:,} beats ({mem['records']:,} records, 12 leads, 500 Hz, "
            f"10 s, default noise, {name}) in {mem['seconds']:.2f} s = "
            f"{mem['beats_per_s']:,.0f} beats/s, {mem['records_per_s']:,.0f} records/s "
            f"(batches of {args.batch})"
        )
    if args.skip_disk:
        return
    folder = args.disk or tempfile.mkdtemp(prefix="ecgfast-synth-")
    try:
        disk = to_disk(timed["sinus"]["records"], folder)
        print(
            f"to disk   : {disk['records']:,} records in {disk['seconds']:.1f} s "
            f"({disk['records'] / disk['seconds']:,.0f} records/s incl. writes, "
            f"{disk['disk_gb']:.1f} GB), peak RSS {disk['peak_rss_mb']:,.0f} MB"
        )
    finally:
        if args.disk is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
