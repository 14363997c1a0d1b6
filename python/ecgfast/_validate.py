"""Input validation shared by the public API (checked in Python before calling the core)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import DtypeError, InvalidParameterError, InvalidSignalError

#: Highest sampling rate accepted anywhere (Hz). ECG is recorded at 100 Hz - 10 kHz; a larger
#: value is almost always a unit mistake.
MAX_FS = 100_000.0


def check_fs(fs: Any, *, name: str = "fs") -> float:
    """Return ``fs`` as a float after checking it is a finite positive sampling rate."""
    if isinstance(fs, bool) or not isinstance(fs, numbers.Real):
        raise InvalidParameterError(f"{name} must be a real number in Hz, got {fs!r}")
    value = float(fs)
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(f"{name} must be a finite positive number in Hz, got {fs!r}")
    if value > MAX_FS:
        raise InvalidParameterError(
            f"{name}={value:g} Hz is absurd for ECG (max {MAX_FS:g} Hz); is it in the right unit?"
        )
    return value


def check_int(value: Any, *, name: str, low: int, high: int) -> int:
    """Return ``value`` as an int in ``[low, high]``."""
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(float(value))
        else:
            raise InvalidParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise InvalidParameterError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def check_float(value: Any, *, name: str, low: float, high: float) -> float:
    """Return ``value`` as a float in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not low <= out <= high:  # also rejects NaN
        raise InvalidParameterError(f"{name} must be in [{low}, {high}], got {value!r}")
    return out


def check_positive(value: Any, *, name: str) -> float:
    """Return ``value`` as a finite positive float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out <= 0:
        raise InvalidParameterError(f"{name} must be finite and > 0, got {value!r}")
    return out


def check_frequency(value: Any, fs: float, *, name: str) -> float:
    """Return a frequency in Hz strictly between 0 and the Nyquist frequency ``fs / 2``."""
    freq = check_positive(value, name=name)
    if freq >= fs / 2:
        raise InvalidParameterError(
            f"{name}={freq:g} Hz must be below the Nyquist frequency fs/2 = {fs / 2:g} Hz"
        )
    return freq


def as_signal(x: Any, *, name: str = "x", min_ndim: int = 1) -> np.ndarray:
    """Return ``x`` as a float32 or float64 ndarray in native byte order, without copying when
    it already is one. float32 stays float32; every other real numeric dtype becomes float64.

    Raises :class:`DtypeError` for complex, bool, object and string data and
    :class:`InvalidSignalError` for scalars and empty arrays. NaN/inf are detected by the core.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:  # ragged nested lists and the like
            raise InvalidSignalError(f"{name} could not be converted to an array: {exc}") from exc
    kind = arr.dtype.kind
    if kind == "c":
        raise DtypeError(f"{name} is complex ({arr.dtype}); ECG signals must be real-valued")
    if kind == "b":
        raise DtypeError(f"{name} is boolean; pass a numeric signal")
    if kind not in "fiu":
        raise DtypeError(f"{name} has dtype {arr.dtype}, expected a real numeric array")
    if arr.ndim < min_ndim:
        raise InvalidSignalError(
            f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}"
        )
    if arr.size == 0:
        raise InvalidSignalError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        return arr
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    return arr.astype(np.float64)


def as_indices(values: Any, name: str) -> np.ndarray:
    """Return sample indices as a 1-D float64 array (order kept) after checking they are finite
    numbers; InvalidParameterError otherwise."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InvalidParameterError(f"{name} must be a 1-D array of sample indices")
    if arr.size and not np.issubdtype(arr.dtype, np.number):
        raise InvalidParameterError(f"{name} must hold sample indices, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.size and not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} contains NaN or infinity")
    return arr
