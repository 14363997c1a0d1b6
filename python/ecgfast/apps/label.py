"""``ecgfast label``: the intervals (HR, PR, QRS, QT, QTc) of every WFDB record found in folders
and files, one row per record, into a Parquet or CSV table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..delineation import intervals
from ..errors import InvalidParameterError

__all__ = ["find_records", "label_record", "label_records"]


def find_records(paths: list[str] | list[Path]) -> list[Path]:
    """WFDB record paths (without extension) from files and folders (searched recursively)."""
    found: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found.extend(sorted(h.with_suffix("") for h in p.rglob("*.hea")))
        elif p.suffix == ".hea" or p.with_suffix(".hea").exists():
            found.append(p.with_suffix(""))
        else:
            raise InvalidParameterError(f"{item}: not a folder or a WFDB record")
    return list(dict.fromkeys(found))


def label_record(path: Path) -> dict[str, Any]:
    """Intervals of one WFDB record over all its leads; leads with missing (NaN) samples are
    left out (and counted in ``n_leads``), never zero-filled."""
    import wfdb

    rec = wfdb.rdrecord(str(path))
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise ValueError("record has no signal")
    sig = np.asarray(rec.p_signal, dtype=np.float64).T
    usable = np.all(np.isfinite(sig), axis=1)
    if not usable.any():
        raise ValueError("every lead has missing (NaN) samples")
    iv = intervals(sig[usable], float(rec.fs))
    row: dict[str, Any] = {
        "fs": float(rec.fs),
        "n_leads": int(usable.sum()),
        "duration_s": sig.shape[1] / float(rec.fs),
    }
    row.update({str(k): (float("nan") if v is pd.NA else float(v)) for k, v in iv.items()})
    return row


def label_records(
    paths: list[str] | list[Path], out: str | Path, *, progress: bool = True
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Label every record under ``paths`` and write the table to ``out`` (``.csv`` or
    Parquet). Returns ``(table, skipped)``: unreadable or unusable records are reported in
    ``skipped`` as ``(path, reason)`` and left out of the table."""
    from tqdm.auto import tqdm

    records = find_records(paths)
    if not records:
        raise InvalidParameterError("no WFDB records (.hea) found")
    rows, skipped = [], []
    for path in tqdm(records, desc="labelling", unit="record", disable=not progress):
        try:
            rows.append({"record": str(path), **label_record(path)})
        except Exception as exc:  # unreadable or unusable record: report, keep going
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    if out.suffix == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    return table, skipped
