"""Thread control for the Rust core."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import _core
from ._validate import check_int

__all__ = ["get_num_threads", "set_num_threads", "thread_limit"]


def set_num_threads(n: int | None) -> None:
    """Cap the number of threads ecgfast's batch kernels use.

    Parameters
    ----------
    n : int or None
        A positive thread count, or ``None`` to restore the default: the ``ECGFAST_NUM_THREADS``
        environment variable if set, else the number of CPU cores.

    Results never depend on the thread count; only speed does.
    """
    _core.set_num_threads(0 if n is None else check_int(n, name="n", low=1, high=4096))


def get_num_threads() -> int:
    """Number of threads ecgfast's batch kernels use now."""
    return _core.get_num_threads()


@contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Context manager: run the block with at most ``n`` threads, then restore the setting as
    it was: a count set before, or the default (``ECGFAST_NUM_THREADS`` / all cores, read
    anew) if none was set.

    >>> import ecgfast
    >>> with ecgfast.thread_limit(1):
    ...     ecgfast.get_num_threads()
    1
    """
    previous = _core.requested_num_threads()  # 0: no count set, the default applies
    set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(previous)
