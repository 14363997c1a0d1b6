"""What a model is trained to do: the loss, how raw outputs become predictions, the metrics and
the metric early stopping watches. One :class:`Task` serves :func:`ecgfast.torch.fit` for
regression, single-label and multi-label classification.

>>> task = Task.classification(("N", "S", "V"), weights=[1.0, 3.0, 2.0], focal_gamma=2.0)
>>> task.monitor, task.mode
('macro_f1', 'max')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import evaluate
from ..errors import InvalidParameterError
from .datasets import TargetScaler

__all__ = ["KINDS", "FocalLoss", "MultitaskLoss", "Task"]

KINDS = ("regression", "classification", "multilabel", "multitask")


class MaskedL1Loss(nn.Module):
    """Mean absolute error over the finite targets only: a record whose interval could not be
    measured (NaN) teaches nothing about that interval, and the others still count."""

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        known = torch.isfinite(target)
        if bool(known.all()):
            return (prediction - target).abs().mean()
        diff = torch.where(known, prediction - torch.nan_to_num(target), 0.0)
        return diff.abs().sum() / known.sum().clamp(min=1)


class MultitaskLoss(nn.Module):
    """Interval regression and diagnoses in one output: masked L1 on the first ``n_regression``
    (standardised) columns plus binary cross-entropy on the others, each a mean over its own
    columns so that neither part swamps the other by its width."""

    def __init__(self, n_regression: int):
        super().__init__()
        self.n_regression = int(n_regression)
        self.l1 = MaskedL1Loss()
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        k = self.n_regression
        loss = self.l1(prediction[:, :k], target[:, :k]) if k else prediction.new_zeros(())
        if prediction.shape[1] > k:
            loss = loss + self.bce(prediction[:, k:], target[:, k:])
        return loss


class FocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017) for single-label classification:
    ``-w_y (1 - p_y)^γ log p_y``, averaged with the class weights as cross-entropy does
    (``γ = 0`` is weighted cross-entropy)."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None):
        super().__init__()
        self.gamma = float(gamma)
        self.weight: torch.Tensor | None
        self.register_buffer("weight", weight if weight is not None else None)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        w = self.weight[target] if self.weight is not None else torch.ones_like(logp)
        loss = -w * (1.0 - logp.exp()).pow(self.gamma) * logp
        return loss.sum() / w.sum().clamp_min(1e-12)


@dataclass
class Task:
    """A training objective.

    Attributes
    ----------
    kind : {"regression", "classification", "multilabel"}
    names : tuple of str
        Target names (regression) or class/label names, in output order.
    loss : torch.nn.Module
        Applied to (raw model output, batch target).
    monitor : str
        The validation metric early stopping and the best checkpoint follow (a key of
        :meth:`metrics`, or ``"loss"``); ``mode`` says whether higher (``"max"``) is better.
    scaler : TargetScaler, optional
        Regression: targets are standardised; predictions and metrics are in real units.
    """

    kind: str
    names: tuple[str, ...]
    loss: nn.Module
    monitor: str
    mode: str
    scaler: TargetScaler | None = None
    options: dict[str, Any] = field(default_factory=dict)
    _metric_fn: Callable[[np.ndarray, np.ndarray], dict[str, Any]] | None = field(
        default=None, repr=False
    )

    # -- constructors ---------------------------------------------------------------------

    @classmethod
    def regression(
        cls, targets: Sequence[str], scaler: TargetScaler | None = None, monitor: str = "loss"
    ) -> Task:
        """L1 loss on (standardised) targets, missing (NaN) targets left out; metrics: MAE
        per target in real units."""
        return cls(
            "regression", tuple(targets), MaskedL1Loss(), monitor, _mode(monitor, "min"), scaler
        )

    @classmethod
    def classification(
        cls,
        classes: Sequence[str],
        *,
        weights: Sequence[float] | None = None,
        focal_gamma: float = 0.0,
        monitor: str = "macro_f1",
    ) -> Task:
        """Cross-entropy (class ``weights`` optional) or, with ``focal_gamma > 0``, focal loss;
        metrics: :func:`ecgfast.evaluate.classification`."""
        w = None if weights is None else torch.as_tensor(np.asarray(weights), dtype=torch.float32)
        if w is not None and (w.shape != (len(classes),) or not torch.all(w >= 0)):
            raise InvalidParameterError(f"weights must be {len(classes)} values >= 0")
        if not focal_gamma >= 0:
            raise InvalidParameterError(f"focal_gamma must be >= 0, got {focal_gamma!r}")
        loss = FocalLoss(focal_gamma, w) if focal_gamma > 0 else nn.CrossEntropyLoss(weight=w)
        options = {"weights": None if w is None else w.tolist(), "focal_gamma": focal_gamma}
        return cls(
            "classification", tuple(classes), loss, monitor, _mode(monitor, "max"), options=options
        )

    @classmethod
    def multilabel(
        cls,
        classes: Sequence[str],
        *,
        pos_weight: Sequence[float] | None = None,
        thresholds: float | Sequence[float] = 0.5,
        monitor: str = "macro_auroc",
    ) -> Task:
        """Binary cross-entropy per label; metrics: :func:`ecgfast.evaluate.multilabel` at
        ``thresholds``."""
        pw = None if pos_weight is None else torch.as_tensor(np.asarray(pos_weight)).float()
        options = {"pos_weight": None if pw is None else pw.tolist(), "thresholds": thresholds}
        return cls(
            "multilabel",
            tuple(classes),
            nn.BCEWithLogitsLoss(pos_weight=pw),
            monitor,
            _mode(monitor, "max"),
            options=options,
        )

    @classmethod
    def multitask(
        cls,
        targets: Sequence[str],
        labels: Sequence[str],
        scaler: TargetScaler | None = None,
        monitor: str = "loss",
    ) -> Task:
        """Regression of ``targets`` (masked L1 on standardised values, as :meth:`regression`)
        and 0/1 ``labels`` (binary cross-entropy, as :meth:`multilabel`) from one output of
        ``len(targets) + len(labels)`` columns, targets first. ``scaler`` covers every column
        (identity on the labels, as :class:`~ecgfast.torch.SyntheticECG` fits it). Metrics:
        those of both."""
        targets, labels = tuple(targets), tuple(labels)
        if not labels:
            raise InvalidParameterError("multitask needs at least one label; use regression")
        return cls(
            "multitask",
            targets + labels,
            MultitaskLoss(len(targets)),
            monitor,
            _mode(monitor, "min"),
            scaler,
            options={"n_regression": len(targets), "thresholds": 0.5},
        )

    @classmethod
    def custom(
        cls,
        names: Sequence[str],
        loss: nn.Module,
        metrics: Callable[[np.ndarray, np.ndarray], dict[str, Any]],
        *,
        monitor: str = "loss",
        mode: str = "min",
    ) -> Task:
        """Any loss and metric function ``(y_true, raw outputs) -> dict``."""
        return cls("custom", tuple(names), loss, monitor, _mode(monitor, mode), _metric_fn=metrics)

    # -- use ------------------------------------------------------------------------------

    def predictions(self, outputs: np.ndarray) -> np.ndarray:
        """Raw model outputs -> probabilities (classification), label probabilities
        (multi-label) or predictions in real units (regression)."""
        if self.kind == "classification":
            return torch.softmax(torch.from_numpy(outputs), dim=1).numpy()
        if self.kind == "multilabel":
            return torch.sigmoid(torch.from_numpy(outputs)).numpy()
        if self.kind == "multitask":
            k = self.options["n_regression"]
            real = self.scaler.inverse(outputs) if self.scaler is not None else outputs.copy()
            real[:, k:] = torch.sigmoid(torch.from_numpy(outputs[:, k:])).numpy()
            return real
        if self.kind == "regression" and self.scaler is not None:
            return self.scaler.inverse(outputs)
        return outputs

    def truth(self, y: np.ndarray) -> np.ndarray:
        """Batch targets -> real units (undoes the regression scaler)."""
        if self.kind in ("regression", "multitask") and self.scaler is not None:
            return self.scaler.inverse(y)
        return y

    def metrics(self, y_true: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        """Validation metrics from targets and raw outputs (a flat ``name -> float`` part is
        logged per epoch; nested values such as per-class F1 go to the final result)."""
        if self._metric_fn is not None:
            return self._metric_fn(y_true, outputs)
        pred, truth = self.predictions(outputs), self.truth(y_true)
        if self.kind == "classification":
            return evaluate.classification(truth, pred, self.names)
        if self.kind == "multilabel":
            return evaluate.multilabel(truth, pred, self.names, self.options["thresholds"])
        if self.kind == "multitask":
            k = self.options["n_regression"]
            return {
                **evaluate.regression(truth[:, :k], pred[:, :k], self.names[:k]),
                **evaluate.multilabel(truth[:, k:], pred[:, k:], self.names[k:]),
            }
        return evaluate.regression(truth, pred, self.names)

    def describe(self) -> dict[str, Any]:
        """JSON description for checkpoints."""
        return {
            "kind": self.kind,
            "names": list(self.names),
            "monitor": self.monitor,
            "mode": self.mode,
            "scaler": None if self.scaler is None else self.scaler.to_dict(),
            "options": self.options,
        }


def _mode(monitor: str, default: str) -> str:
    """Loss is minimised whatever the task; otherwise the task's default direction."""
    if default not in ("min", "max"):
        raise InvalidParameterError(f"mode must be 'min' or 'max', got {default!r}")
    return "min" if monitor == "loss" else default
