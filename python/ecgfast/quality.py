"""Signal quality per segment: is this stretch of ECG good enough to detect and measure beats?

A segment is judged by what a reader looks at: do its beats look alike (template correlation,
Orphanidou et al. 2015, IEEE J Biomed Health Inform 19:832), is the QRS band carrying the power
(Li, Mark & Clifford 2008: pSQI), how much is baseline wander (basSQI), and is the beat rate one a
heart can have. It runs on top of :func:`ecgfast.detect_rpeaks` and ecgfast's own filters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._validate import as_indices, check_positive
from .detect import _leads, detect_rpeaks
from .errors import InvalidParameterError, InvalidSignalError
from .filters import bandpass

__all__ = ["QUALITY_COLUMNS", "USABLE_CORRELATION", "signal_quality"]

#: Median template correlation from which a segment counts as usable (Orphanidou et al. 2015
#: use 0.66 on the mean correlation; the median keeps a few ectopic beats from failing a segment).
USABLE_CORRELATION = 0.66
#: Beat rates a segment may show and still be usable (bpm): bradycardia to fast tachycardia.
PLAUSIBLE_HR = (24.0, 300.0)
#: Columns of the table :func:`signal_quality` returns (``record`` first for 2-D input).
QUALITY_COLUMNS = (
    "start",
    "end",
    "n_beats",
    "hr",
    "template_corr",
    "qrs_power_ratio",
    "baseline_power_ratio",
    "usable",
)


def _band_power(x: np.ndarray, fs: float, bands: list[tuple[float, float]]) -> list[float]:
    spec = np.abs(np.fft.rfft(x - x.mean())) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / fs)
    return [float(spec[(freqs >= lo) & (freqs < hi)].sum()) for lo, hi in bands]


def _template_corr(y: np.ndarray, beats: np.ndarray, half: int) -> float:
    """Median correlation of each beat (±half samples around R) with the segment's mean beat."""
    beats = beats[(beats >= half) & (beats + half < len(y))]
    if len(beats) < 2:
        return math.nan
    idx = beats[:, None] + np.arange(-half, half + 1)[None, :]
    w = y[idx]
    w = w - w.mean(axis=1, keepdims=True)
    t = w.mean(axis=0)
    num = w @ t
    den = np.linalg.norm(w, axis=1) * np.linalg.norm(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(den > 0, num / den, 0.0)
    return float(np.median(corr))


def _segment(raw: np.ndarray, filtered: np.ndarray, beats: np.ndarray, fs: float) -> dict:
    seconds = len(raw) / fs
    n_beats = len(beats)
    rr = np.diff(beats) / fs
    hr = 60.0 / float(np.median(rr)) if len(rr) else math.nan
    # ±0.45 median RR around R, at most ±0.35 s: the QRS and most of P and T
    half = int(min(0.35, 0.45 * float(np.median(rr))) * fs) if len(rr) else int(0.25 * fs)
    corr = _template_corr(filtered, beats, max(half, 2))
    qrs, wide, low, total = _band_power(raw, fs, [(5, 15), (5, 40), (0, 1), (0, 40)])
    qrs_ratio = qrs / wide if wide > 0 else math.nan
    baseline = 1.0 - low / total if total > 0 else math.nan
    plausible = (
        n_beats >= max(2, math.floor(seconds * PLAUSIBLE_HR[0] / 60.0))
        and PLAUSIBLE_HR[0] <= hr <= PLAUSIBLE_HR[1]
    )
    usable = bool(plausible and np.isfinite(corr) and corr >= USABLE_CORRELATION)
    return {
        "n_beats": n_beats,
        "hr": hr,
        "template_corr": corr,
        "qrs_power_ratio": qrs_ratio,
        "baseline_power_ratio": baseline,
        "usable": usable,
    }


def _one(
    x: np.ndarray, filtered: np.ndarray, beats: np.ndarray, fs: float, window: float
) -> pd.DataFrame:
    """The segments of one lead, given its band-passed copy and its beats."""
    n = x.shape[-1]
    w = round(window * fs)
    starts = list(range(0, n, w))
    # a last piece shorter than half a window joins the one before it
    if len(starts) > 1 and n - starts[-1] < w // 2:
        starts.pop()
    rows = []
    for k, a in enumerate(starts):
        b = starts[k + 1] if k + 1 < len(starts) else n
        inside = beats[(beats >= a) & (beats < b)] - a
        rows.append({"start": a, "end": b, **_segment(x[a:b], filtered[a:b], inside, fs)})
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))


