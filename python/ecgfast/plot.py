"""Plots (matplotlib, the ``plot`` extra): ECG records with their fiducials."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["delineation", "ecg", "pretraining"]

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


def _trace(ax, t: np.ndarray, y: np.ndarray) -> None:
    """The signal on a light ECG-paper grid (0.2 s, 0.5 mV)."""
    ax.plot(t, y, color="k", lw=0.7)
    for x in np.arange(0, t[-1] + 1e-9, 0.2):
        ax.axvline(x, color="#f4b6b6", lw=0.4, zorder=0)
    lo, hi = np.floor(y.min()), np.ceil(y.max())
    for v in np.arange(lo, hi + 1e-9, 0.5):
        ax.axhline(v, color="#f4b6b6", lw=0.4, zorder=0)


def _marks(ax, table: Any, y: np.ndarray, fs: float, *, hollow: bool = False) -> None:
    """Fiducials of ``table`` (columns as ``ecgfast.delineate``) on the trace ``y``."""
    for col, (_, color, marker) in _MARKS.items():
        if col not in table:
            continue
        idx = np.asarray(table[col].dropna(), dtype=np.int64)
        idx = idx[(idx >= 0) & (idx < len(y))]
        style = {"facecolors": "none", "edgecolors": color, "s": 40} if hollow else {"color": color}
        ax.scatter(
            idx / fs,
            y[idx],
            marker=marker if not hollow else "o",
            zorder=3,
            lw=1,
            **({"s": 36} | style),
        )


def delineation(
    x: Any,
    fs: float,
    table: Any = None,
    *,
    reference: Any = None,
    lead_names: Any = None,
    seconds: float | None = None,
    title: str | None = None,
    path: str | None = None,
):
    """Draw a lead or a record with the fiducials of :func:`ecgfast.delineate`.

    Parameters
    ----------
    x : array_like, shape (n_samples,) or (n_leads, n_samples)
    fs : float
        Sampling rate in Hz.
    table : DataFrame, optional
        Fiducials to mark (default: ``ecgfast.delineate(x, fs)``; global ones for a record).
    reference : DataFrame or list of DataFrames, optional
        Reference fiducials (e.g. annotations), drawn as hollow circles; one per lead or one for
        all leads.
    lead_names : sequence of str, optional
    seconds : float, optional
        Show only the first ``seconds``.
    title, path : str, optional
        Figure title; file to save the figure to.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ._validate import as_signal, check_fs
    from .delineation import delineate, intervals
    from .errors import InvalidParameterError

    fs = check_fs(fs)
    sig = as_signal(x).astype(np.float64, copy=False)
    if sig.ndim == 1:
        sig = sig[None, :]
    if sig.ndim != 2:
        raise InvalidParameterError(f"x must be 1-D or 2-D, got shape {sig.shape}")
    if seconds is not None and not (isinstance(seconds, (int, float)) and seconds > 0):
        raise InvalidParameterError(f"seconds must be a positive number, got {seconds!r}")
    if table is None:
        table = delineate(sig if len(sig) > 1 else sig[0], fs)
    names = list(lead_names) if lead_names is not None else [f"lead {k}" for k in range(len(sig))]
    if len(names) != len(sig):
        raise InvalidParameterError(f"{len(names)} lead names for {len(sig)} leads")
    refs = reference if isinstance(reference, (list, tuple)) else [reference] * len(sig)
    plt = _pyplot()
    n = sig.shape[1] if seconds is None else min(sig.shape[1], int(seconds * fs))
    t = np.arange(n) / fs
    fig, axes = plt.subplots(
        len(sig), 1, figsize=(11, 1.3 * len(sig) + 0.9), sharex=True, squeeze=False
    )
    from .filters import bandpass

    for k, ax in enumerate(axes[:, 0]):
        y = bandpass(sig[k], fs, 0.5, min(40.0, 0.4 * fs))[:n]
        _trace(ax, t, y)
        _marks(ax, table, y, fs)
        if refs[k] is not None:
            _marks(ax, refs[k], y, fs, hollow=True)
        ax.set_ylabel(names[k], rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.margins(x=0)
    axes[-1, 0].set_xlabel("time (s)")
    iv = intervals(sig if len(sig) > 1 else sig[0], fs)

    def fmt(v: Any) -> str:
        return "n/a" if v is None or v != v else f"{float(v):.0f}"

    fig.suptitle(
        title
        or (
            f"HR {fmt(iv['hr'])} bpm, PR {fmt(iv['pr'])} ms, QRS {fmt(iv['qrs'])} ms, "
            f"QT {fmt(iv['qt'])} ms (filled: ecgfast"
            + (", hollow: reference)" if reference is not None else ")")
        ),
        fontsize=10,
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


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

    if not len(batch):
        from .errors import InvalidParameterError

        raise InvalidParameterError("the batch is empty: nothing to plot")
    i = check_int(i, name="i", low=-len(batch), high=len(batch) - 1) % len(batch)
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
        _trace(ax, t, y)
        if fiducials and len(beats):
            _marks(ax, beats, y, fs)
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
            f"QRS {lab['qrs']:.0f} ms, QT {lab['qt']:.0f} ms, "
            f"QTc (Bazett) {lab['qtc_bazett']:.0f} ms"
        ),
        fontsize=10,
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def pretraining(result: Any, out: Any, prefix: str = "") -> list[str]:
    """Plots of a regression pretraining run (a ``ecgfast.torch.TrainResult``) written to the
    folder ``out``: ``{prefix}learning_curves.png`` (train/validation loss and validation MAE
    per target by epoch) and ``{prefix}pred_vs_true.png`` (best epoch's validation predictions).

    Returns the paths written; none when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        plt = _pyplot()
    except ImportError:
        return []
    from pathlib import Path

    out = Path(out)
    written = []
    hist = result.history
    epochs = [h["epoch"] for h in hist]
    k = len(result.targets)
    fig, axes = plt.subplots(1, 1 + k, figsize=(4 * (1 + k), 3.2))
    axes[0].plot(epochs, [h["train_loss"] for h in hist], marker="o", label="train")
    axes[0].plot(epochs, [h["val_loss"] for h in hist], marker="o", label="validation")
    axes[0].set(xlabel="epoch", ylabel="L1 loss (standardised)", title="learning curves")
    axes[0].legend()
    for ax, t in zip(axes[1:], result.targets, strict=True):
        ax.plot(epochs, [h[f"val_mae_{t}"] for h in hist], marker="o", color="C1")
        ax.set(xlabel="epoch", ylabel=f"validation MAE ({'bpm' if t == 'hr' else 'ms'})", title=t)
    fig.tight_layout()
    path = out / f"{prefix}learning_curves.png"
    fig.savefig(path, dpi=110)
    written.append(str(path))
    plt.close(fig)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.4))
    for j, (ax, t) in enumerate(zip(np.atleast_1d(axes), result.targets, strict=True)):
        yt, yp = result.y_true[:, j], result.y_pred[:, j]
        ax.scatter(yt, yp, s=3, alpha=0.4)
        lo, hi = float(min(yt.min(), yp.min())), float(max(yt.max(), yp.max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        ax.set(xlabel=f"true {t}", ylabel=f"predicted {t}",
               title=f"{t}: MAE {np.abs(yp - yt).mean():.2f}")  # fmt: skip
    fig.tight_layout()
    path = out / f"{prefix}pred_vs_true.png"
    fig.savefig(path, dpi=110)
    written.append(str(path))
    plt.close(fig)
    return written
