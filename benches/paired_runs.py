"""Pair two arms of one or more ``ecgfast beats`` reports by (seed, fold) and print the paired
differences with 95 % t intervals: per fold (the pairs share patient folds across seeds, so that
interval is somewhat too narrow) and per seed (the pooled figure of each seed).

    python benches/paired_runs.py "scratch 10%" "pretrained 10%" runs/a/beats.json runs/b/beats.json

Used to join runs of the same command with different ``--seeds`` (BENCHMARKS.md, issue 16).
An arm written ``ARM@PATH`` is read from that report only (``ARM@PATH1,PATH2``: from those
reports, e.g. two runs with different seeds), so the same arm of two runs (e.g. two
synthesizer versions, the second run with ``--no-scratch``) can be compared:

    python benches/paired_runs.py "pretrained 100%@runs/old/beats.json" \
        "pretrained 100%@runs/new/beats.json" runs/old/beats.json runs/new/beats.json
"""

from __future__ import annotations

import argparse
import json

from ecgfast.apps._stats import mean_ci_text
from ecgfast.apps.beats import PAIRED_METRICS, metric_value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "arm_a", help='baseline arm, e.g. "scratch 10%%" (ARM@PATH[,PATH...]: those reports only)'
    )
    p.add_argument("arm_b", help='compared arm, e.g. "pretrained 10%%"')
    p.add_argument("reports", nargs="+", help="beats.json files")
    args = p.parse_args()
    folds: dict[str, dict] = {args.arm_a: {}, args.arm_b: {}}
    runs: dict[str, dict] = {args.arm_a: {}, args.arm_b: {}}
    for path in args.reports:
        report = json.load(open(path))
        for spec in (args.arm_a, args.arm_b):
            arm, _, only = spec.partition("@")
            if only and path not in only.split(","):
                continue
            for row in report["folds"]:
                if row["arm"] == arm:
                    folds[spec][(row["seed"], row["fold"])] = row
            for row in report["runs"]:
                if row["arm"] == arm:
                    runs[spec][row["seed"]] = row
    a, b = folds[args.arm_a], folds[args.arm_b]
    keys = sorted(set(a) & set(b))
    seeds = sorted(set(runs[args.arm_a]) & set(runs[args.arm_b]))
    if not keys:
        raise SystemExit(
            f"no (seed, fold) pair in common between {args.arm_a!r} and {args.arm_b!r}"
        )
    print(f"{len(keys)} (seed, fold) pairs, seeds {seeds}: {args.arm_b} - {args.arm_a}")
    for metric in PAIRED_METRICS:
        per_fold = [metric_value(b[k], metric) - metric_value(a[k], metric) for k in keys]
        pooled = [
            metric_value(runs[args.arm_b][s], metric) - metric_value(runs[args.arm_a][s], metric)
            for s in seeds
        ]
        print(
            f"{metric:9s} per fold {mean_ci_text(per_fold)}   "
            f"per seed (pooled) {mean_ci_text(pooled)}  "
            f"({', '.join(f'{d:+.3f}' for d in pooled)})"
        )


if __name__ == "__main__":
    main()
