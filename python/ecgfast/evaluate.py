"""Evaluation against reference annotations (the protocol of ``DESIGN.md``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validate import check_fs, check_positive
from .delineation import FIDUCIALS
from .errors import InvalidParameterError

__all__ = ["FIDUCIALS", "PeakMatch", "delineation", "fiducials_from_annotation", "match_peaks"]


@dataclass(frozen=True)
class PeakMatch:
    """Result of :func:`match_peaks`. Counts are integers, rates in [0, 1] (NaN when undefined).

    ``errors_ms`` holds detected − reference for every true positive, in ms.
    """

    tp: int
    fp: int
    fn: int
    sensitivity: float
    ppv: float
    f1: float
    errors_ms: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        """The counts and rates (without the per-beat errors), e.g. for a DataFrame row."""
        d = asdict(self)
        d.pop("errors_ms")
        return d


def _as_indices(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be a 1-D array of sample indices")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise InvalidParameterError(f"{name} must hold sample indices, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} contains NaN or infinity")
    return np.sort(arr)


def match_peaks(detected: Any, reference: Any, fs: float, tolerance: float = 0.15) -> PeakMatch:
    """Match detected beats to reference beats one-to-one within a tolerance.

    Pairs are formed closest first: every reference beat is matched to at most one detection
    and vice versa, and only when they are at most ``tolerance`` seconds apart. Unmatched
    detections are false positives, unmatched references false negatives.

    Parameters
    ----------
    detected, reference : array_like of int
        Sample indices (any order).
    fs : float
        Sampling rate in Hz.
    tolerance : float
        Matching window in seconds (150 ms is the usual; 75 ms for CPSC 2019).

    Returns
    -------
    PeakMatch
        ``tp, fp, fn, sensitivity = tp / (tp + fn), ppv = tp / (tp + fp),
        f1 = 2 tp / (2 tp + fp + fn)`` and the timing errors of the matches.
    """
    fs = check_fs(fs)
    tolerance = check_positive(tolerance, name="tolerance")
    det = _as_indices(detected, "detected")
    ref = _as_indices(reference, "reference")
    used_d, errors = _pair(det, ref, tolerance * fs)
    errors = errors * 1000.0 / fs
    tp = int(used_d.sum())
    fp = int(det.size - tp)
    fn = int(ref.size - tp)
    nan = float("nan")
    return PeakMatch(
        tp=tp,
        fp=fp,
        fn=fn,
        sensitivity=tp / (tp + fn) if tp + fn else nan,
        ppv=tp / (tp + fp) if tp + fp else nan,
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
        errors_ms=errors,
    )


_WAVE_COLUMNS = {
    "p": ("p_on", "p_peak", "p_off"),
    "N": ("qrs_on", "r_peak", "qrs_off"),
    "t": ("t_on", "t_peak", "t_off"),
}


def fiducials_from_annotation(samples: Any, symbols: Any) -> pd.DataFrame:
    """Turn WFDB wave annotations (LUDB, QTDB style) into a fiducial table.

    Each wave is written as ``(`` onset, a peak symbol (``p`` P wave, ``N`` QRS complex, ``t``
    T wave; other beat symbols count as QRS too), ``)`` offset. Beats are built around the QRS
    complexes: a P wave belongs to the next QRS, a T wave to the previous one. Waves without a
    QRS on that side are dropped; a missing bracket gives ``<NA>``.

    Parameters
    ----------
    samples : array_like of int
        Annotation sample indices (``wfdb.Annotation.sample``).
    symbols : sequence of str
        Annotation symbols (``wfdb.Annotation.symbol``), same length.

    Returns
    -------
    pandas.DataFrame
        One row per QRS complex with the columns of :data:`FIDUCIALS` (nullable ``Int64``).
    """
    samples = np.asarray(samples, dtype=np.int64)
    symbols = list(symbols)
    if samples.ndim != 1 or len(symbols) != samples.size:
        raise InvalidParameterError("samples and symbols must be 1-D sequences of equal length")
    waves: list[tuple[str, int | None, int, int | None]] = []
    for k, sym in enumerate(symbols):
        if sym in ("(", ")"):
            continue
        kind = sym if sym in ("p", "t") else "N"
        if sym in ("p", "t", "N") or sym.isalpha() or sym in ("/", "!"):
            on = int(samples[k - 1]) if k > 0 and symbols[k - 1] == "(" else None
            off = int(samples[k + 1]) if k + 1 < len(symbols) and symbols[k + 1] == ")" else None
            waves.append((kind, on, int(samples[k]), off))
    rows: list[dict[str, Any]] = []
    pending_p: tuple[int | None, int, int | None] | None = None
    for kind, on, peak, off in waves:
        if kind == "p":
            pending_p = (on, peak, off)
        elif kind == "N":
            row: dict[str, Any] = dict.fromkeys(FIDUCIALS)
            row.update(zip(_WAVE_COLUMNS["N"], (on, peak, off), strict=True))
            if pending_p is not None:
                row.update(zip(_WAVE_COLUMNS["p"], pending_p, strict=True))
            pending_p = None
            rows.append(row)
        else:  # T wave: belongs to the previous QRS if that beat has none yet
            pending_p = None
            if rows and rows[-1]["t_peak"] is None:
                rows[-1].update(zip(_WAVE_COLUMNS["t"], (on, peak, off), strict=True))
    frame = pd.DataFrame(rows, columns=list(FIDUCIALS))
    return frame.astype("Int64")


def _fiducial_positions(table: Any, column: str) -> np.ndarray:
    if column not in table:
        return np.zeros(0)
    values = pd.array(table[column], dtype="Float64")
    return np.sort(np.asarray(values.dropna(), dtype=np.float64))


def delineation(
    detected: Any,
    reference: Any,
    fs: float,
    tolerance: float = 0.15,
    *,
    span: Any = None,
    fiducials: Any = FIDUCIALS,
) -> pd.DataFrame:
    """Score a delineation against reference fiducials, per fiducial.

    For every fiducial column the detected and reference positions are matched one-to-one,
    closest first, within ``tolerance`` (:func:`match_peaks`), then pooled over all pairs of
    tables given.

    Parameters
    ----------
    detected, reference : DataFrame or mapping of arrays, or lists of them
        Fiducial tables (columns named as in :data:`FIDUCIALS`, missing values allowed), e.g.
        the output of :func:`ecgfast.delineate` and of :func:`fiducials_from_annotation`. Pass
        two equally long lists to pool several leads or records.
    fs : float
        Sampling rate in Hz.
    tolerance : float
        Matching window in seconds (150 ms in the evaluation protocol).
    span : (start, end) or list of them, optional
        Annotated span of each pair (sample indices, inclusive). Detections outside it that
        match nothing are not counted as false positives (the annotators did not look there);
        ``None`` counts every detection.
    fiducials : sequence of str
        Columns to score.

    Returns
    -------
    pandas.DataFrame
        Indexed by fiducial: ``n_ref, n_det, tp, fp, fn, se, ppv, f1`` and the errors
        (detected − reference, ms) of the matches: ``mean_ms, sd_ms, mae_ms``.
    """
    fs = check_fs(fs)
    check_positive(tolerance, name="tolerance")
    if isinstance(detected, (list, tuple)) != isinstance(reference, (list, tuple)):
        raise InvalidParameterError("pass either one table each or two lists of tables")
    dets = list(detected) if isinstance(detected, (list, tuple)) else [detected]
    refs = list(reference) if isinstance(reference, (list, tuple)) else [reference]
    if len(dets) != len(refs):
        raise InvalidParameterError(f"{len(dets)} detected tables but {len(refs)} reference tables")
    if span is None:
        spans: list[Any] = [None] * len(dets)
    elif len(dets) == 1 and np.ndim(span) == 1:
        spans = [span]
    else:
        spans = list(span)
        if len(spans) != len(dets):
            raise InvalidParameterError(f"{len(spans)} spans for {len(dets)} tables")
    rows = []
    for name in fiducials:
        if name not in FIDUCIALS:
            raise InvalidParameterError(f"unknown fiducial {name!r}; expected one of {FIDUCIALS}")
        n_ref = n_det = tp = fp = fn = 0
        errors: list[np.ndarray] = []
        for det_table, ref_table, sp in zip(dets, refs, spans, strict=True):
            det = _fiducial_positions(det_table, name)
            ref = _fiducial_positions(ref_table, name)
            if sp is not None:
                lo, hi = float(sp[0]), float(sp[1])
                ref = ref[(ref >= lo) & (ref <= hi)]
            matched, err_samples = _pair(det, ref, fs * tolerance)
            judged = matched.copy() if sp is not None else np.ones(det.size, dtype=bool)
            if sp is not None:  # unmatched detections outside the span are not judged
                judged |= (det >= lo) & (det <= hi)
            n_ref += ref.size
            n_det += int(judged.sum())
            tp += err_samples.size
            fp += int(judged.sum()) - err_samples.size
            fn += ref.size - err_samples.size
            errors.append(err_samples * 1000.0 / fs)
        err = np.concatenate(errors) if errors else np.zeros(0)
        nan = float("nan")
        rows.append(
            {
                "fiducial": name,
                "n_ref": n_ref,
                "n_det": n_det,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "se": tp / (tp + fn) if tp + fn else nan,
                "ppv": tp / (tp + fp) if tp + fp else nan,
                "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
                "mean_ms": float(err.mean()) if err.size else nan,
                "sd_ms": float(err.std(ddof=1)) if err.size > 1 else nan,
                "mae_ms": float(np.abs(err).mean()) if err.size else nan,
            }
        )
    return pd.DataFrame(rows).set_index("fiducial")


def _pair(det: np.ndarray, ref: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Closest-first one-to-one matching of two sorted position arrays within ``tol`` samples.

    Returns which detections are matched and detected − reference (samples) of every match.
    """
    pairs: list[tuple[float, int, int]] = []
    lo = np.searchsorted(ref, det - tol, side="left")
    hi = np.searchsorted(ref, det + tol, side="right")
    for i in np.flatnonzero(hi > lo):
        for j in range(lo[i], hi[i]):
            pairs.append((abs(det[i] - ref[j]), int(i), j))
    pairs.sort()
    used_d = np.zeros(det.size, dtype=bool)
    used_r = np.zeros(ref.size, dtype=bool)
    errors = []
    for _, i, j in pairs:
        if not used_d[i] and not used_r[j]:
            used_d[i] = used_r[j] = True
            errors.append(det[i] - ref[j])
    return used_d, np.asarray(errors, dtype=np.float64)
