"""Plots (matplotlib, the ``plot`` extra): ECG records with their fiducials."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ecg"]

_MARKS = {
    "p_on": ("P on", "C0", "|"),
    "p_peak": ("P", "C0", "v"),
    "p_off": ("P off", "C0", "|"),
    "qrs_on": ("QRS on", "C3", "|"),
    "r_peak": ("R", "C3", "v"),
    "qrs_off": ("QRS off", "C3", "|"),
    "t_on": ("T on", "C2", "|"),
    "t_peak": ("T", "C2", "v"),
    "t_off": ("T off", "C2", "|"),
}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'ecgfast[plot]'") from exc
    return plt


def ecg(
    batch: Any,
    i: int = 0,
    *,
    seconds: float | None = None,
    fiducials: bool = True,
    title: str | None = None,
    path: str | None = None,
):
    """Draw record ``i`` of a :class:`~ecgfast.synth.SynthBatch` with its fiducials marked.

    Leads are laid out in two columns on a light ECG-paper grid (1 mV and 0.2 s major lines).

    Parameters
    ----------
    batch : SynthBatch
    i : int
        Record position in the batch (0-based).
    seconds : float, optional
        Show only the first ``seconds``.
    fiducials : bool
        Mark P/QRS/T onsets, peaks and offsets from ``batch.beats``.
    title : str, optional
    path : str, optional
        Save the figure there (PNG, PDF...) as well as returning it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._validate import check_int

    i = check_int(i, name="i", low=-len(batch), high=len(batch) - 1) if len(batch) else None
    if i is None:
        from .errors import InvalidParameterError

        raise InvalidParameterError("the batch is empty: nothing to plot")
    i = i % len(batch)
    if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
        from .errors import InvalidParameterError

        raise InvalidParameterError(f"seconds must be a positive number, got {seconds!r}")
    plt = _pyplot()
    sig = batch.signals[i]
    fs = batch.fs
    n_leads, n = sig.shape
    if seconds is not None:
        n = min(n, int(seconds * fs))
    t = np.arange(n) / fs
    record = batch.labels.index[i]
    beats = batch.beats[batch.beats["record"] == record]
    ncols = 2 if n_leads > 3 else 1
    nrows = int(np.ceil(n_leads / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(7 * ncols, 1.25 * nrows + 0.8), sharex=True, squeeze=False
    )
    for k in range(nrows * ncols):
        ax = axes[k % nrows, k // nrows]
        if k >= n_leads:
            ax.axis("off")
            continue
        y = sig[k, :n]
        ax.plot(t, y, color="k", lw=0.7)
        for x in np.arange(0, t[-1] + 1e-9, 0.2):
            ax.axvline(x, color="#f4b6b6", lw=0.4, zorder=0)
        lo, hi = np.floor(y.min()), np.ceil(y.max())
        for v in np.arange(lo, hi + 1e-9, 0.5):
            ax.axhline(v, color="#f4b6b6", lw=0.4, zorder=0)
        if fiducials and len(beats):
            for col, (_, color, marker) in _MARKS.items():
                idx = beats[col].dropna().to_numpy(dtype=np.int64)
                idx = idx[idx < n]
                ax.scatter(idx / fs, y[idx], s=14, color=color, marker=marker, zorder=3, lw=1)
        ax.set_ylabel(batch.lead_names[k], rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.margins(x=0)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    lab = batch.labels.iloc[i]
    fig.suptitle(
        title
        or (
            f"record {record}: HR {lab['hr']:.0f} bpm, PR {lab['pr']:.0f} ms, "
            f"QRS {lab['qrs']:.0f} ms, QT {lab['qt']:.0f} ms, QTc {lab['qtc']:.0f} ms"
        ),
        fontsize=10,
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
