"""Regression pretraining: :func:`fit` with an L1 loss on standardised targets (the datasets'
``scaler``), metrics in real units (bpm, ms), early stopping on the validation loss."""

from __future__ import annotations

from typing import Any

import torch

from .engine import FitConfig, FitResult, fit
from .tasks import Task

__all__ = ["pretrain_regression"]


def pretrain_regression(
    model: torch.nn.Module, train: Any, val: Any, config: FitConfig | None = None, **options: Any
) -> FitResult:
    """Train ``model`` to regress the datasets' targets.

    ``model``'s output size must equal the number of targets (``create_model(name, leads,
    k)``); ``train`` and ``val`` yield ``(signal, standardised target)`` and ``train`` has
    ``targets`` and ``scaler`` (:class:`TargetScaler` or None): :class:`SyntheticECG`,
    :class:`SyntheticBeats`, :class:`ShardDataset`. ``config`` and ``options`` are those of
    :func:`fit` (``checkpoint=``, ``resume=``, or single settings such as ``epochs=3``).

    Returns the :class:`FitResult`; ``best_mae`` holds the MAE per target (bpm / ms) of the
    best epoch, whose weights are left in ``model``.
    """
    task = Task.regression(tuple(train.targets), getattr(train, "scaler", None))
    return fit(model, train, val, task, config, **options)
