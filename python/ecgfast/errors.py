"""Exception hierarchy of ecgfast.

Every error ecgfast raises on purpose derives from :class:`EcgError`, and also from the builtin
that fits (``ValueError`` for bad values, ``TypeError`` for bad types), so both
``except ecgfast.EcgError`` and ``except ValueError`` work. The Rust core maps its single error
enum onto these classes by name (``rust/errors.rs``).
"""

from __future__ import annotations

__all__ = [
    "DtypeError",
    "EcgError",
    "InternalError",
    "InvalidParameterError",
    "InvalidSignalError",
    "SignalTooShortError",
]


class EcgError(Exception):
    """Base class of every ecgfast error."""


class InvalidParameterError(EcgError, ValueError):
    """A parameter (sampling rate, cutoff, order, ...) is outside its valid range."""


class InvalidSignalError(EcgError, ValueError):
    """The signal is unusable: NaN/inf, empty, or the wrong shape."""


class SignalTooShortError(InvalidSignalError):
    """The signal is too short for the requested operation."""


class DtypeError(EcgError, TypeError):
    """The array has a dtype ecgfast cannot work with (complex, object, string, bool)."""


class InternalError(EcgError, RuntimeError):
    """A bug in ecgfast (a Rust panic caught at the boundary). Please report it."""
