"""Regression pretraining: L1 loss on standardised targets, AdamW, one-cycle schedule, early
stopping on validation MAE, checkpoints that rebuild the model with :func:`load`."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .. import __version__
from ..errors import InvalidParameterError
from .datasets import TargetScaler
from .models import MODELS, create_model

__all__ = ["PretrainConfig", "TrainResult", "load", "pretrain_regression", "save_checkpoint"]


@dataclass
class PretrainConfig:
    """Settings of :func:`pretrain_regression`.

    ``max_minutes`` stops training (after the current epoch) once the budget is spent;
    ``device=None`` picks CUDA when available, else the CPU.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 5
    num_workers: int = 0
    device: str | None = None
    seed: int = 0
    max_minutes: float | None = None
    progress: bool = True
    checkpoint: str | None = None

    def validate(self) -> PretrainConfig:
        for name in ("epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise InvalidParameterError("num_workers must be >= 0")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidParameterError("lr must be > 0")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise InvalidParameterError("max_minutes must be > 0")
        return self


@dataclass
class TrainResult:
    """What :func:`pretrain_regression` returns: per-epoch history, the best epoch's metrics
    (MAE per target in real units: bpm, ms) and its validation predictions."""

    history: list[dict[str, Any]]
    best_epoch: int
    best_mae: dict[str, float]
    targets: tuple[str, ...]
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    checkpoint: str | None = None
    seconds: float = 0.0


def _device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _loader(dataset: Any, cfg: PretrainConfig, shuffle: bool, seed: int) -> DataLoader:
    kwargs: dict[str, Any] = {"num_workers": cfg.num_workers}
    if cfg.num_workers > 0:
        kwargs["persistent_workers"] = True
    if hasattr(dataset, "batch_sampler"):
        sampler = dataset.batch_sampler(cfg.batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=shuffle, generator=gen, **kwargs)


def train_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    loss_fn: Any,
    opt: torch.optim.Optimizer,
    sched: Any,
    device: torch.device,
    *,
    desc: str,
    progress: bool,
    frozen: Any = (),
) -> float:
    """One pass over ``loader`` (optimizer and scheduler step per batch); modules in ``frozen``
    stay in eval mode. Returns the mean training loss."""
    model.train()
    for m in frozen:
        m.eval()
    total, count = 0.0, 0
    bar = tqdm(loader, desc=desc, disable=not progress, leave=False)
    for x, y in bar:
        x, y = x.to(device), y.to(device)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(x)
        count += len(x)
        bar.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


def _evaluate(model: torch.nn.Module, loader: DataLoader, device: torch.device):
    model.eval()
    preds, trues = [], []
    with torch.no_grad():
        for x, y in loader:
            preds.append(model(x.to(device)).cpu())
            trues.append(y)
    return torch.cat(trues).numpy(), torch.cat(preds).numpy()


