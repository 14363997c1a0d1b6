"""R-peak detection (Rust core, ``rust/detect.rs``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from ._validate import as_indices, as_signal, check_fs, check_positive
from .errors import InvalidParameterError, InvalidSignalError

__all__ = ["detect_pacing", "detect_rpeaks", "paced_beats"]


def _leads(x: Any, fs: Any) -> tuple[float, np.ndarray]:
    """Checked sampling rate and a float64 lead (1-D) or records x samples (2-D)."""
    fs = check_fs(fs)
    arr = as_signal(x)
    if arr.ndim > 2:
        raise InvalidSignalError(
            f"x must be 1-D (one lead) or 2-D (records x samples), got shape {arr.shape}"
        )
    return fs, arr.astype(np.float64, copy=False)


def detect_rpeaks(
    x: Any, fs: float, *, skip_fibrillation: bool = True, other_leads: Any = None
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
    running median keeps pacing spikes from being taken for the R wave. A record whose 10-s
    windows are mostly dominated by high-frequency (muscle) noise, judged by the noise floors of
    the band-passed slope and of the second difference against their 99th percentiles, is
    detected in the 5-18 Hz band instead, where the QRS keeps most of its energy and EMG has
    little, and its beats are not chosen by a running threshold (which the noise it accepts
    pulls down) but as the best path through the peaks of a matched filter with the record's
    own QRS template: each peak gains by its height over a threshold between the noise and the
    beats (Otsu) and each interval pays by its distance from the typical RR (dynamic
    programming; template, threshold and RR per 10-s window of a long record). Clean records
    never switch. Of two beats closer than 250 ms with slower rhythm
    around them one is a P or T wave: the later goes if it is less than half as steep, else the
    earlier. In a regular rhythm a gap of about two beats is searched again at a quarter of the
    threshold (wide ectopic beats keep their energy below the detection band).

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_records, n_samples)
        ECG lead(s), any real dtype (computed in float64). Never modified.
    fs : float
        Sampling rate in Hz (100-2000 Hz is the tested range).
    skip_fibrillation : bool
        Ventricular flutter and fibrillation have no QRS complexes: where the 1-30 Hz signal is
        sinusoid-like over 2-s windows (VF filter leakage < 0.5; Kuo & Dillman 1978, Amann et
        al. 2005) for at least three windows in a row (one window between them may miss), no
        beats are reported. A short run of fast ventricular beats flags fewer windows and is
        kept. Set False to report every candidate there too (e.g. to study sustained, very
        fast, sinusoidal ventricular tachycardia).
    other_leads : array_like, optional
        More leads of the same record(s), shape (n_samples,) or (n_leads, n_samples) for a 1-D
        ``x``, (n_records, n_samples) or (n_records, n_leads, n_samples) for a 2-D ``x``.
        Detection still runs on ``x``; then, of two beats closer than 0.3 s, one whose steepest
        5-25 Hz slope within ±50 ms is less than half its partner's — as a geometric mean over
        all the leads of the per-lead ratios — is dropped: a P or T wave that looks like a QRS
        on ``x`` is small on the others, while two real beats that close (ventricular
        tachycardia above 200 bpm) are steep on every lead. On MIT-BIH DS1 with V1/V2/V4/V5 as
        the other lead it removes 89 of the 152 false beats of record 108 (tall, sharp P waves
        on MLII) and no true beat (``benches/rpeak_accuracy.py``). Before that, where ``x``
        has no beat for over 3 s and 1.5 times its recent median RR (a lead that went flat or
        lost its QRS), the beats that at least half of the other leads see there are added; a
        lead votes only if it also has the two beats bounding the gap, and gaps ``x`` left for
        ventricular flutter are not filled (116's two dropouts: 16 beats found).

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
    fs, arr = _leads(x, fs)
    skip = bool(skip_fibrillation)
    if other_leads is not None:
        stacked = _with_other_leads(arr, other_leads)
        if arr.ndim == 1:
            return _core.detect_rpeaks_leads(stacked, fs, skip)
        return _core.detect_rpeaks_leads_batch(stacked, fs, skip)
    if arr.ndim == 1:
        return _core.detect_rpeaks(arr, fs, skip)
    return _core.detect_rpeaks_batch(arr, fs, skip)


def _with_other_leads(arr: np.ndarray, other_leads: Any) -> np.ndarray:
    """``arr`` (the detection lead: one record 1-D, or records x samples) stacked in front of
    ``other_leads`` along a leads axis: (leads, samples) or (records, leads, samples)."""
    other = as_signal(other_leads, name="other_leads").astype(np.float64, copy=False)
    if other.ndim == arr.ndim:
        other = other[None] if arr.ndim == 1 else other[:, None]
    expected = "(n_leads, n_samples)" if arr.ndim == 1 else "(n_records, n_leads, n_samples)"
    if (
        other.ndim != arr.ndim + 1
        or other.shape[-1] != arr.shape[-1]
        or (arr.ndim == 2 and other.shape[0] != arr.shape[0])
    ):
        raise InvalidSignalError(
            f"other_leads must have shape {expected} matching x {arr.shape}, got "
            f"{np.shape(other_leads)}"
        )
    return np.concatenate([arr[None] if arr.ndim == 1 else arr[:, None], other], axis=-2)


def detect_pacing(x: Any, fs: float, *, min_height: float = 0.2) -> np.ndarray | list[np.ndarray]:
    """Detect pacemaker spikes.

    A pacing spike lasts 0.5-2 ms, far shorter than any wave the heart makes (the sharpest QRS
    takes 10-20 ms to rise): a spike is a local extreme of the signal minus its running median
    over ±2 ms that is at least 10 robust noise units (the residual's MAD × 1.4826), a tenth
    of the record's amplitude (its 0.5-99.5 % range) and ``min_height`` high (0.2 mV: real
    devices' pulses are 0.3-6 mV on the skin, while sample-level jitter of a noisy digital
    recording reaches 0.1 mV); candidates within 10 ms are one spike
    (the two lobes of a biphasic spike). R peaks are not affected: :func:`detect_rpeaks` already
    places beats on the QRS, not on the spike.

    Spikes survive only where the recording's bandwidth carries them: sampling at >= 500 Hz
    without a low-pass below ~150 Hz (modern digital ECG, or the synthesizer's paced records at
    >= 500 Hz). Recorders filtered to ~100 Hz (MIT-BIH, 360 Hz) smear the spike into the QRS
    upstroke; there it cannot be told from the QRS by shape and few spikes are found
    (BENCHMARKS.md gives the figures).

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_records, n_samples)
        ECG lead(s). Never modified.
    fs : float
        Sampling rate in Hz.
    min_height : float
        Smallest spike height, in the signal's unit (default 0.2, for mV).

    Returns
    -------
    ndarray of int64, or list of them
        Sorted sample indices of the spikes (one array per record for 2-D input).

    Raises
    ------
    InvalidSignalError
        NaN or infinity, empty input, more than 2 dimensions.
    InvalidParameterError
        Bad sampling rate.

    Examples
    --------
    >>> import ecgfast
    >>> b = ecgfast.synthesize(1, rhythm="paced", leads="II", fs=1000, seed=0, hrv=0)
    >>> spikes = ecgfast.detect_pacing(b.signals[0, 0], b.fs)
    >>> bool(ecgfast.paced_beats(b.beats["sample"], spikes, b.fs).all())
    True
    """
    fs, arr = _leads(x, fs)
    height = check_positive(min_height, name="min_height")
    if arr.ndim == 1:
        return _core.detect_pacing(arr, fs, height)
    return _core.detect_pacing_batch(arr, fs, height)


def paced_beats(rpeaks: Any, spikes: Any, fs: float, *, window: float = 0.12) -> np.ndarray:
    """Which beats are paced: a pacing spike lies at most ``window`` s before the R peak (or
    up to 10 ms after it, for a spike on the R upstroke).

    Parameters
    ----------
    rpeaks, spikes : array_like of int
        Sample indices of the beats and of the spikes (:func:`detect_pacing`).
    fs : float
        Sampling rate in Hz.
    window : float
        How long before R a ventricular spike may come (s, in (0, 0.5]; the paced QRS is wide,
        its R up to ~100 ms after the spike; the atrial spikes of dual-chamber pacing come
        earlier, before the P wave).

    Returns
    -------
    ndarray of bool
        One per beat, in the order of ``rpeaks``.

    Raises
    ------
    InvalidParameterError
        Bad ``fs`` or ``window``; indices that are not finite numbers.
    """
    fs = check_fs(fs)
    r = as_indices(np.ravel(rpeaks), "rpeaks").astype(np.int64)
    s = np.sort(as_indices(np.ravel(spikes), "spikes").astype(np.int64))
    if not 0.0 < float(window) <= 0.5:
        raise InvalidParameterError(f"window must be in (0, 0.5] s, got {window!r}")
    if len(s) == 0:
        return np.zeros(len(r), dtype=bool)
    after = round(0.01 * fs)
    # the last spike at or before R + 10 ms
    k = np.searchsorted(s, r + after, side="right") - 1
    ok = k >= 0
    gap = r - s[np.clip(k, 0, None)]
    return ok & (gap <= round(window * fs))
