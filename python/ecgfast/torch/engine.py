"""The one training engine: :func:`fit` trains any ecgfast model on any task (regression,
single- or multi-label classification) with a transfer policy, early stopping on a named
validation metric, per-epoch checkpoints that resume after an interruption, and results that
depend only on the seed.

A checkpoint (``ecgfast-checkpoint/2``) holds what rebuilds the model (family + full config,
head included), the best weights, the task (names, scaler), the input pipeline
(:class:`ecgfast.preprocessing.Preprocessing`), the history and, until training ends, the
state to resume from (last weights, optimizer, scheduler, epoch, early-stopping counters).
:func:`load` turns it back into a model and its pipeline.

Determinism: the order of the training batches of epoch ``e`` and the dropout draws depend only
on ``(seed, e)``, so an interrupted and resumed run ends with the same weights as an
uninterrupted one.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler
from tqdm.auto import tqdm

from .. import __version__
from .._validate import check_int
from ..errors import InvalidParameterError
from ..preprocessing import Preprocessing
from .datasets import TargetScaler, batch_bounds
from .models import MODELS, ECGModel, create_model
from .policies import POLICIES, apply_policy
from .tasks import Task

__all__ = [
    "CHECKPOINT_FORMAT",
    "FitConfig",
    "FitResult",
    "fit",
    "load",
    "predict",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "ecgfast-checkpoint/2"


@dataclass
class FitConfig:
    """Settings of :func:`fit`.

    ``policy`` (see :mod:`ecgfast.torch.policies`): ``None`` trains the model as given;
    ``backbone_lr_factor`` scales the backbone's learning rate under ``full`` and ``partial``.
    ``monitor`` names the validation metric for early stopping and the best weights (default:
    the task's). ``max_minutes`` stops after the epoch in which the budget is spent.
    ``device=None`` picks CUDA when available, else the CPU. ``keep="best"`` returns the
    weights of the best validation epoch; ``keep="last"`` those of the last epoch (refitting on
    all data for a number of epochs chosen before, where validation would be in-sample).
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    patience: int = 5
    policy: str | None = None
    backbone_lr_factor: float = 0.1
    monitor: str | None = None
    num_workers: int = 0
    device: str | None = None
    seed: int = 0
    max_minutes: float | None = None
    progress: bool = True
    keep: str = "best"

    def validate(self) -> FitConfig:
        for name in ("epochs", "batch_size", "patience"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
        check_int(self.num_workers, name="num_workers", low=0, high=1024)
        check_int(self.seed, name="seed", low=0, high=2**62)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise InvalidParameterError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (self.weight_decay >= 0 and self.backbone_lr_factor >= 0):
            raise InvalidParameterError("weight_decay and backbone_lr_factor must be >= 0")
        if self.policy is not None and self.policy not in POLICIES:
            raise InvalidParameterError(f"policy must be one of {POLICIES} or None")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise InvalidParameterError("max_minutes must be > 0")
        if self.keep not in ("best", "last"):
            raise InvalidParameterError(f"keep must be 'best' or 'last', got {self.keep!r}")
        return self

    @classmethod
    def merge(cls, config: Any, overrides: dict[str, Any]) -> Any:
        """``config`` (or the defaults) with single fields replaced, validated."""
        base = asdict(config) if config is not None else asdict(cls())
        unknown = set(overrides) - set(base)
        if unknown:
            raise InvalidParameterError(f"unknown setting(s) {sorted(unknown)} for {cls.__name__}")
        return cls(**{**base, **overrides}).validate()


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    history : list of dict
        One row per epoch: ``epoch, train_loss, val_loss, lr, seconds`` and the validation
        metrics (``val_<metric>``, nested ones flattened as ``val_<metric>_<name>``).
    best_epoch : int
        1-based epoch of the best ``monitor`` value; its weights are left in the model.
    metrics : dict
        The task's validation metrics at the best epoch (nested: per class, confusion...).
    y_true, y_pred : ndarray
        Validation targets and predictions at the best epoch, in real units / probabilities.
    """

    history: list[dict[str, Any]]
    best_epoch: int
    metrics: dict[str, Any]
    names: tuple[str, ...]
    monitor: str
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    checkpoint: str | None = None
    seconds: float = 0.0
    resumed_from: int = 0

    @property
    def targets(self) -> tuple[str, ...]:
        return self.names

    @property
    def best_mae(self) -> dict[str, float]:
        """Regression: MAE per target at the best epoch (bpm / ms)."""
        return dict(self.metrics.get("mae", {}))


# -- batches ------------------------------------------------------------------------------


class EpochBatchSampler(Sampler[list[int]]):
    """Shuffled (or weighted, with replacement) batches whose order depends only on
    ``(seed, epoch)``; a last training batch of a single item is merged into the previous one,
    so batch norm never sees a batch of one in training mode."""

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        weights: np.ndarray | None = None,
    ) -> None:
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(batch_bounds(self.n, self.batch_size))

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch, 0xBA7C])
        if self.weights is not None:
            p = self.weights / self.weights.sum()
            order = rng.choice(self.n, size=self.n, replace=True, p=p)
        elif self.shuffle:
            order = rng.permutation(self.n)
        else:
            order = np.arange(self.n)
        for lo, hi in batch_bounds(self.n, self.batch_size):
            yield order[lo:hi].tolist()


def _loader(
    dataset: Any, cfg: FitConfig, *, train: bool, weights: np.ndarray | None = None
) -> DataLoader:
    kwargs: dict[str, Any] = {"num_workers": cfg.num_workers}
    if cfg.num_workers > 0:
        kwargs["persistent_workers"] = True
    if weights is None and hasattr(dataset, "batch_sampler"):
        # datasets generated/read a contiguous block at a time bring their own sampler
        sampler = dataset.batch_sampler(cfg.batch_size, shuffle=train, seed=cfg.seed)
    else:
        sampler = EpochBatchSampler(
            len(dataset), cfg.batch_size, seed=cfg.seed, shuffle=train, weights=weights
        )
    return DataLoader(dataset, batch_sampler=sampler, **kwargs)


def _to(inputs: Any, device: torch.device) -> tuple[torch.Tensor, ...]:
    if isinstance(inputs, (list, tuple)):
        return tuple(t.to(device) for t in inputs)
    return (inputs.to(device),)


def _run_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    task: Task,
    opt: torch.optim.Optimizer,
    sched: Any,
    device: torch.device,
    frozen: Sequence[torch.nn.Module],
    desc: str,
    progress: bool,
) -> float:
    """One optimisation pass; frozen modules stay in eval mode. Returns the mean loss."""
    model.train()
    for m in frozen:
        m.eval()
    total, count = 0.0, 0
    bar = tqdm(loader, desc=desc, disable=not progress, leave=False)
    for inputs, y in bar:
        y = y.to(device)
        opt.zero_grad(set_to_none=True)
        loss = task.loss(model(*_to(inputs, device)), y)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * len(y)
        count += len(y)
        bar.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


def _outputs(
    model: torch.nn.Module, loader: DataLoader, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    outs, ys = [], []
    with torch.no_grad():
        for inputs, y in loader:
            outs.append(model(*_to(inputs, device)).float().cpu())
            ys.append(y)
    if not outs:
        return np.zeros(0), np.zeros(0)
    return torch.cat(ys).numpy(), torch.cat(outs).numpy()


def predict(
    model: torch.nn.Module,
    dataset: Any,
    task: Task | None = None,
    *,
    batch_size: int = 256,
    device: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(targets, predictions)`` of ``model`` over ``dataset`` in order, in eval mode.

    With a ``task``, predictions are probabilities (classification) or real units
    (regression), and targets real units; without, the raw outputs and targets."""
    dev = torch.device(device) if device else next(model.parameters()).device
    model.to(dev)
    loader = DataLoader(
        dataset, batch_sampler=EpochBatchSampler(len(dataset), batch_size, shuffle=False)
    )
    y, out = _outputs(model, loader, dev)
    if task is None:
        return y, out
    return task.truth(y), task.predictions(out)


def _flat(metrics: dict[str, Any], prefix: str = "val_") -> dict[str, float]:
    """Scalar metrics and one level of named scalars (``mae`` -> ``val_mae_hr``)."""
    row: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
            row[prefix + k] = float(v)
        elif isinstance(v, dict):
            for name, x in v.items():
                if isinstance(x, (int, float, np.floating)) and not isinstance(x, bool):
                    row[f"{prefix}{k}_{name}"] = float(x)
    return row


def _device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise InvalidParameterError(f"unknown device {name!r}: {exc}") from exc


@dataclass
class _State:
    """Early-stopping bookkeeping, saved with every checkpoint."""

    epoch: int = 0
    best_value: float = math.nan
    best_epoch: int = 0
    stale: int = 0
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    best_metrics: dict[str, Any] = field(default_factory=dict)

    def improved(self, value: float, mode: str) -> bool:
        if not math.isfinite(value):
            return False
        if not math.isfinite(self.best_value):
            return True
        return value > self.best_value if mode == "max" else value < self.best_value


def fit(
    model: torch.nn.Module,
    train: Any,
    val: Any,
    task: Task,
    config: FitConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    sample_weights: np.ndarray | None = None,
    preprocessing: Preprocessing | None = None,
    **overrides: Any,
) -> FitResult:
    """Train ``model`` on ``train`` for ``task``, selecting on ``val``.

    Parameters
    ----------
    model : torch.nn.Module
        An ecgfast model (needed for policies and checkpoints) or any module whose output
        matches the task.
    train, val : Dataset
        Items ``(inputs, target)``; ``inputs`` is the signal tensor or a tuple passed to
        ``model(*inputs)`` (e.g. signal and RR features). Validation needs at least one item.
    task : Task
        Loss, metrics and the monitored metric.
    config : FitConfig, optional
        Settings; keyword ``overrides`` replace single fields (``epochs=3``).
    checkpoint : path, optional
        Written after every epoch (atomically): best weights + everything :func:`load` needs
        + the state to resume from.
    resume : bool
        Continue from ``checkpoint`` if it holds an unfinished run of the same settings; a
        finished run is returned as it is, without training.
    sample_weights : array, optional
        Draw training items with replacement with these weights (class-balanced sampling).
    preprocessing : Preprocessing, optional
        The input pipeline stored in the checkpoint (default ``train.preprocessing``).

    Returns
    -------
    FitResult
    """
    cfg = FitConfig.merge(config, overrides)
    weights = _check_data(train, val, sample_weights)
    run = _Run(model, train, val, task, cfg, weights)
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        run.state, run.best_weights = _restore(checkpoint, model, run.opt, run.sched, cfg, task)
    resumed_from = run.state.epoch
    pipeline = preprocessing or getattr(train, "preprocessing", None)
    start = time.perf_counter() - (run.state.history[-1]["seconds"] if run.state.history else 0)
    while not run.state.done and run.state.epoch < cfg.epochs:
        run.epoch(start)
        if checkpoint is not None:
            _save(checkpoint, run, pipeline)
    model.load_state_dict(run.best_weights)
    for p in model.parameters():
        p.requires_grad_(True)
    y_true, y_pred = predict(model, val, task, batch_size=cfg.batch_size)
    history = run.state.history
    return FitResult(
        history=history,
        best_epoch=run.state.best_epoch,
        metrics=dict(run.state.best_metrics),
        names=task.names,
        monitor=run.monitor,
        y_true=y_true,
        y_pred=y_pred,
        checkpoint=None if checkpoint is None else str(checkpoint),
        seconds=history[-1]["seconds"] if history else 0.0,
        resumed_from=resumed_from,
    )


def _check_data(train: Any, val: Any, sample_weights: Any) -> np.ndarray | None:
    if len(train) < 2:
        raise InvalidParameterError(
            f"the training set has {len(train)} item(s); batch norm needs at least 2"
        )
    if len(val) < 1:
        raise InvalidParameterError("the validation set is empty")
    if sample_weights is None:
        return None
    weights = np.asarray(sample_weights, dtype=np.float64)
    if weights.shape != (len(train),) or not np.all(weights >= 0) or not weights.sum() > 0:
        raise InvalidParameterError("sample_weights must be one value >= 0 per training item")
    return weights


class _Run:
    """One training run: model, policy, loaders, optimizer, schedule, early-stopping state."""

    def __init__(
        self,
        model: torch.nn.Module,
        train: Any,
        val: Any,
        task: Task,
        cfg: FitConfig,
        sample_weights: np.ndarray | None,
    ) -> None:
        self.model, self.task, self.cfg = model, task, cfg
        self.monitor = cfg.monitor or task.monitor
        self.mode = "min" if self.monitor == "loss" else task.mode
        self.device = _device(cfg.device)
        model.to(self.device)
        task.loss.to(self.device)
        self.setup = apply_policy(
            model, cfg.policy, cfg.lr, backbone_lr_factor=cfg.backbone_lr_factor, seed=cfg.seed
        )
        self.train_loader = _loader(train, cfg, train=True, weights=sample_weights)
        self.val_loader = _loader(val, cfg, train=False)
        self.opt = torch.optim.AdamW(self.setup.param_groups, weight_decay=cfg.weight_decay)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(
            self.opt,
            max_lr=[g["lr"] for g in self.setup.param_groups],
            total_steps=max(1, cfg.epochs * len(self.train_loader)),
        )
        self.state = _State()
        self.best_weights = _copy(model.state_dict())

    def epoch(self, start: float) -> None:
        """Train one epoch, validate, update the best weights and the stopping state."""
        cfg, state, epoch = self.cfg, self.state, self.state.epoch
        sampler: Any = self.train_loader.batch_sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        torch.manual_seed(int(np.random.default_rng([cfg.seed, epoch, 0xD40]).integers(2**62)))
        train_loss = _run_epoch(
            self.model,
            self.train_loader,
            self.task,
            self.opt,
            self.sched,
            self.device,
            self.setup.frozen,
            f"epoch {epoch + 1}/{cfg.epochs}",
            cfg.progress,
        )
        metrics = _validate(self.model, self.val_loader, self.task, self.device, self.monitor)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": metrics["loss"],
            "lr": self.sched.get_last_lr()[0],
            "seconds": time.perf_counter() - start,
            **_flat({k: v for k, v in metrics.items() if k != "loss"}),
        }
        state.history.append(row)
        state.epoch = epoch + 1
        value = float(metrics[self.monitor])
        if state.improved(value, self.mode) or state.best_epoch == 0:
            state.best_value, state.best_epoch, state.stale = value, epoch + 1, 0
            state.best_metrics = metrics
            self.best_weights = _copy(self.model.state_dict())
        else:
            state.stale += 1
            if cfg.keep == "last":
                self.best_weights = _copy(self.model.state_dict())
        if cfg.progress:
            tqdm.write(_epoch_line(row, self.monitor))
        over_time = cfg.max_minutes is not None and row["seconds"] > 60 * cfg.max_minutes
        state.done = state.stale >= cfg.patience or over_time or state.epoch >= cfg.epochs


def _validate(
    model: torch.nn.Module, loader: DataLoader, task: Task, device: torch.device, monitor: str
) -> dict[str, Any]:
    """The task's metrics on the validation loader, with ``loss`` (the training loss there)."""
    y, out = _outputs(model, loader, device)
    with torch.no_grad():
        loss = float(task.loss(torch.from_numpy(out).to(device), torch.from_numpy(y).to(device)))
    metrics = {"loss": loss, **task.metrics(y, out)}
    if monitor not in metrics or not isinstance(metrics[monitor], (int, float)):
        scalars = [k for k, v in metrics.items() if isinstance(v, (int, float))]
        raise InvalidParameterError(
            f"monitor {monitor!r} is not a scalar metric of this task; choose from {scalars}"
        )
    return metrics


def _epoch_line(row: dict[str, Any], monitor: str) -> str:
    shown = [
        f"{k[4:]} {v:.4g}"
        for k, v in row.items()
        if k.startswith("val_") and k != "val_loss" and k.count("_") <= 2
    ][:8]
    return (
        f"epoch {row['epoch']}: train {row['train_loss']:.4f} val {row['val_loss']:.4f} | "
        + " ".join(shown)
        + f" (monitor: {monitor})"
    )


def _copy(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in state_dict.items()}


# -- checkpoints ----------------------------------------------------------------------------


def _model_spec(model: torch.nn.Module) -> dict[str, Any]:
    name = getattr(model, "name", None)
    if not isinstance(model, ECGModel) or name not in MODELS:
        raise InvalidParameterError("only ecgfast.torch.models models can be checkpointed")
    return {"model": name, "model_config": json.loads(json.dumps(model.config))}


def _atomic_save(payload: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=float))


