"""Record-level diagnosis labels of real 12-lead databases, as multi-label tables that
:class:`ecgfast.torch.WFDBDataset` reads (column ``record`` plus one 0/1 column per label).

- LUDB (Kalyakulina et al. 2020): the cardiologists' free-text diagnoses of ``ludb.csv``
  grouped into :data:`LUDB_LABELS` (rhythm, axis, conduction, hypertrophy, ischaemia, ...).
- PhysioNet/CinC 2021: the SNOMED CT codes of each header's ``# Dx:`` line.

No torch needed.

>>> table = ludb_diagnoses("../shared/data/ludb")            # doctest: +SKIP
>>> table.columns[:4].tolist()                                 # doctest: +SKIP
['record', 'AF', 'SBRAD', 'LAD']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InvalidParameterError
from .synth import SUPERCLASSES

__all__ = [
    "CINC2021_FROM_SYNTHETIC",
    "DIAGNOSES",
    "FINDINGS",
    "LUDB_FROM_SYNTHETIC",
    "LUDB_LABELS",
    "PTBXL_FROM_SYNTHETIC",
    "Terms",
    "cinc2021_diagnoses",
    "ludb_diagnoses",
]

#: LUDB diagnosis groups: label -> (column of ``ludb.csv``, pattern searched case-insensitively
#: in that column's text; an empty pattern means "anything written there"). Names follow the
#: PTB-XL / SCP codes where one exists.
LUDB_LABELS: dict[str, tuple[str, str]] = {
    "AF": ("Rhythms", r"atrial fibrillation|atrial flutter"),
    "SBRAD": ("Rhythms", r"sinus bradycardia"),
    "LAD": ("Electric axis of the heart", r"left axis deviation"),
    "RBBB": ("Conduction abnormalities", r"right bundle branch block"),
    "LAFB": ("Conduction abnormalities", r"left anterior hemiblock"),
    "AVB": ("Conduction abnormalities", r"av[ -]block"),
    "LVH": ("Hypertrophies", r"left ventricular (hypertrophy|overload)"),
    "ISC": ("Ischemia", ""),
    "STEMI": ("Ischemia", r"stemi:"),
    "NSSTT": ("Non-specific repolarization abnormalities", ""),
    "EXTRA": ("Extrasystolies", ""),
    "PACE": ("Cardiac pacing", ""),
}


#: Record-level 0/1 diagnoses of synthetic records (never standardised): atrial fibrillation,
#: left / right bundle-branch block, premature atrial / ventricular beats present, second- or
#: third-degree AV block, and the PTB-XL superclasses (:data:`ecgfast.synth.SUPERCLASSES`).
DIAGNOSES = ("AF", "LBBB", "RBBB", "PAC", "PVC", "AVB", *SUPERCLASSES)
#: Further record-level 0/1 findings of synthetic records that a target task may name: left axis
#: deviation (QRS axis below -30 degrees), left anterior fascicular block, ventricular pacing.
FINDINGS = ("LAD", "LAFB", "PACE")

#: The generator's outputs that mean each label, for reading a model pretrained on synthetic
#: records (:data:`DIAGNOSES`, :data:`FINDINGS`, the regressed
#: intervals) as a target's labels (:func:`ecgfast.torch.matched_head`). A label's logit starts
#: as the sum of its terms, each a 0/1 output's logit (a name) or an interval against a cut-off
#: ``(name, cut, step)``: ``(value - cut) / step`` logits, so a negative step means "below the
#: cut". Fixed from what the labels mean, never fitted to records. Type: label -> terms.
Terms = dict[str, tuple[object, ...]]

#: :data:`LUDB_LABELS` from the synthetic outputs (LUDB's texts; the generator's definitions).
LUDB_FROM_SYNTHETIC: Terms = {
    "AF": ("AF",),  # LUDB's "AF" includes flutter; the generator's AF label does not
    "SBRAD": (("hr", 60.0, -5.0),),  # sinus bradycardia: below 60 bpm
    "LAD": ("LAD",),  # QRS axis below -30 degrees
    "RBBB": ("RBBB",),
    "LAFB": ("LAFB",),
    "AVB": ("AVB", ("pr", 200.0, 20.0)),  # LUDB: first degree (PR > 200 ms) and third degree
    "LVH": ("HYP",),
    "ISC": ("MI", "STTC"),  # ischaemia, scar or STEMI
    "STEMI": ("MI",),  # ST elevation (or Q waves) in the generator's MI
    "NSSTT": ("STTC",),
    "EXTRA": ("PAC", "PVC"),
    "PACE": ("PACE",),
}

#: SNOMED CT codes of the PhysioNet/CinC 2021 headers from the synthetic outputs, for the codes
#: with a counterpart (``dx_mapping_scored.csv`` / ``dx_mapping_unscored.csv`` abbreviations in
#: the comments). Set before any CinC record was scored.
CINC2021_FROM_SYNTHETIC: Terms = {
    "164889003": ("AF",),  # AF
    "164890007": ("AF",),  # AFL (the generator's flutter is not a label of its own)
    "427084000": (("hr", 100.0, 5.0),),  # STach: above 100 bpm
    "426177001": (("hr", 60.0, -5.0),),  # SB: below 60 bpm
    "284470004": ("PAC",),  # PAC
    "427172004": ("PVC",),  # PVC
    "17338001": ("PVC",),  # VEB
    "59118001": ("RBBB",),  # RBBB
    "713427006": ("RBBB",),  # CRBBB
    "713426002": ("RBBB",),  # IRBBB
    "164909002": ("LBBB",),  # LBBB
    "733534002": ("LBBB",),  # CLBBB
    "39732003": ("LAD",),  # LAD
    "445118002": ("LAFB",),  # LAnFB
    "270492004": (("pr", 200.0, 20.0),),  # IAVB: PR above 200 ms
    "698252002": (("qrs", 110.0, 10.0),),  # NSIVCB: QRS above 110 ms
    "164873001": ("HYP",),  # LVH
    "55827005": ("HYP",),  # LVHV
    "164934002": ("STTC",),  # TAb
    "59931005": ("STTC",),  # TInv
    "10370003": ("PACE",),  # PR (pacing rhythm)
}

#: The PTB-XL superclasses (:data:`ecgfast.torch.PTBXL_SUPERCLASSES`): the generator labels its
#: records with the same five, by the same definitions (:func:`ecgfast.synthesize`).
PTBXL_FROM_SYNTHETIC: Terms = {c: (c,) for c in SUPERCLASSES}


def ludb_diagnoses(root: str | Path, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """0/1 diagnosis labels of the LUDB records present under ``root``.

    Parameters
    ----------
    root : path
        The LUDB folder: ``ludb.csv`` and the records (in ``data/`` or beside the table).
    labels : sequence of str, optional
        Keys of :data:`LUDB_LABELS` (default: all, in that order).

    Returns
    -------
    DataFrame
        ``record`` (path of the record relative to ``root``, e.g. ``"data/7"``) and one
        float 0/1 column per label; one row per record found on disk, in ID order.
    """
    root = Path(root)
    table_path = root / "ludb.csv"
    if not table_path.is_file():
        raise InvalidParameterError(f"no ludb.csv in {root} (the LUDB diagnosis table)")
    names = list(LUDB_LABELS) if labels is None else [str(v) for v in labels]
    unknown = sorted(set(names) - set(LUDB_LABELS))
    if unknown or not names:
        raise InvalidParameterError(
            f"unknown LUDB labels {unknown}; choose from {', '.join(LUDB_LABELS)}"
        )
    table = pd.read_csv(table_path, dtype=str).fillna("")
    missing = sorted(({LUDB_LABELS[n][0] for n in names} | {"ID"}) - set(table.columns))
    if missing:
        raise InvalidParameterError(f"{table_path} lacks the columns {missing}")
    folder = "data" if (root / "data").is_dir() else "."
    rows = []
    for _, row in table.iterrows():
        rec = str(row["ID"]).strip()
        if not (root / folder / f"{rec}.hea").is_file():
            continue
        out: dict[str, object] = {"record": rec if folder == "." else f"{folder}/{rec}"}
        for name in names:
            column, pattern = LUDB_LABELS[name]
            text = str(row[column]).strip()
            found = not pattern or re.search(pattern, text, re.IGNORECASE) is not None
            out[name] = 1.0 if text and found else 0.0
        rows.append(out)
    if not rows:
        raise InvalidParameterError(f"none of the records of {table_path} is in {root / folder}")
    return pd.DataFrame(rows, columns=["record", *names])


def cinc2021_diagnoses(
    root: str | Path, codes: Sequence[str] | None = None, *, min_count: int = 1
) -> pd.DataFrame:
    """0/1 SNOMED CT labels of the PhysioNet/CinC 2021 records under ``root`` (searched
    recursively for ``.hea``), from each header's ``# Dx:`` line.

    Parameters
    ----------
    codes : sequence of str, optional
        SNOMED CT codes to use as labels (default: every code carried by at least
        ``min_count`` records, sorted by frequency, then code).
    min_count : int
        Only without ``codes``.

    Returns
    -------
    DataFrame
        ``record`` (relative to ``root``, no extension) and one float 0/1 column per code.
    """
    root = Path(root)
    headers = sorted(root.rglob("*.hea"))
    if not headers:
        raise InvalidParameterError(f"no WFDB headers (.hea) under {root}")
    found: dict[str, set[str]] = {}
    for hea in headers:
        dx: set[str] = set()
        for line in hea.read_text(errors="replace").splitlines():
            if line.lstrip("# ").lower().startswith("dx:"):
                dx |= {c.strip() for c in line.split(":", 1)[1].split(",") if c.strip()}
        found[str(hea.relative_to(root).with_suffix(""))] = dx
    if codes is None:
        counts = pd.Series([c for dx in found.values() for c in dx], dtype=str).value_counts()
        counts = counts[counts >= max(1, int(min_count))]
        order = sorted(counts.index, key=lambda c: (-int(counts[c]), c))
        codes = list(order)
    codes = [str(c) for c in codes]
    if not codes:
        raise InvalidParameterError(f"no diagnosis codes found in the headers under {root}")
    y = np.array([[float(c in dx) for c in codes] for dx in found.values()])
    out = pd.DataFrame(y, columns=codes)
    out.insert(0, "record", list(found))
    return out
