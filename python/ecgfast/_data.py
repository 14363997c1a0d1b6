"""Records shipped with the package (see ``data/mitdb/README.md`` for licence and attribution)."""

from __future__ import annotations

from pathlib import Path

#: Folder of the MIT-BIH Arrhythmia Database records shipped with ecgfast (101, 106, 119, 208,
#: 209, 223: six DS1 patients covering the AAMI classes).
SHIPPED_MITDB = Path(__file__).resolve().parent / "data" / "mitdb"


def shipped_records() -> list[str]:
    """Names of the shipped MIT-BIH records, sorted."""
    return sorted(p.stem for p in SHIPPED_MITDB.glob("*.hea"))


#: Folder of the LUDB records shipped with ecgfast (1: sinus rhythm, 38: atrial fibrillation).
SHIPPED_LUDB = Path(__file__).resolve().parent / "data" / "ludb"