def _save(path: str | Path, run: _Run, preprocessing: Preprocessing | None) -> None:
    """Best weights, what :func:`load` needs and, until training ends, the resume state."""
    state = run.state
    training: dict[str, Any] = {
        "done": state.done,
        "epoch": state.epoch,
        "best_value": state.best_value,
        "best_epoch": state.best_epoch,
        "stale": state.stale,
    }
    if not state.done:  # what resuming needs; dropped once training has ended
        training.update(
            last_state_dict=_copy(run.model.state_dict()),
            optimizer=run.opt.state_dict(),
            scheduler=run.sched.state_dict(),
        )
    meta = {
        "task": run.task.describe(),
        "preprocessing": None if preprocessing is None else preprocessing.to_dict(),
        "config": asdict(run.cfg),
        "history": state.history,
        "metrics": {
            "best_epoch": state.best_epoch,
            "monitor": run.monitor,
            **_jsonable(state.best_metrics),
        },
    }
    payload = {
        "format": CHECKPOINT_FORMAT,
        "ecgfast_version": __version__,
        **_model_spec(run.model),
        "state_dict": run.best_weights,
        "meta": _jsonable(meta),
        "training": training,
    }
    _atomic_save(payload, path)


def _read(
    path: str | Path,
    map_location: str = "cpu",
    fmt: str = CHECKPOINT_FORMAT,
    what: str = "checkpoint",
) -> dict[str, Any]:
    """The payload of a file written in format ``fmt`` (a ``what``), or a clear error."""
    path = Path(path)
    if not path.is_file():
        raise InvalidParameterError(f"no {what} at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated or foreign file
        raise InvalidParameterError(f"{path} is not a readable {what}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise InvalidParameterError(f"{path} is not an {fmt} {what} (found {found!r})")
    return payload


def _rebuild(spec: dict[str, Any]) -> ECGModel:
    """The model of a :func:`_model_spec` + ``state_dict`` entry, with its weights, in eval
    mode."""
    cfg = dict(spec["model_config"])
    in_ch, n_out = cfg.pop("in_channels"), cfg.pop("n_outputs")
    model = create_model(spec["model"], in_ch, n_out, **cfg)
    model.load_state_dict(spec["state_dict"])
    model.eval()
    return model


def _restore(
    path: str | Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: Any,
    cfg: FitConfig,
    task: Task,
) -> tuple[_State, dict[str, torch.Tensor]]:
    payload = _read(path)
    meta, training = payload["meta"], payload["training"]
    saved = {
        k: v
        for k, v in meta["config"].items()
        if k not in ("progress", "device", "num_workers", "max_minutes")
    }
    now = {k: v for k, v in asdict(cfg).items() if k in saved}
    if saved != now or meta["task"]["names"] != list(task.names):
        raise InvalidParameterError(
            f"{path} holds a run with other settings; resume needs the same config and task "
            f"(saved {saved}, now {now})"
        )
    state = _State(
        epoch=training["epoch"],
        best_value=training["best_value"],
        best_epoch=training["best_epoch"],
        stale=training["stale"],
        done=training["done"],
        history=list(meta["history"]),
        best_metrics={
            k: v for k, v in meta["metrics"].items() if k not in ("best_epoch", "monitor")
        },
    )
    if state.done:
        model.load_state_dict(payload["state_dict"])
    else:
        model.load_state_dict(training["last_state_dict"])
        opt.load_state_dict(training["optimizer"])
        sched.load_state_dict(training["scheduler"])
    return state, payload["state_dict"]


def save_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    *,
    task: Task | None = None,
    preprocessing: Preprocessing | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (weights + what rebuilds it) with its task and input pipeline, in the
    format :func:`fit` writes and :func:`load` reads."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "ecgfast_version": __version__,
        **_model_spec(model),
        "state_dict": _copy(model.state_dict()),
        "meta": _jsonable(
            {
                **(meta or {}),
                "task": None if task is None else task.describe(),
                "preprocessing": None if preprocessing is None else preprocessing.to_dict(),
            }
        ),
        "training": {"done": True},
    }
    return _atomic_save(payload, path)


def load(path: str | Path, map_location: str = "cpu") -> tuple[ECGModel, dict[str, Any]]:
    """Rebuild a model and its input pipeline from a checkpoint.

    Returns
    -------
    (model, meta)
        The model in eval mode with the best weights, and ``meta``: ``task`` (dict),
        ``scaler`` (:class:`TargetScaler` or None), ``preprocessing``
        (:class:`~ecgfast.preprocessing.Preprocessing` or None: call it on raw signals to get
        the model's input), ``history``, ``metrics``, ``config``, ``ecgfast_version`` and
        ``finished`` (False for a run that was interrupted: resume it with ``fit(...,
        resume=True)``).
    """
    payload = _read(path, map_location)
    model = _rebuild(payload)
    meta = dict(payload["meta"])
    task = meta.get("task") or {}
    meta["scaler"] = TargetScaler.from_dict(task["scaler"]) if task.get("scaler") else None
    pre = meta.get("preprocessing")
    meta["preprocessing"] = Preprocessing.from_dict(pre) if pre else None
    meta["ecgfast_version"] = payload["ecgfast_version"]
    meta["finished"] = bool(payload.get("training", {}).get("done", True))
    return model, meta
