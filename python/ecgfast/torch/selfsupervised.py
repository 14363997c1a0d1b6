"""Self-supervised pretraining: masked reconstruction of the signal from the backbone.

The comparison users of synthetic pretraining ask for (issue 16): does a model learn more from
the generator's exact labels than from the signals alone? :class:`MaskedReconstruction` hides
random spans of each input and asks an ecgfast model's backbone, followed by a deliberately
small decoder, to fill them in (the masked-autoencoder recipe: a weak decoder makes the
backbone's feature map carry the information). It needs no labels, so it runs on synthetic
beats with their labels ignored, or on unlabelled real ECG.

    >>> task = masked_reconstruction_task()
    >>> wrapper = MaskedReconstruction(model, length=252)
    >>> fit(wrapper, SignalTargets(train), SignalTargets(val), task, epochs=4)
    >>> model.state_dict()          # the backbone learned; fine-tune it as usual

Only the backbone (stem and stages) is trained by the objective; the head stays as it was
built, and fine-tuning trains it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ..errors import InvalidParameterError
from .models import ECGModel
from .tasks import Task

__all__ = ["MaskedMSELoss", "MaskedReconstruction", "SignalTargets", "masked_reconstruction_task"]


class SignalTargets(Dataset):
    """The items of ``dataset`` with their signal as the target: ``(inputs, signal)`` (the
    labels are dropped; ``inputs`` is the signal or a tuple whose first entry is)."""

    def __init__(self, dataset: Any):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[Any, torch.Tensor]:
        inputs, _ = self.dataset[i]
        signal = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        return inputs, signal


class MaskedReconstruction(nn.Module):
    """Hide ``spans`` random stretches covering ``mask_fraction`` of each item (all channels,
    set to 0, the baseline of the normalised signals) and reconstruct the whole signal from the
    backbone's feature map: 1×1 convolution, ReLU, linear upsampling to the input length, a
    7-tap convolution.

    ``forward(x, features=None)`` returns ``(B, 2, C, L)``: the reconstruction and the mask
    (1 = hidden), the input of :class:`MaskedMSELoss`. In training mode the spans are drawn
    from torch's global generator (seeded by ``fit``); in eval mode from a fixed one, so the
    validation loss compares epochs on the same masks.

    Parameters
    ----------
    model : ECGModel
        Any ecgfast model; its backbone is trained, its head is not used.
    length : int
        Samples per item (to size the decoder).
    mask_fraction : float
        Fraction of each item hidden, in (0, 0.9].
    spans : int
        Number of hidden stretches per item (they may overlap).
    """

    def __init__(self, model: ECGModel, length: int, *, mask_fraction: float = 0.3, spans: int = 3):
        super().__init__()
        if not isinstance(model, ECGModel):
            raise InvalidParameterError("MaskedReconstruction needs an ecgfast model (ECGModel)")
        if not 0 < mask_fraction <= 0.9:
            raise InvalidParameterError(f"mask_fraction must be in (0, 0.9], got {mask_fraction}")
        if not isinstance(spans, int) or spans < 1:
            raise InvalidParameterError(f"spans must be an integer >= 1, got {spans!r}")
        if not isinstance(length, int) or length < 8 * spans:
            raise InvalidParameterError(f"length must be an integer >= {8 * spans}, got {length}")
        self.model = model
        self.length = length
        self.mask_fraction = mask_fraction
        self.spans = spans
        channels = model.config["in_channels"]
        with torch.no_grad():
            was = model.training
            model.eval()
            width = self.feature_map(torch.zeros(1, channels, length)).shape[1]
            model.train(was)
        self.decoder = nn.Sequential(nn.Conv1d(width, 64, 1), nn.ReLU(inplace=True))
        self.out = nn.Conv1d(64, channels, 7, padding=3)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's stem and stages, before pooling: (B, width, L')."""
        backbone = self.model.backbone
        x = backbone.stem(x)
        for stage in backbone.stages:
            x = stage(x)
        return x

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, L) float mask, 1 on the hidden samples."""
        b, _, n = x.shape
        span = max(1, round(self.mask_fraction * n / self.spans))
        generator = None if self.training else torch.Generator().manual_seed(0)
        starts = torch.randint(0, n - span + 1, (b, self.spans), generator=generator)
        at = torch.arange(n)
        hidden = ((at >= starts[..., None]) & (at < starts[..., None] + span)).any(dim=1)
        return hidden[:, None, :].to(x.dtype).to(x.device)

    def forward(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[-1] != self.length:
            raise InvalidParameterError(
                f"items have {x.shape[-1]} samples, this objective was built for {self.length}"
            )
        m = self.mask(x)
        h = self.decoder(self.feature_map(x * (1 - m)))
        h = F.interpolate(h, size=self.length, mode="linear", align_corners=False)
        reconstruction = self.out(h)
        return torch.stack([reconstruction, m.expand_as(reconstruction)], dim=1)


class MaskedMSELoss(nn.Module):
    """Mean squared error over the hidden samples only: ``output`` (B, 2, C, L) from
    :class:`MaskedReconstruction`, ``target`` (B, C, L) the unmasked signal."""

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        reconstruction, hidden = output[:, 0], output[:, 1]
        return ((reconstruction - target) ** 2 * hidden).sum() / hidden.sum().clamp_min(1.0)


def _reconstruction_metrics(y: np.ndarray, out: np.ndarray) -> dict[str, Any]:
    """Explained variance on the hidden samples: 1 - MSE / variance of the hidden signal (0
    for predicting the mean, 1 for perfect)."""
    hidden = out[:, 1] > 0.5
    truth = y[hidden]
    if truth.size == 0:
        return {"masked_r2": float("nan")}
    mse = float(np.mean((out[:, 0][hidden] - truth) ** 2))
    return {"masked_r2": 1.0 - mse / max(float(np.var(truth)), 1e-12)}


def masked_reconstruction_task() -> Task:
    """The :class:`Task` of :class:`MaskedReconstruction`: :class:`MaskedMSELoss`, early
    stopping on the validation loss, ``masked_r2`` reported."""
    return Task.custom(("signal",), MaskedMSELoss(), _reconstruction_metrics, monitor="loss")
