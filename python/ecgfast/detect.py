"""R-peak detection (Rust core, ``rust/detect.rs``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._validate import as_signal, check_fs
from .errors import InvalidSignalError

__all__ = ["detect_rpeaks"]


def detect_rpeaks(
    x: Any, fs: float, *, skip_fibrillation: bool = True
) -> np.ndarray | list[np.ndarray]:
    """Detect R peaks.

    A Pan-Tompkins-family detector (Pan & Tompkins 1985; Hamilton & Tompkins 1986): zero-phase
    band-pass 5-25 Hz, squared derivative integrated over 120 ms, adaptive signal and noise
    levels with a 180-ms refractory period, T-wave rejection by slope within 360 ms, search-back
    after 1.66 mean RR with half the threshold, and a level reset after 2.5 s without a beat (so
    it recovers from noise bursts); at rates above 150 bpm each beat moves to a markedly steeper
    deflection within 150 ms, so T waves taller than R cannot capture the rhythm. Detection
    runs at 150-300 Hz (block averages of the input). Each beat is then placed on the R wave's
    extremum of the input signal: the polarity of the dominant band-passed deflection picks
    maximum or minimum within ±50 ms, so inverted and negative-dominant QRS are handled; a 4-ms
    running median keeps pacing spikes from being taken for the R wave.

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_records, n_samples)
        ECG lead(s), any real dtype (computed in float64). Never modified.
    fs : float
        Sampling rate in Hz (100-2000 Hz is the tested range).
    skip_fibrillation : bool
        Ventricular flutter and fibrillation have no QRS complexes: where the 1-30 Hz signal is
        sinusoid-like over 2-s windows (VF filter leakage < 0.5; Kuo & Dillman 1978, Amann et
        al. 2005) no beats are reported. Set False to report every candidate there too (e.g.
        to study very fast, sinusoidal ventricular tachycardia).

    Returns
    -------
    ndarray of int64, or list of them
        Sorted, unique sample indices of the R peaks: one array for a 1-D input, a list with one
        array per record for a 2-D input (records run in parallel with the GIL released).
        Flat signals and signals shorter than 0.5 s give an empty array.

    Raises
    ------
    InvalidSignalError
        NaN or infinity in the signal, empty input, more than 2 dimensions.
    InvalidParameterError
        Bad sampling rate.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(1, leads="II", seed=0)
    >>> peaks = ecgfast.detect_rpeaks(b.signals[0, 0], b.fs)
    >>> len(peaks) == b.labels["n_beats"].iloc[0]
    True
    """
    fs = check_fs(fs)
    arr = as_signal(x)
    if arr.ndim > 2:
        raise InvalidSignalError(
            f"x must be 1-D (one lead) or 2-D (records x samples), got shape {arr.shape}"
        )
    arr = arr.astype(np.float64, copy=False)
    skip = bool(skip_fibrillation)
    if arr.ndim == 1:
        return _core.detect_rpeaks(arr, fs, skip)
    return _core.detect_rpeaks_batch(arr, fs, skip)
