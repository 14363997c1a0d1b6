"""Style rules that would otherwise drift: no function in the package or the Rust core longer
than 80 lines (docstrings not counted) unless its documentation says why ("Long because:")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 80


def _python_functions():
    for path in sorted((ROOT / "python" / "ecgfast").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                doc = ast.get_docstring(node) or ""
                if doc:
                    lines -= node.body[0].end_lineno - node.body[0].lineno + 1
                yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", lines, doc


def _rust_functions():
    start = re.compile(r"\s*(pub(\(crate\))?\s+)?fn\s+(\w+)")
    for path in sorted((ROOT / "rust").rglob("*.rs")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            m = start.match(line)
            if not m:
                continue
            doc = []
            for prev in reversed(lines[:i]):
                if not prev.strip().startswith(("///", "#[")):
                    break
                doc.append(prev)
            depth, opened, j = 0, False, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened = opened or "{" in lines[j]
                if (opened and depth <= 0) or (not opened and lines[j].rstrip().endswith(";")):
                    break
                j += 1
            yield f"{path.relative_to(ROOT)}:{i + 1} {m.group(3)}", j - i + 1, "\n".join(doc)


def test_no_unexplained_long_functions():
    found = list(_python_functions()) + list(_rust_functions())
    assert len(found) > 200  # the scan sees the code
    unexplained = [
        f"{where} ({n} lines)" for where, n, doc in found if n > LIMIT and "Long because" not in doc
    ]
    assert not unexplained, "functions over 80 lines without 'Long because:' in their docs"