def signal_quality(x: Any, fs: float, *, window: float = 10.0, rpeaks: Any = None) -> pd.DataFrame:
    """Signal quality of consecutive segments of an ECG lead.

    Each segment of ``window`` seconds (a last piece shorter than half a window joins the one
    before it) gets the indices used in the literature and one decision:

    - ``template_corr``: the median Pearson correlation of each beat (±0.45 median RR around R,
      at most ±0.35 s, on the 0.5-40 Hz band-passed lead) with the segment's mean beat
      (Orphanidou et al. 2015); 1 for identical beats, NaN with fewer than 2 beats;
    - ``qrs_power_ratio``: power in 5-15 Hz over power in 5-40 Hz (pSQI, Li et al. 2008; about
      0.5-0.8 in clean ECG, lower with muscle noise);
    - ``baseline_power_ratio``: 1 - power below 1 Hz over power below 40 Hz (basSQI; near 1 on a
      flat baseline, lower with wander and motion);
    - ``usable``: the beat rate is one a heart can have (24-300 bpm, enough beats for the
      segment's length) and ``template_corr >= 0.66`` (:data:`USABLE_CORRELATION`).

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_records, n_samples)
        ECG lead(s) (mV or any unit: every index is scale-free). Never modified.
    fs : float
        Sampling rate in Hz.
    window : float
        Segment length in seconds (2-600; default 10 s, the usual for short records).
    rpeaks : array_like of int, optional
        R peaks of a 1-D ``x`` (default: :func:`ecgfast.detect_rpeaks`).

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``start``, ``end`` (samples), ``n_beats``, ``hr`` (bpm, from the
        median RR), ``template_corr``, ``qrs_power_ratio``, ``baseline_power_ratio``, ``usable``;
        a leading ``record`` column for 2-D input.

    Raises
    ------
    InvalidSignalError
        Empty, non-finite or shorter than 2 s.
    InvalidParameterError
        Bad ``fs`` or ``window``, ``rpeaks`` with 2-D input or outside the signal.
    DtypeError
        Non-numeric input.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(1, duration=30, leads="II", seed=0)
    >>> q = ecgfast.signal_quality(b.signals[0, 0], b.fs)
    >>> len(q), bool(q["usable"].all())
    (3, True)
    """
    fs, arr = _leads(x, fs)
    window = check_positive(window, name="window")
    if not 2.0 <= window <= 600.0:
        raise InvalidParameterError(f"window must be 2-600 s, got {window:g}")
    if not np.all(np.isfinite(arr)):
        raise InvalidSignalError("x contains NaN or infinity")
    n = arr.shape[-1]
    if n < int(2.0 * fs):
        raise InvalidSignalError(
            f"signal of {n} samples ({n / fs:.2f} s) is too short for a quality estimate (>= 2 s)"
        )
    if rpeaks is not None and arr.ndim > 1:
        raise InvalidParameterError("rpeaks is for a 1-D signal; pass one record at a time")
    if rpeaks is None:
        found = detect_rpeaks(arr, fs)  # every record at once (in parallel) for 2-D input
    else:
        found = np.sort(as_indices(np.ravel(rpeaks), "rpeaks").astype(np.int64))
        if len(found) and (found[0] < 0 or found[-1] >= n):
            raise InvalidParameterError(f"rpeaks must lie in [0, {n}), got {found[0]}..{found[-1]}")
    filtered = bandpass(arr, fs, 0.5, min(40.0, 0.45 * fs))
    if arr.ndim == 1:
        return _one(arr, filtered, np.asarray(found, dtype=np.int64), fs, window)
    frames = [
        _one(row, band, np.asarray(beats, dtype=np.int64), fs, window).assign(record=i)
        for i, (row, band, beats) in enumerate(zip(arr, filtered, found, strict=True))
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[["record", *QUALITY_COLUMNS]]
