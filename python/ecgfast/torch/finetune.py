"""Classification transfer: fine-tune a (pretrained) model with a new head on real ECG.

Policies (:mod:`ecgfast.torch.policies`): ``scratch``, ``linear``, ``partial``, ``full``, the
same for every model family. Imbalance (``balance``): class-weighted loss with weights ∝
1/frequency (``"weights"``) or ∝ 1/√frequency (``"sqrt"``, milder: a class of a handful of beats
does not dominate the loss), a class-balanced sampler (``"sampler"``) or nothing (``None``);
``focal_gamma > 0`` uses the focal loss. Early stopping on validation macro-F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InvalidParameterError
from .engine import FitConfig, FitResult, fit
from .tasks import Task

__all__ = [
    "BALANCING",
    "FinetuneConfig",
    "class_weights",
    "finetune_classifier",
    "matched_head",
]

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


def matched_head(
    model: Any,
    state: dict[str, Any],
    outputs: Sequence[str],
    scaler: dict[str, Any] | None,
    labels: Sequence[str],
    terms: dict[str, tuple[Any, ...]],
) -> list[str]:
    """Read a pretrained head as a target's labels: give ``model`` (built with ``len(labels)``
    outputs) the head of ``state``, its last layer's row for each label built from the
    pretrained rows that ``terms`` names, so that the model names the labels before it has seen
    a labelled record (zero-shot) and fine-tuning starts from there.

    Parameters
    ----------
    model : ECGModel
        The target's model, its backbone already loaded from ``state``.
    state : dict
        The pretrained model's ``state_dict``, head included.
    outputs : sequence of str
        Names of the pretrained head's outputs, in order (intervals and 0/1 diagnoses).
    scaler : dict or None
        ``TargetScaler.to_dict()`` of the pretraining targets (the intervals' mean and sd;
        needed only by interval terms).
    labels : sequence of str
        The target's labels, in the order of ``model``'s outputs.
    terms : dict
        Label -> terms, as :data:`ecgfast.diagnoses.LUDB_FROM_SYNTHETIC`: a 0/1 output's name
        (its logit) or ``(interval, cut, step)`` (``(value - cut) / step`` logits).

    Returns
    -------
    list of str
        The labels that found a counterpart; the others keep the fresh rows ``model`` was built
        with. Terms whose output the pretrained head lacks are left out.
    """
    last = [name for name, m in model.head.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    w_key, b_key = f"head.{last}.weight", f"head.{last}.bias"
    if w_key not in state or len(state[w_key]) != len(outputs):
        raise InvalidParameterError(
            f"state has no head with the {len(outputs)} outputs named (its last layer {w_key!r})"
        )
    head = {k: v for k, v in state.items() if k.startswith("head.") and k not in (w_key, b_key)}
    try:
        missing, unexpected = model.load_state_dict(head, strict=False)
    except RuntimeError as exc:  # a layer of another size
        msg = f"the pretrained head does not fit the model's head: {exc}"
        raise InvalidParameterError(msg) from None
    if unexpected or any(k.startswith("head.") and k not in (w_key, b_key) for k in missing):
        raise InvalidParameterError("the pretrained head does not fit the model's head")
    index = {name: j for j, name in enumerate(outputs)}
    scaler = scaler or {"names": [], "mean": [], "std": []}
    mean = dict(zip(scaler["names"], scaler["mean"], strict=True))
    std = dict(zip(scaler["names"], scaler["std"], strict=True))
    weight, bias = model.state_dict()[w_key].clone(), model.state_dict()[b_key].clone()
    matched = []
    for c, label in enumerate(labels):
        rows = []
        for term in terms.get(label, ()):
            name, cut, step = (term, None, None) if isinstance(term, str) else term
            if name not in index:
                continue
            if cut is None:
                rows.append((index[name], 1.0, 0.0))
            elif name not in std:
                raise InvalidParameterError(f"no scaler for the pretrained output {name!r}")
            else:
                rows.append((index[name], std[name] / step, (mean[name] - cut) / step))
        if not rows:
            continue
        weight[c] = sum(coef * state[w_key][j] for j, coef, _ in rows)
        bias[c] = sum(coef * state[b_key][j] + const for j, coef, const in rows)
        matched.append(label)
    model.load_state_dict({w_key: weight, b_key: bias}, strict=False)
    return matched
