"""The beat table: one row per beat with its fiducials and the features cardiologists and beat
classifiers use (Rust core, ``rust/beats.rs``, which owns the beat and interval schema).

Columns, in order (``docs/DESIGN.md`` has the full schema):

- ``sample``: the beat position (the given ``rpeaks`` or the fused detected R peak).
- ``p_on … t_off``: the global fiducials of :func:`ecgfast.delineate` (nullable Int64).
- rhythm (ms or ratios): ``pre_rr``, ``post_rr`` (RR before / after the beat), ``local_rr``
  (mean of the last 10 RR intervals, ``pre_rr`` included), ``record_rr`` (median RR of the
  record), ``pre_rr_local``, ``post_rr_local``, ``pre_post_rr``, ``pre_rr_record``,
  ``local_rr_record`` (the ratios their names say), ``centred_rr`` (median of the 5 RR
  intervals before and 5 after), ``pre_rr_centred``, ``rr_irregularity`` (median successive
  difference over ``centred_rr``) and ``rhythm_irregularity`` (how irregularly irregular the
  ±50 RR intervals are: the smallest over lags 1-4 of the median |RR(i) − RR(i−k)|, over
  their median; bigeminy and trigeminy stay low, atrial fibrillation does not). The first beat
  has no ``pre_rr``, the last no ``post_rr``: NaN, never a made-up value.
- intervals of the beat itself (ms): ``pr``, ``qrs``, ``qt`` (NaN where a wave is missing).
- per lead, suffixed with the lead name: ``r_amplitude_<lead>``, ``t_amplitude_<lead>`` (the
  signal at R / T peak above its level at QRS onset) and ``qrs_peak_to_peak_<lead>``.

The same columns come out of :func:`ecgfast.synthesize` (``batch.beats``), computed by the
same code from the generator's exact wave times, so synthetic and real beats carry the same
features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .delineation import FIDUCIALS, _check, _check_rpeaks, _lead_names
from .errors import InvalidParameterError

__all__ = ["AMPLITUDES", "FEATURES", "beat_table", "feature_columns"]

_FEAT, _AMP = _core.schema()["features"], _core.schema()["amplitudes"]
#: Lead-independent feature columns of the beat table.
FEATURES: tuple[str, ...] = tuple(_FEAT)
#: Per-lead amplitude measures (columns ``<measure>_<lead>``).
AMPLITUDES: tuple[str, ...] = tuple(_AMP)


def feature_columns(lead_names: Sequence[str]) -> list[str]:
    """Feature column names for these leads: :data:`FEATURES`, then the amplitudes lead by
    lead (the order of the Rust core's feature matrix)."""
    return [*FEATURES, *(f"{m}_{lead}" for lead in lead_names for m in AMPLITUDES)]


def _frame(
    positions: np.ndarray,
    fiducials: np.ndarray,
    features: np.ndarray,
    lead_names: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The beat table from the core's arrays (``extra`` columns first)."""
    columns: dict[str, Any] = dict(extra or {})
    if positions is not None:
        columns["sample"] = np.asarray(positions, dtype=np.int64)
    for k, name in enumerate(FIDUCIALS):
        values = np.ascontiguousarray(fiducials[:, k], dtype=np.int64)
        columns[name] = pd.arrays.IntegerArray(np.maximum(values, 0), values < 0)
    names = feature_columns(lead_names)
    if features.shape[1] != len(names):
        raise InvalidParameterError(
            f"{features.shape[1]} feature columns for leads {list(lead_names)}"
        )
    for k, name in enumerate(names):
        columns[name] = features[:, k]
    return pd.DataFrame(columns, copy=False)


def beat_table(
    x: Any,
    fs: float,
    rpeaks: Any = None,
    *,
    leads: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per beat: position, fiducials, RR features, beat intervals and amplitudes.

    Parameters
    ----------
    x : array_like
        One lead ``(n_samples,)``, one record ``(n_leads, n_samples)`` or a batch
        ``(n_records, n_leads, n_samples)`` (records in parallel, GIL released). Any real dtype;
        never modified. NaN or infinity is an error (cut such stretches out first).
    fs : float
        Sampling rate in Hz (>= 50).
    rpeaks : array_like of int, optional
        Beat positions (strictly increasing sample indices), e.g. from annotations. By default
        R peaks are detected (:func:`ecgfast.detect_rpeaks` on every lead, fused). Not for
        batches.
    leads : sequence of str, optional
        Lead names, used as suffixes of the amplitude columns (default ``lead0``, ``lead1``…).

    Returns
    -------
    pandas.DataFrame
        The columns described in :mod:`ecgfast.beats`; a batch adds a leading ``record``
        column. A signal shorter than 1 s, or one without beats, gives a table without rows.

    Raises
    ------
    InvalidSignalError
        NaN/inf, empty input, more than 3 dimensions.
    InvalidParameterError
        Bad ``fs`` (or below 50 Hz), bad ``rpeaks`` or ``leads``.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(1, leads="II", duration=20, seed=0)
    >>> t = ecgfast.beat_table(b.signals[0], b.fs, leads=["II"])
    >>> bool((t["pre_rr_local"].dropna().between(0.5, 1.5)).all())
    True
    """
    arr, fs = _check(x, fs)
    if arr.ndim == 3:
        if rpeaks is not None:
            raise InvalidParameterError("rpeaks cannot be given for a batch of records")
        names = _lead_names(leads, arr.shape[1])
        index, positions, fiducials, features = _core.beat_table_batch(
            np.ascontiguousarray(arr), fs
        )
        return _frame(positions, fiducials, features, names, {"record": index})
    record = arr[None, :] if arr.ndim == 1 else arr
    names = _lead_names(leads, record.shape[0])
    peaks = None if rpeaks is None else _check_rpeaks(rpeaks, record.shape[1])
    _, positions, fiducials, features = _core.beat_table(np.ascontiguousarray(record), fs, peaks)
    frame = _frame(positions, fiducials, features, names)
    frame.index.name = "beat"
    return frame
