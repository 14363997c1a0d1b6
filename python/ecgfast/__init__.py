"""ecgfast: Rust-accelerated ECG synthesis, filtering, R-peak detection and delineation for deep
learning.

The public API lives here; ``ecgfast.torch`` (needs the ``torch`` extra) holds datasets, models
and training loops. Every function takes numpy arrays shaped ``(..., n_samples)`` and runs
batches in parallel in the Rust core with the GIL released. Errors derive from
:class:`ecgfast.EcgError`.
"""

from __future__ import annotations

from . import _core, errors, evaluate, hearts
from ._threads import get_num_threads, set_num_threads, thread_limit
from .beats import beat_table
from .delineation import delineate, intervals
from .detect import detect_pacing, detect_rpeaks, paced_beats
from .errors import *  # noqa: F403 - the exception hierarchy, listed in errors.__all__
from .filters import bandpass, butter_sos, highpass, lowpass, notch, sosfiltfilt
from .quality import signal_quality
from .synth import LEAD_NAMES, SynthBatch, synthesize, synthesize_to

__version__: str = _core.__version__

__all__ = [
    *errors.__all__,
    "LEAD_NAMES",
    "SynthBatch",
    "__version__",
    "bandpass",
    "beat_table",
    "butter_sos",
    "delineate",
    "detect_pacing",
    "detect_rpeaks",
    "errors",
    "evaluate",
    "hearts",
    "get_num_threads",
    "highpass",
    "intervals",
    "lowpass",
    "notch",
    "paced_beats",
    "set_num_threads",
    "signal_quality",
    "sosfiltfilt",
    "synthesize",
    "synthesize_to",
    "thread_limit",
]
