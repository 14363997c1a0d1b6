"""Small helpers shared by the test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np


def r_dominant_lead(signals: np.ndarray, r_peaks: np.ndarray) -> int:
    """Index of the lead (row of ``signals``) with the largest mean |amplitude| at the R peaks."""
    return int(np.argmax(np.abs(signals[:, r_peaks]).mean(axis=1)))
