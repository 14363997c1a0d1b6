"""ecgfast's torch layer (needs the ``torch`` extra): datasets over synthetic and real ECG,
models split into backbone stages and head, and one training engine (:func:`fit`) that
pretraining, fine-tuning and every experiment use.

>>> from ecgfast.torch import SyntheticECG, create_model, pretrain_regression  # doctest: +SKIP
>>> train = SyntheticECG(20_000, targets=("hr", "pr", "qrs", "qt"), seed=0, fs=250)
>>> val = SyntheticECG(2_000, targets=train.targets, seed=1, fs=250, scaler=train.scaler)
>>> model = create_model("inception1d", in_channels=12, n_outputs=4)
>>> result = pretrain_regression(model, train, val, epochs=10, checkpoint="runs/x/model.pt")
>>> model, meta = load("runs/x/model.pt")      # meta["preprocessing"] turns raw ECG into inputs
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "ecgfast.torch needs PyTorch: pip install 'ecgfast[torch]' (import ecgfast works without)"
    ) from exc

from .classifier import BeatClassifier
from .datasets import (
    BEAT_TARGETS,
    DIAGNOSES,
    FINDINGS,
    TARGETS,
    BlockBatchSampler,
    ShardDataset,
    SyntheticBeats,
    SyntheticECG,
    TargetScaler,
)
from .engine import FitConfig, FitResult, fit, load, predict, save_checkpoint
from .finetune import (
    BALANCING,
    FinetuneConfig,
    class_weights,
    finetune_classifier,
    matched_head,
)
from .models import MODELS, ECGModel, Inception1d, ResNet1d, XResNet1d, create_model
from .policies import POLICIES, apply_policy
from .pretrain import pretrain_regression
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
from .selfsupervised import (
    MaskedMSELoss,
    MaskedReconstruction,
    SignalTargets,
    masked_reconstruction_task,
)
from .tasks import FocalLoss, Task

__all__ = [
    "AAMI_CLASSES",
    "AAMI_MAP",
    "BALANCING",
    "BEAT_TARGETS",
    "DIAGNOSES",
    "DS1",
    "DS2",
    "FINDINGS",
    "MODELS",
    "PACED",
    "POLICIES",
    "PTBXL",
    "PTBXL_SUPERCLASSES",
    "TARGETS",
    "BeatClassifier",
    "BlockBatchSampler",
    "ECGModel",
    "FinetuneConfig",
    "FitConfig",
    "FitResult",
    "FocalLoss",
    "Inception1d",
    "MITBIHBeats",
    "MaskedMSELoss",
    "MaskedReconstruction",
    "ResNet1d",
    "ShardDataset",
    "SignalTargets",
    "SyntheticBeats",
    "SyntheticECG",
    "TargetScaler",
    "Task",
    "WFDBDataset",
    "XResNet1d",
    "apply_policy",
    "class_weights",
    "create_model",
    "finetune_classifier",
    "fit",
    "load",
    "masked_reconstruction_task",
    "matched_head",
    "patient_split",
    "predict",
    "pretrain_regression",
    "save_checkpoint",
]
