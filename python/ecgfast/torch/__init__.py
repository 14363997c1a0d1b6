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
from .finetune import (
    POLICIES,
    FinetuneConfig,
    FinetuneResult,
    class_weights,
    classification_metrics,
    finetune_classifier,
)
from .models import MODELS, Inception1d, ResNet1d, XResNet1d, create_model
from .real import (
    AAMI_CLASSES,
    AAMI_MAP,
    DS1,
    DS2,
    PACED,
    PTBXL,
    PTBXL_SUPERCLASSES,
    MITBIHBeats,
    WFDBDataset,
    patient_split,
)
from .train import PretrainConfig, TrainResult, load, pretrain_regression, save_checkpoint

__all__ = [
    "AAMI_CLASSES",
    "AAMI_MAP",
    "BEAT_TARGETS",
    "DS1",
    "DS2",
    "MODELS",
    "PACED",
    "POLICIES",
    "PTBXL",
    "PTBXL_SUPERCLASSES",
    "TARGETS",
    "BlockBatchSampler",
    "FinetuneConfig",
    "FinetuneResult",
    "Inception1d",
    "MITBIHBeats",
    "PretrainConfig",
    "ResNet1d",
    "ShardDataset",
    "SyntheticBeats",
    "SyntheticECG",
    "TargetScaler",
    "TrainResult",
    "WFDBDataset",
    "XResNet1d",
    "class_weights",
    "classification_metrics",
    "create_model",
    "finetune_classifier",
    "load",
    "patient_split",
    "pretrain_regression",
    "save_checkpoint",
]
