"""``ecgfast rpeaks``: detect the R peaks of WFDB records and, where a record has beat
annotations (``.atr``), score them as the ANSI/AAMI EC57 beat-by-beat comparison does.

Scoring: one-to-one matching within 150 ms (:func:`ecgfast.evaluate.match_peaks`); the
reference is every beat annotation (:data:`ecgfast.evaluate.QRS_SYMBOLS`); reference-marked
ventricular flutter/fibrillation (``[`` to ``]``, :func:`ecgfast.evaluate.flutter_episodes`) is
not scored, as WFDB's ``bxb`` leaves it out. Scores are pooled over the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError


def _channel(names: Sequence[str], channel: str, path: str) -> int:
    """The index of ``channel`` (an index or a signal name, case-insensitive)."""
    if channel.isdigit():
        k = int(channel)
        if k >= len(names):
            raise InvalidParameterError(f"{path} has {len(names)} channels; no channel {k}")
        return k
    lower = [n.lower() for n in names]
    if channel.lower() not in lower:
        raise InvalidParameterError(f"{path} has no channel {channel!r} (it has {list(names)})")
    return lower.index(channel.lower())


def detect_records(
    paths: Sequence[str], channel: str = "0", all_leads: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detect the R peaks of WFDB records (paths without extension) on ``channel`` (with the
    record's other channels as ``other_leads`` when ``all_leads``).

    Returns
    -------
    detections : pandas.DataFrame
        ``record, sample, time_s``, one row per detected beat.
    scores : pandas.DataFrame
        ``record, tp, fp, fn, sensitivity, ppv, f1`` for every record with beat annotations,
        plus a last row ``record == "pooled"``; empty when no record has annotations.
    """
    from tqdm.auto import tqdm

    import ecgfast
    from ecgfast.beatdata import _beat_annotations, _read_wfdb
    from ecgfast.evaluate import _detection_rates, flutter_episodes, match_peaks

    detections, scores = [], []
    for raw in tqdm(paths, desc="records", unit="record", disable=len(paths) < 4, leave=False):
        path, record, ann = _read_wfdb(raw)
        if record.p_signal is None or record.p_signal.ndim != 2:
            raise InvalidParameterError(f"{path} holds no physical signal")
        k = _channel(list(record.sig_name), channel, path)
        x = np.ascontiguousarray(record.p_signal[:, k], dtype=np.float64)
        others = np.delete(record.p_signal, k, axis=1).T if all_leads else None
        if others is not None and others.size == 0:
            others = None
        fs = float(record.fs)
        peaks = np.asarray(ecgfast.detect_rpeaks(x, fs, other_leads=others), dtype=np.int64)
        name = Path(path).name
        detections.append(pd.DataFrame({"record": name, "sample": peaks, "time_s": peaks / fs}))
        if ann is not None:
            ref, _ = _beat_annotations(ann)
            vf = flutter_episodes(ann.sample, ann.symbol, n_samples=x.size)
            m = match_peaks(peaks, ref, fs, exclude=vf)
            scores.append({"record": name, **m.as_dict()})
    det = pd.concat(detections, ignore_index=True) if detections else pd.DataFrame()
    table = pd.DataFrame(scores)
    if len(table):
        tp, fp, fn = (int(table[c].sum()) for c in ("tp", "fp", "fn"))
        pooled = {"record": "pooled", "tp": tp, "fp": fp, "fn": fn, **_detection_rates(tp, fp, fn)}
        table = pd.concat([table, pd.DataFrame([pooled])], ignore_index=True)
    return det, table
