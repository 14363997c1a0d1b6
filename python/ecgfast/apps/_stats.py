"""Summary statistics shared by the experiment commands (``ecgfast beats``, ``ecgfast ludb``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def mean_ci(values: Any) -> dict[str, Any]:
    """Mean, sd, n and the 95 % t interval of the mean (``ci95``) of the finite ``values``
    (e.g. paired differences over folds and seeds); with fewer than two, the mean and n only."""
    from scipy import stats

    d = np.asarray(values, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return {"mean": float(d.mean()) if d.size else math.nan, "n": int(d.size)}
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return {
        "mean": float(d.mean()),
        "sd": float(d.std(ddof=1)),
        "n": int(d.size),
        "ci95": [float(d.mean() - half), float(d.mean() + half)],
    }


def mean_ci_text(values: Any) -> str:
    """``"+0.030 [+0.003, +0.057]"``: the mean of ``values`` and its 95 % t interval
    (:func:`mean_ci`; ``[nan, nan]`` with fewer than two finite values)."""
    summary = mean_ci(values)
    lo, hi = summary.get("ci95", [math.nan, math.nan])
    return f"{summary['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"