def pretrain_regression(
    model: torch.nn.Module,
    train: Any,
    val: Any,
    config: PretrainConfig | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train ``model`` to regress the datasets' targets (L1 on standardised targets).

    Parameters
    ----------
    model : torch.nn.Module
        Its output size must equal the number of targets (e.g. ``create_model(name, leads, k)``).
    train, val : Dataset
        Items ``(signal, standardised target)``; ``train.scaler`` (a :class:`TargetScaler`)
        turns predictions back into bpm/ms for the metrics. :class:`SyntheticECG` and
        :class:`ShardDataset` are read a contiguous block per batch.
    config : PretrainConfig, optional
        Settings; keyword ``overrides`` replace single fields (``epochs=3``).

    Returns
    -------
    TrainResult
        History per epoch (train loss, validation loss and MAE per target, seconds), the best
        epoch (lowest validation loss) whose weights are left in ``model``, and — when
        ``config.checkpoint`` is set — the checkpoint written there.
    """
    cfg = PretrainConfig(**{**asdict(config or PretrainConfig()), **overrides}).validate()
    scaler: TargetScaler | None = getattr(train, "scaler", None)
    targets = tuple(getattr(train, "targets", ()))
    torch.manual_seed(cfg.seed)
    device = _device(cfg.device)
    model.to(device)
    train_loader = _loader(train, cfg, shuffle=True, seed=cfg.seed)
    val_loader = _loader(val, cfg, shuffle=False, seed=cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * len(train_loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(steps, 1))
    loss_fn = torch.nn.L1Loss()
    history: list[dict[str, Any]] = []
    best = (math.inf, -1)
    best_state: dict[str, torch.Tensor] | None = None
    best_pred = (np.zeros((0, len(targets))), np.zeros((0, len(targets))))
    stale = 0
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        if hasattr(train_loader.batch_sampler, "set_epoch"):
            train_loader.batch_sampler.set_epoch(epoch)
        train_loss = train_epoch(
            model,
            train_loader,
            loss_fn,
            opt,
            sched,
            device,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            progress=cfg.progress,
        )
        y_true, y_pred = _evaluate(model, val_loader, device)
        val_loss = float(np.abs(y_pred - y_true).mean())
        if scaler is not None:
            y_true, y_pred = scaler.inverse(y_true), scaler.inverse(y_pred)
        mae = {t: float(np.abs(y_pred[:, k] - y_true[:, k]).mean()) for k, t in enumerate(targets)}
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": sched.get_last_lr()[0],
            "seconds": time.perf_counter() - start,
            **{f"val_mae_{t}": v for t, v in mae.items()},
        }
        history.append(row)
        if cfg.progress:
            tqdm.write(
                f"epoch {epoch + 1}: train {row['train_loss']:.4f} val {val_loss:.4f} | "
                + " ".join(f"{t} {v:.2f}" for t, v in mae.items())
            )
        if val_loss < best[0]:
            best = (val_loss, epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best_pred = (y_true, y_pred)
            stale = 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
        if cfg.max_minutes is not None and row["seconds"] > 60 * cfg.max_minutes:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    best_row = history[best[1]] if history else {}
    result = TrainResult(
        history=history,
        best_epoch=best[1] + 1,
        best_mae={t: best_row.get(f"val_mae_{t}", math.nan) for t in targets},
        targets=targets,
        y_true=best_pred[0],
        y_pred=best_pred[1],
        seconds=time.perf_counter() - start,
    )
    if cfg.checkpoint:
        meta = {
            "targets": list(targets),
            "scaler": scaler.to_dict() if scaler is not None else None,
            "config": asdict(cfg),
            "metrics": {"best_epoch": result.best_epoch, "val_mae": result.best_mae},
            "data": {
                "fs": getattr(train, "fs", None),
                "leads": list(getattr(train, "lead_names", [])),
                "normalize": getattr(train, "normalize", None),
            },
        }
        result.checkpoint = str(save_checkpoint(cfg.checkpoint, model, meta))
    return result


def save_checkpoint(
    path: str | Path, model: torch.nn.Module, meta: dict[str, Any] | None = None
) -> Path:
    """Weights + what rebuilds the model (name, constructor config) + ``meta`` + ecgfast version."""
    name = getattr(model, "name", None)
    if name not in MODELS:
        raise InvalidParameterError("only ecgfast.torch.models models can be checkpointed")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": "ecgfast-checkpoint/1",
        "ecgfast_version": __version__,
        "model": name,
        "model_config": dict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": json.loads(json.dumps(meta or {}, default=float)),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load(path: str | Path, map_location: str = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a model from a checkpoint of :func:`save_checkpoint`.

    Returns ``(model in eval mode, meta)``; ``meta["scaler"]`` restores the target scaler with
    :meth:`TargetScaler.from_dict`.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidParameterError(f"no checkpoint at {path}")
    payload = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != "ecgfast-checkpoint/1":
        raise InvalidParameterError(f"{path} is not an ecgfast checkpoint")
    cfg = dict(payload["model_config"])
    in_ch, n_out = cfg.pop("in_channels"), cfg.pop("n_outputs")
    model = create_model(payload["model"], in_ch, n_out, **cfg)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    meta = dict(payload["meta"])
    meta["ecgfast_version"] = payload["ecgfast_version"]
    return model, meta
