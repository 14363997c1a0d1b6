"""Classification transfer: fine-tune a (pretrained) backbone with a new head on real ECG.

Policies: ``scratch`` (all trainable; pass a freshly initialised model), ``linear`` (backbone
frozen, batch-norm statistics too), ``partial`` (the first ``freeze_stages`` children of the
backbone frozen), ``full`` (all trainable; the backbone at ``backbone_lr_factor`` × the LR).
Imbalance: class-weighted cross-entropy with weights ∝ 1/frequency (``balance="weights"``) or
∝ 1/√frequency (``"sqrt"``, milder: a class of a handful of beats does not dominate the loss), or
a class-balanced sampler (``"sampler"``). Early stopping on validation macro-F1.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm.auto import tqdm

from ..errors import InvalidParameterError
from .train import _evaluate, train_epoch

__all__ = [
    "POLICIES",
    "FinetuneConfig",
    "FinetuneResult",
    "class_weights",
    "classification_metrics",
    "finetune_classifier",
]

POLICIES = ("scratch", "linear", "partial", "full")
BALANCING = ("weights", "sqrt", "sampler", None)


@dataclass
class FinetuneConfig:
    policy: str = "full"
    freeze_stages: int = 2
    backbone_lr_factor: float = 0.1
    balance: str | None = "weights"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 4
    device: str | None = None
    seed: int = 0
    progress: bool = True

    def validate(self) -> FinetuneConfig:
        if self.policy not in POLICIES:
            raise InvalidParameterError(f"policy must be one of {POLICIES}, got {self.policy!r}")
        if self.balance not in BALANCING:
            raise InvalidParameterError(f"balance must be one of {BALANCING}")
        for name in ("epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.freeze_stages, int) or self.freeze_stages < 0:
            raise InvalidParameterError("freeze_stages must be >= 0")
        if not (self.lr > 0 and self.backbone_lr_factor >= 0):
            raise InvalidParameterError("lr must be > 0 and backbone_lr_factor >= 0")
        return self


@dataclass
class FinetuneResult:
    history: list[dict[str, Any]]
    best_epoch: int
    metrics: dict[str, Any]
    classes: tuple[str, ...]
    y_true: np.ndarray = field(repr=False)
    y_prob: np.ndarray = field(repr=False)
    seconds: float = 0.0


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of a binary problem (Mann-Whitney, ties averaged)."""
    pos = y.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, classes: tuple[str, ...]
) -> dict[str, Any]:
    """Accuracy, macro-F1 (over classes present in ``y_true`` or predicted), per-class F1,
    macro AUROC (one-vs-rest, classes present) and the confusion matrix (rows = truth)."""
    k = len(classes)
    y_pred = y_prob.argmax(axis=1)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    f1 = {}
    for c in range(k):
        tp = cm[c, c]
        fp = cm[:, c].sum() - tp
        fn = cm[c, :].sum() - tp
        f1[classes[c]] = float(2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else math.nan
    present = [c for c in range(k) if cm[c, :].sum() > 0 or cm[:, c].sum() > 0]
    aucs = [_auroc(y_true == c, y_prob[:, c]) for c in range(k) if cm[c, :].sum() > 0]
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "macro_f1": float(np.mean([f1[classes[c]] for c in present])) if present else math.nan,
        "per_class_f1": f1,
        "macro_auroc": float(np.nanmean(aucs)) if aucs else math.nan,
        "confusion": cm.tolist(),
    }


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


def _freeze(module: torch.nn.Module) -> None:
    for p in module.parameters():
        p.requires_grad_(False)


def _apply_policy(model: torch.nn.Module, cfg: FinetuneConfig) -> list[torch.nn.Module]:
    """Set requires_grad per policy; return the modules to keep in eval mode (frozen BN)."""
    for p in model.parameters():
        p.requires_grad_(True)
    frozen: list[torch.nn.Module] = []
    backbone = model.backbone
    if cfg.policy == "linear":
        _freeze(backbone)
        frozen.append(backbone)
    elif cfg.policy == "partial":
        children = list(backbone.children())
        if len(children) == 1 and isinstance(children[0], torch.nn.ModuleList):
            children = list(children[0])
        for child in children[: cfg.freeze_stages]:
            _freeze(child)
            frozen.append(child)
    return frozen


