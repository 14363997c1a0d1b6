"""Print speed ratios against the anchor of each group (the benchmark named after the peer:
``..._scipy``, ``..._neurokit2``, ``..._sleepecg``; ``..._1thread`` for thread scaling),
measured in the same run. Benchmarks that
process several records per call set ``benchmark.extra_info["records"]`` so times compare per
record. pytest-benchmark's own table shows the absolute times."""

from __future__ import annotations

PEERS = ("scipy", "neurokit2", "sleepecg", "1thread")


def _per_record(bench) -> float:
    return bench.stats.min / bench.extra_info.get("records", 1)


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list] = {}
    for bench in session.benchmarks:
        groups.setdefault(bench.group or "", []).append(bench)
    tr = terminalreporter
    tr.section("speed-up against the anchor (min time per record, same run)")
    tr.write_line(f"{'group':<36} {'benchmark':<42} {'ms/record':>10} {'ratio':>9}")
    for group, benches in sorted(groups.items()):
        anchors = [b for b in benches if b.name.split("[")[0].endswith(PEERS)]
        if not anchors:
            continue
        anchor = _per_record(anchors[0])
        for b in sorted(benches, key=_per_record, reverse=True):
            t = _per_record(b)
            tr.write_line(f"{group:<36} {b.name:<42} {t * 1e3:10.4f} {anchor / t:8.1f}x")
