"""ecgfast's torch layer (needs the ``torch`` extra): datasets over synthetic ECG, ECG models
split into backbone and head, and regression pretraining.

>>> from ecgfast.torch import SyntheticECG, create_model, pretrain_regression  # doctest: +SKIP
>>> train = SyntheticECG(20_000, targets=("hr", "pr", "qrs", "qt"), seed=0, fs=250)
>>> val = SyntheticECG(2_000, targets=train.targets, seed=1, fs=250, scaler=train.scaler)
>>> model = create_model("inception1d", in_channels=12, n_outputs=4)
>>> result = pretrain_regression(model, train, val, epochs=10, checkpoint="runs/x/model.pt")
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ecgfast.torch needs PyTorch: pip install 'ecgfast[torch]' (import ecgfast works without)"
    ) from exc

from .datasets import (
    BEAT_TARGETS,
    TARGETS,
    BlockBatchSampler,
    ShardDataset,
    SyntheticBeats,
    SyntheticECG,
    TargetScaler,
)
from .models import MODELS, Inception1d, ResNet1d, XResNet1d, create_model
from .train import PretrainConfig, TrainResult, load, pretrain_regression, save_checkpoint

__all__ = [
    "BEAT_TARGETS",
    "MODELS",
    "TARGETS",
    "BlockBatchSampler",
    "Inception1d",
    "PretrainConfig",
    "ResNet1d",
    "ShardDataset",
    "SyntheticBeats",
    "SyntheticECG",
    "TargetScaler",
    "TrainResult",
    "XResNet1d",
    "create_model",
    "load",
    "pretrain_regression",
    "save_checkpoint",
]