def finetune_classifier(
    model: torch.nn.Module,
    train: Any,
    val: Any,
    config: FinetuneConfig | None = None,
    **overrides: Any,
) -> FinetuneResult:
    """Train ``model`` (with a head of ``len(classes)`` outputs) to classify ``train``'s items.

    Parameters
    ----------
    model : torch.nn.Module
        An ``ecgfast.torch.models`` model; call ``model.replace_head(n_classes)`` first on a
        pretrained one.
    train, val : Dataset
        Items ``(signal, class index)``; ``train.labels`` (array of class indices) and
        ``train.classes`` are used for class balancing and reporting.
    config, overrides
        :class:`FinetuneConfig` and single-field overrides (``policy="linear"``).

    Returns
    -------
    FinetuneResult
        History per epoch and the best epoch's validation metrics (its weights stay in
        ``model``).
    """
    cfg = FinetuneConfig(**{**asdict(config or FinetuneConfig()), **overrides}).validate()
    classes = tuple(getattr(train, "classes", ()))
    labels = np.asarray(train.labels)
    k = len(classes) or int(labels.max()) + 1
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(device)
    frozen = _apply_policy(model, cfg)
    weights = class_weights(labels, k, cfg.balance)
    gen = torch.Generator().manual_seed(cfg.seed)
    if cfg.balance == "sampler":
        sample_w = torch.as_tensor(weights[labels], dtype=torch.double)
        sampler = WeightedRandomSampler(sample_w, len(labels), replacement=True, generator=gen)
        train_loader = DataLoader(train, batch_size=cfg.batch_size, sampler=sampler)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        train_loader = DataLoader(train, batch_size=cfg.batch_size, shuffle=True, generator=gen)
        w = torch.as_tensor(weights, dtype=torch.float32, device=device) if cfg.balance else None
        loss_fn = torch.nn.CrossEntropyLoss(weight=w)
    val_loader = DataLoader(val, batch_size=cfg.batch_size, shuffle=False)
    head_params = [p for p in model.head.parameters() if p.requires_grad]
    back_params = [p for p in model.backbone.parameters() if p.requires_grad]
    factor = cfg.backbone_lr_factor if cfg.policy == "full" else 1.0
    groups = [{"params": head_params, "lr": cfg.lr}]
    if back_params:
        groups.append({"params": back_params, "lr": cfg.lr * factor})
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=max(1, cfg.epochs * len(train_loader))
    )
    history: list[dict[str, Any]] = []
    best = (-math.inf, -1)
    best_state = None
    best_out = (np.zeros(0, dtype=np.int64), np.zeros((0, k)))
    stale = 0
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        train_loss = train_epoch(
            model,
            train_loader,
            loss_fn,
            opt,
            sched,
            device,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            progress=cfg.progress,
            frozen=frozen,
        )
        y_true, logits = _evaluate(model, val_loader, device)
        y_prob = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
        metrics = classification_metrics(y_true, y_prob, classes or tuple(map(str, range(k))))
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_accuracy": metrics["accuracy"],
            "val_macro_f1": metrics["macro_f1"],
            "val_macro_auroc": metrics["macro_auroc"],
            "seconds": time.perf_counter() - start,
        }
        history.append(row)
        if cfg.progress:
            tqdm.write(
                f"epoch {epoch + 1}: loss {row['train_loss']:.4f} | "
                f"val acc {metrics['accuracy']:.3f} macro-F1 {metrics['macro_f1']:.3f} "
                f"AUROC {metrics['macro_auroc']:.3f}"
            )
        if metrics["macro_f1"] > best[0]:
            best = (metrics["macro_f1"], epoch)
            best_state = {k_: v.detach().clone() for k_, v in model.state_dict().items()}
            best_out = (y_true, y_prob)
            stale = 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    for p in model.parameters():
        p.requires_grad_(True)
    final = classification_metrics(best_out[0], best_out[1], classes or tuple(map(str, range(k))))
    return FinetuneResult(
        history=history,
        best_epoch=best[1] + 1,
        metrics=final,
        classes=classes,
        y_true=best_out[0],
        y_prob=best_out[1],
        seconds=time.perf_counter() - start,
    )
