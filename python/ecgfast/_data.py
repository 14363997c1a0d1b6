"""Records shipped with the package (see ``data/mitdb/README.md`` for licence and attribution)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: Folder of the MIT-BIH Arrhythmia Database records shipped with ecgfast (101, 106, 119, 208,
#: 209, 223: six DS1 patients covering the AAMI classes).
SHIPPED_MITDB = Path(__file__).resolve().parent / "data" / "mitdb"


def wfdb_records(root: Path, wanted: Sequence[str] | None = None) -> list[str]:
    """Names of the WFDB records (``.hea``) in the folder ``root``, sorted; with ``wanted``,
    those names in that order, every one of which must be there.

    Raises InvalidParameterError for a missing folder, a folder without records, or wanted
    records that are not in it (never a silent fall-back to other records)."""
    from .errors import InvalidParameterError

    root = Path(root)
    if not root.is_dir():
        raise InvalidParameterError(f"{root} is not a folder")
    available = sorted(p.stem for p in root.glob("*.hea"))
    if not available:
        raise InvalidParameterError(f"no WFDB records (.hea) found in {root}")
    if wanted is None:
        return available
    wanted = [str(r) for r in wanted]
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise InvalidParameterError(f"records not found in {root}: {missing}")
    return wanted


#: Folder of the LUDB records shipped with ecgfast (1: sinus rhythm, 38: atrial fibrillation).
SHIPPED_LUDB = Path(__file__).resolve().parent / "data" / "ludb"
