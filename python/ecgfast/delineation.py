"""Wave delineation and record intervals (Rust core, ``rust/delineate.rs``).

Label meanings (the same as the synthetic labels of :mod:`ecgfast.synth`, see ``docs/DESIGN.md``):
PR = QRS onset − P onset, QRS = QRS offset − QRS onset, QT = T offset − QRS onset, HR = 60 000 /
median RR (ms), QTc Bazett = QT / √RR and Fridericia = QT / ∛RR with the median RR in s. Record
values are medians over the beats where both ends exist; a missing wave gives ``<NA>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import as_signal, check_fs
from .errors import InvalidParameterError, InvalidSignalError

__all__ = ["FIDUCIALS", "INTERVALS", "delineate", "intervals"]

_FID, _INT = _core.schema()["fiducials"], _core.schema()["intervals"]
#: Columns of :func:`delineate`.
FIDUCIALS: tuple[str, ...] = tuple(_FID)
#: Entries of :func:`intervals`.
INTERVALS: tuple[str, ...] = tuple(_INT)

#: Lowest sampling rate the delineator accepts (Hz): below it P and T edges are not resolved.
MIN_FS = 50.0


def _table(rows: np.ndarray) -> pd.DataFrame:
    rows = np.asarray(rows, dtype=np.int64)
    data = {
        name: pd.arrays.IntegerArray(np.maximum(rows[:, k], 0), rows[:, k] < 0)
        for k, name in enumerate(FIDUCIALS)
    }
    frame = pd.DataFrame(data, copy=False)
    frame.index.name = "beat"
    return frame


def _check(x: Any, fs: Any) -> tuple[np.ndarray, float]:
    fs = check_fs(fs)
    if fs < MIN_FS:
        raise InvalidParameterError(
            f"fs={fs:g} Hz is too low to delineate P, QRS and T waves (need >= {MIN_FS:g} Hz)"
        )
    arr = as_signal(x)
    if arr.ndim > 3:
        raise InvalidSignalError(
            "x must be 1-D (one lead), 2-D (leads x samples) or 3-D (records x leads x "
            f"samples), got shape {arr.shape}"
        )
    if arr.ndim < 3:  # batches stay float32 if they are (converted record by record in Rust)
        arr = arr.astype(np.float64, copy=False)
    return arr, fs


def _check_rpeaks(rpeaks: Any, n: int) -> list[int]:
    arr = np.asarray(rpeaks)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        if arr.ndim == 1 and arr.dtype.kind == "f" and np.all(np.isfinite(arr)):
            if np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InvalidParameterError("rpeaks must be integer sample indices")
        else:
            raise InvalidParameterError("rpeaks must be a 1-D array of integer sample indices")
    return [int(v) for v in arr]


def delineate(
    x: Any,
    fs: float,
    rpeaks: Any = None,
    *,
    leads: Sequence[str] | None = None,
    per_lead: bool = False,
) -> pd.DataFrame | list[pd.DataFrame] | dict[str, pd.DataFrame]:
    """Delineate P, QRS and T waves: onset, peak and offset of each, beat by beat.

    Per lead: zero-phase band-pass 0.5-40 Hz; QRS onset/offset where the slope stays below a
    fraction of the first/last QRS wave's steepest slope for 12 ms (after the wavelet
    delineator of Martínez et al. 2004); P and T waves on the 15-Hz low-passed lead with the
    QRS complexes bridged by straight lines: peak = the point farthest from the line joining the
    ends of an RR-scaled search window, onset/offset by the trapezium method (Vázquez-Seisdedos
    et al. 2011). P waves are reported only where they stand out of the noise and their timing
    to the QRS is consistent beat to beat (none in atrial fibrillation). ``r_peak`` is the R
    wave: the most positive point of the QRS above the line joining its onset and offset (the
    convention of LUDB's cardiologists), which in leads with a dominant negative deflection
    differs from :func:`ecgfast.detect_rpeaks`' beat position; a QS complex (no R wave) is
    marked halfway between its highest point and its trough.

    Several leads give global fiducials, as 12-lead measuring systems do: QRS onset and offset
    from the spatial velocity (the norm of all leads' slopes; a lead far noisier than the others
    is left out), P and T onsets (offsets) as the 10th (90th) percentile of the leads' own after
    dropping leads far from their median, so one noisy lead cannot move them; a wave is present
    when at least a third of the leads see it; ``r_peak`` is the fused beat position.

    Parameters
    ----------
    x : array_like
        One lead ``(n_samples,)``, one record ``(n_leads, n_samples)`` or a batch
        ``(n_records, n_leads, n_samples)`` (records run in parallel with the GIL released).
        Any real dtype; never modified.
    fs : float
        Sampling rate in Hz (>= 50; 250-1000 Hz is typical).
    rpeaks : array_like of int, optional
        Beat positions (sample indices, strictly increasing). By default R peaks are detected
        with :func:`ecgfast.detect_rpeaks` on every lead and fused (a beat seen by at least half
        of the leads). Not accepted for batches.
    leads : sequence of str, optional
        Lead names of a record (keys of the ``per_lead`` result).
    per_lead : bool
        For a record, also return each lead's own fiducials: the result is then a dict
        ``{lead name: DataFrame, ..., "global": DataFrame}``.

    Returns
    -------
    pandas.DataFrame, list or dict of them
        One row per beat; columns ``p_on, p_peak, p_off, qrs_on, r_peak, qrs_off, t_on, t_peak,
        t_off`` (nullable Int64 sample indices, ``<NA>`` where a wave was not found). A batch
        gives a list with one DataFrame per record.

    Raises
    ------
    InvalidSignalError
        NaN or infinity, empty input, more than 3 dimensions.
    InvalidParameterError
        Bad sampling rate, bad ``rpeaks`` or ``leads``.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(1, leads="II", seed=0)
    >>> table = ecgfast.delineate(b.signals[0, 0], b.fs)
    >>> list(table.columns)[:3]
    ['p_on', 'p_peak', 'p_off']
    """
    arr, fs = _check(x, fs)
    if arr.ndim == 3:
        if rpeaks is not None:
            raise InvalidParameterError("rpeaks cannot be given for a batch of records")
        if per_lead:
            raise InvalidParameterError("per_lead is for one record, not a batch")
        index, rows = _core.delineate_batch(np.ascontiguousarray(arr), fs)
        splits = np.searchsorted(index, np.arange(1, arr.shape[0]))
        return [_table(part) for part in np.split(rows, splits)]
    record = arr[None, :] if arr.ndim == 1 else arr
    names = _lead_names(leads, record.shape[0])
    peaks = None if rpeaks is None else _check_rpeaks(rpeaks, record.shape[1])
    lead_rows, global_rows, _ = _core.delineate(record, fs, peaks)
    table = _table(global_rows)
    if not per_lead:
        return table
    out = {name: _table(lead_rows[k]) for k, name in enumerate(names)}
    out["global"] = table
    return out


def _lead_names(leads: Sequence[str] | None, n_leads: int) -> list[str]:
    if leads is None:
        return [f"lead{k}" for k in range(n_leads)]
    if isinstance(leads, str):
        leads = [leads]
    names = [str(v) for v in leads]
    if len(names) != n_leads:
        raise InvalidParameterError(f"{len(names)} lead names for {n_leads} leads")
    if len(set(names)) != len(names) or "global" in names:
        raise InvalidParameterError("lead names must be unique and not 'global'")
    return names


def intervals(x: Any, fs: float) -> pd.Series | pd.DataFrame:
    """Record intervals: HR, RR variability, PR, QRS, QT and QTc as medians over beats.

    Runs :func:`delineate` (R-peak detection, per-lead and global fiducials) in the Rust core
    and reduces each record to ``hr`` (bpm, 60 000 / median RR), ``rr_std`` (ms, SD of RR),
    ``pr``, ``qrs``, ``qt`` (ms, medians over the beats where both ends exist),
    ``qtc_bazett`` = QT / √RR and ``qtc_fridericia`` = QT / ∛RR (median RR in s), and
    ``n_beats``. Missing waves give ``<NA>`` for the intervals that need them.

    Parameters
    ----------
    x : array_like
        One lead ``(n_samples,)``, one record ``(n_leads, n_samples)`` or a batch
        ``(n_records, n_leads, n_samples)`` (parallel, GIL released). Never modified.
    fs : float
        Sampling rate in Hz (>= 50).

    Returns
    -------
    pandas.Series or pandas.DataFrame
        A Series (nullable Float64) for one lead or record; a DataFrame with one row per record
        for a batch.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(2, hr=70, seed=1)
    >>> iv = ecgfast.intervals(b.signals, b.fs)
    >>> iv.shape
    (2, 8)
    """
    arr, fs = _check(x, fs)
    batch = arr.ndim == 3
    if arr.ndim == 1:
        arr = arr[None, None, :]
    elif arr.ndim == 2:
        arr = arr[None, :, :]
    values = _core.intervals_batch(np.ascontiguousarray(arr), fs)
    frame = pd.DataFrame(values, columns=list(INTERVALS)).astype("Float64")
    if not batch:
        return frame.iloc[0].rename(None)
    frame["n_beats"] = frame["n_beats"].astype("Int64")
    frame.index.name = "record"
    return frame
