"""Evaluation against reference annotations (the protocol of ``DESIGN.md``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._validate import check_fs, check_positive
from .errors import InvalidParameterError

__all__ = ["PeakMatch", "match_peaks"]


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
    tol = tolerance * fs
    # every (detected, reference) pair within the tolerance, closest first
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
            errors.append((det[i] - ref[j]) * 1000.0 / fs)
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
        errors_ms=np.asarray(errors),
    )
