"""Classification transfer: fine-tune a (pretrained) model with a new head on real ECG.

Policies (:mod:`ecgfast.torch.policies`): ``scratch``, ``linear``, ``partial``, ``full``, the
same for every model family. Imbalance (``balance``): class-weighted loss with weights ∝
1/frequency (``"weights"``) or ∝ 1/√frequency (``"sqrt"``, milder: a class of a handful of beats
does not dominate the loss), a class-balanced sampler (``"sampler"``) or nothing (``None``);
``focal_gamma > 0`` uses the focal loss. Early stopping on validation macro-F1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InvalidParameterError
from .engine import FitConfig, FitResult, fit
from .tasks import Task

__all__ = ["BALANCING", "FinetuneConfig", "class_weights", "finetune_classifier"]

BALANCING = ("weights", "sqrt", "sampler", None)


@dataclass
class FinetuneConfig(FitConfig):
    """:class:`FitConfig` with fine-tuning defaults, plus class balancing and focal loss."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    patience: int = 4
    policy: str | None = "full"
    balance: str | None = "weights"
    focal_gamma: float = 0.0

    def validate(self) -> FinetuneConfig:
        super().validate()
        if self.policy is None:
            raise InvalidParameterError(
                "fine-tuning needs a policy: scratch, linear, partial, full"
            )
        if self.balance not in BALANCING:
            raise InvalidParameterError(f"balance must be one of {BALANCING}, not {self.balance!r}")
        if not self.focal_gamma >= 0:
            raise InvalidParameterError("focal_gamma must be >= 0")
        return self

    def fit_config(self) -> FitConfig:
        names = {f.name for f in fields(FitConfig)}
        return FitConfig(**{k: v for k, v in asdict(self).items() if k in names})


def class_weights(
    labels: np.ndarray, n_classes: int, balance: str | None = "weights"
) -> np.ndarray:
    """Per-class loss weights: ``n / (k · n_c)`` for ``"weights"`` and ``"sampler"`` (each class
    then weighs n / k in all), its square root for ``"sqrt"``, ones for ``None``; 0 for classes
    absent from ``labels``."""
    counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(np.float64)
    if balance is None:
        return np.where(counts > 0, 1.0, 0.0)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return np.sqrt(weights) if balance == "sqrt" else weights


def finetune_classifier(
    model: torch.nn.Module,
    train: Any,
    val: Any,
    config: FinetuneConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    **overrides: Any,
) -> FitResult:
    """Train ``model`` (with a head of ``len(train.classes)`` outputs) to classify ``train``.

    Parameters
    ----------
    model : ECGModel
        Call ``model.replace_head(n_classes)`` first on a pretrained one; ``policy="scratch"``
        re-initialises it (seeded), so any model of the right shape will do there.
    train, val : Dataset
        Items ``(inputs, class index)``; ``train.labels`` (class indices) and ``train.classes``
        are used for balancing and reporting.
    config, overrides
        :class:`FinetuneConfig` and single-field overrides (``policy="linear"``).
    checkpoint, resume
        As :func:`fit`.

    Returns
    -------
    FitResult
        History per epoch and the best epoch's validation metrics (accuracy, macro-F1, per-class
        F1, macro AUROC, confusion); its weights stay in ``model``.
    """
    cfg = FinetuneConfig.merge(config, overrides)
    labels = np.asarray(train.labels)
    classes = tuple(getattr(train, "classes", ())) or tuple(map(str, range(labels.max() + 1)))
    weights = class_weights(labels, len(classes), cfg.balance)
    loss_weights = weights if cfg.balance in ("weights", "sqrt") else None
    task = Task.classification(
        classes,
        weights=None if loss_weights is None else loss_weights.tolist(),
        focal_gamma=cfg.focal_gamma,
    )
    sample_weights = weights[labels] if cfg.balance == "sampler" else None
    return fit(
        model,
        train,
        val,
        task,
        cfg.fit_config(),
        checkpoint=checkpoint,
        resume=resume,
        sample_weights=sample_weights,
    )
