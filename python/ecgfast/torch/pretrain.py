"""Regression pretraining: :func:`fit` with an L1 loss on standardised targets (the datasets'
``scaler``), metrics in real units (bpm, ms), early stopping on the validation loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .engine import FitConfig, FitResult, fit
from .tasks import Task

__all__ = ["pretrain_regression"]


def pretrain_regression(
    model: torch.nn.Module,
    train: Any,
    val: Any,
    config: FitConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    **overrides: Any,
) -> FitResult:
    """Train ``model`` to regress the datasets' targets.

    Parameters
    ----------
    model : torch.nn.Module
        Its output size must equal the number of targets (e.g. ``create_model(name, leads, k)``).
    train, val : Dataset
        Items ``(signal, standardised target)`` with ``train.targets`` and ``train.scaler`` (a
        :class:`TargetScaler` or None), e.g. :class:`SyntheticECG`, :class:`SyntheticBeats`,
        :class:`ShardDataset`.
    config, overrides
        :class:`FitConfig` and single-field overrides (``epochs=3``).
    checkpoint, resume
        As :func:`fit`.

    Returns
    -------
    FitResult
        ``best_mae`` holds the MAE per target (bpm / ms) of the best epoch, whose weights are
        left in ``model``.
    """
    task = Task.regression(tuple(train.targets), getattr(train, "scaler", None))
    return fit(model, train, val, task, config, checkpoint=checkpoint, resume=resume, **overrides)
