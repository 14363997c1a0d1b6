"""Print speed ratios against the anchor (the benchmark named ``scipy...``) of each group, measured
in the same run. pytest-benchmark's own table shows the absolute times."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, list] = {}
    for bench in session.benchmarks:
        groups.setdefault(bench.group or "", []).append(bench)
    tr = terminalreporter
    tr.section("speed-up against the anchor (min time, same run)")
    tr.write_line(f"{'group':<34} {'benchmark':<44} {'min ms':>9} {'ratio':>7}")
    for group, benches in sorted(groups.items()):
        anchors = [b for b in benches if b.name.split("[")[0].endswith("scipy")]
        if not anchors:
            continue
        anchor = anchors[0].stats.min
        for b in sorted(benches, key=lambda b: b.stats.min, reverse=True):
            ratio = anchor / b.stats.min
            tr.write_line(f"{group:<34} {b.name:<44} {b.stats.min * 1e3:9.2f} {ratio:6.2f}x")
