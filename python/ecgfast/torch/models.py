"""1-D ECG models, each split into ``backbone`` (features) and ``head`` so that a backbone
pretrained for regression can take a classification head later.

- :class:`Inception1d`: InceptionTime (Ismail Fawaz et al. 2020) as in the PTB-XL benchmark
  (Strodthoff et al., IEEE JBHI 25(5), 2021): bottleneck + three convolutions (kernel sizes
  39/19/9 for ``kernel_size=40``) + max-pool branch, residual shortcut every three modules.
- :class:`ResNet1d`: resnet1d_wang style (Wang et al. 2017, as in the PTB-XL benchmark): basic
  blocks with kernel sizes 5 and 3.
- :class:`XResNet1d`: the bag-of-tricks ResNet (He et al. 2019) in 1-D: three-convolution stem,
  average-pool shortcuts, zero-initialised last batch norm of each block.

Every model takes ``(in_channels, n_outputs, **hyperparameters)``, any number of leads and any
length (global concat pooling), and exposes ``forward_features`` (the backbone's pooled
features), ``config`` (what :func:`create_model` needs to rebuild it, head included) and
``stages()`` (stem, then stages: what the freeze policies act on). ``extra_features=k`` makes
the model take ``(signal, features)``, the ``k`` features joining the pooled backbone features
before the head.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from ..errors import InvalidParameterError

__all__ = ["MODELS", "Backbone", "ECGModel", "Inception1d", "ResNet1d", "XResNet1d", "create_model"]


class ConcatPool1d(nn.Module):
    """Global average and max pooling, concatenated: (B, C, L) -> (B, 2C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


#: Head settings every model accepts (and records in ``config``).
HEAD_DEFAULTS: dict[str, Any] = {"hidden": 128, "dropout": 0.25}


def make_head(
    n_features: int, n_outputs: int, hidden: int = 128, dropout: float = 0.25
) -> nn.Module:
    """The PTB-XL benchmark's head: BN, dropout, linear, ReLU, BN, dropout, linear."""
    return nn.Sequential(
        nn.BatchNorm1d(n_features),
        nn.Dropout(dropout),
        nn.Linear(n_features, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, n_outputs),
    )


class Backbone(nn.Module):
    """``stem`` -> ``stages`` (in order) -> global concat pooling; the unit of every freeze
    policy (:mod:`ecgfast.torch.policies`): the stem and each stage are frozen or trained whole."""

    def __init__(self, stem: nn.Module, stages: Sequence[nn.Module]):
        super().__init__()
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.pool = ConcatPool1d()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.pool(x)


class ECGModel(nn.Module):
    """Backbone + head. ``forward(signal)`` or, when the model was built with
    ``extra_features=k``, ``forward(signal, features)``: ``features`` (B, k) are concatenated
    with the pooled backbone features before the head (e.g. a beat's RR intervals)."""

    name = ""

    def __init__(self, backbone: Backbone, n_features: int, config: dict[str, Any]):
        super().__init__()
        _check(config["in_channels"], config["n_outputs"])
        extra = config.get("extra_features", 0)
        if not isinstance(extra, int) or isinstance(extra, bool) or extra < 0:
            raise InvalidParameterError(f"extra_features must be an integer >= 0, got {extra!r}")
        self.backbone = backbone
        self.n_features = n_features
        self.config = {**config, "extra_features": extra}
        self.head = make_head(n_features + extra, config["n_outputs"], **self._head_config())

    def _head_config(self) -> dict[str, Any]:
        return {k: self.config.get(k, v) for k, v in HEAD_DEFAULTS.items()}

    def stages(self) -> list[nn.Module]:
        """The backbone's stem and stages, input side first."""
        return [self.backbone.stem, *self.backbone.stages]

    def forward_features(self, x: torch.Tensor, features: torch.Tensor | None = None):
        """Pooled backbone features (B, n_features), with ``features`` appended if given."""
        f = self.backbone(x)
        extra = self.config["extra_features"]
        if extra:
            if features is None or features.shape[-1] != extra:
                got = None if features is None else tuple(features.shape)
                raise InvalidParameterError(
                    f"this model takes {extra} extra features per item besides the signal; "
                    f"got {got}"
                )
            f = torch.cat([f, features.to(f.dtype)], dim=1)
        elif features is not None:
            raise InvalidParameterError(
                "this model takes the signal only (built with extra_features=0)"
            )
        return f

    def forward(self, x: torch.Tensor, features: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.forward_features(x, features))

    def replace_head(
        self, n_outputs: int, *, extra_features: int | None = None, **head: Any
    ) -> None:
        """A fresh head with ``n_outputs`` (e.g. classes), keeping the backbone.

        Head settings (``hidden``, ``dropout``) and ``extra_features`` default to the model's
        current ones; whatever is used is written to ``config`` so checkpoints rebuild it.
        """
        unknown = set(head) - set(HEAD_DEFAULTS)
        if unknown:
            raise InvalidParameterError(
                f"unknown head setting(s) {sorted(unknown)}; use {', '.join(HEAD_DEFAULTS)}"
            )
        extra = self.config["extra_features"] if extra_features is None else extra_features
        config = {**self.config, **head, "n_outputs": n_outputs, "extra_features": extra}
        _check(config["in_channels"], n_outputs)
        if not isinstance(extra, int) or extra < 0:
            raise InvalidParameterError(f"extra_features must be an integer >= 0, got {extra!r}")
        self.config = config
        self.head = make_head(self.n_features + extra, n_outputs, **self._head_config())


def _check(in_channels: int, n_outputs: int) -> None:
    for name, v in (("in_channels", in_channels), ("n_outputs", n_outputs)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")


# -- Inception1d -------------------------------------------------------------------------------


class _InceptionModule(nn.Module):
    def __init__(self, ni: int, nf: int, kernel_size: int, bottleneck: int):
        super().__init__()
        ks = [max(3, (kernel_size // (2**i)) - 1) for i in range(3)]  # 39, 19, 9 for 40
        ks = [k if k % 2 else k + 1 for k in ks]
        self.bottleneck = nn.Conv1d(ni, bottleneck, 1, bias=False) if ni > 1 else nn.Identity()
        nb = bottleneck if ni > 1 else ni
        self.convs = nn.ModuleList(nn.Conv1d(nb, nf, k, padding=k // 2, bias=False) for k in ks)
        self.pool = nn.Sequential(nn.MaxPool1d(3, 1, padding=1), nn.Conv1d(ni, nf, 1, bias=False))
        self.bn_relu = nn.Sequential(nn.BatchNorm1d(4 * nf), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bottleneck(x)
        return self.bn_relu(torch.cat([c(b) for c in self.convs] + [self.pool(x)], dim=1))


class _InceptionStage(nn.Module):
    """Up to three inception modules; with three, a residual shortcut around them."""

    def __init__(self, ni: int, nf: int, n_modules: int, kernel_size: int, bottleneck: int):
        super().__init__()
        channels = [ni] + [4 * nf] * (n_modules - 1)
        self.blocks = nn.ModuleList(
            _InceptionModule(c, nf, kernel_size, bottleneck) for c in channels
        )
        self.shortcut = (
            nn.Sequential(nn.Conv1d(ni, 4 * nf, 1, bias=False), nn.BatchNorm1d(4 * nf))
            if n_modules == 3
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for block in self.blocks:
            x = block(x)
        return x if self.shortcut is None else torch.relu(x + self.shortcut(res))


class Inception1d(ECGModel):
    """InceptionTime for ECG (``nb_filters=32, depth=6, kernel_size=40, bottleneck=32``).

    No stem; a stage is three inception modules with a residual shortcut (``depth // 3``
    stages, then one stage of the remaining modules, without shortcut)."""

    name = "inception1d"

    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        *,
        nb_filters: int = 32,
        depth: int = 6,
        kernel_size: int = 40,
        bottleneck: int = 32,
        hidden: int = 128,
        dropout: float = 0.25,
        extra_features: int = 0,
    ):
        _check(in_channels, n_outputs)
        if not isinstance(depth, int) or depth < 1:
            raise InvalidParameterError("depth must be an integer >= 1")
        sizes = [3] * (depth // 3) + ([depth % 3] if depth % 3 else [])
        stages = [
            _InceptionStage(
                in_channels if i == 0 else 4 * nb_filters, nb_filters, m, kernel_size, bottleneck
            )
            for i, m in enumerate(sizes)
        ]
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "nb_filters": nb_filters,
            "depth": depth,
            "kernel_size": kernel_size,
            "bottleneck": bottleneck,
            "hidden": hidden,
            "dropout": dropout,
            "extra_features": extra_features,
        }
        super().__init__(Backbone(nn.Identity(), stages), 8 * nb_filters, config)


# -- ResNet1d (wang) ---------------------------------------------------------------------------


class _BasicBlock(nn.Module):
    def __init__(self, ni: int, nf: int, stride: int, kernel_sizes: tuple[int, int]):
        super().__init__()
        k1, k2 = kernel_sizes
        self.body = nn.Sequential(
            nn.Conv1d(ni, nf, k1, stride=stride, padding=k1 // 2, bias=False),
            nn.BatchNorm1d(nf),
            nn.ReLU(inplace=True),
            nn.Conv1d(nf, nf, k2, padding=k2 // 2, bias=False),
            nn.BatchNorm1d(nf),
        )
        self.shortcut = (
            nn.Identity()
            if ni == nf and stride == 1
            else nn.Sequential(nn.Conv1d(ni, nf, 1, stride=stride, bias=False), nn.BatchNorm1d(nf))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


def _stage_layout(layers: Any, widths: Any = None) -> tuple[tuple[int, ...], tuple[int, ...]]:
    layers = tuple(int(v) for v in layers)
    widths = layers if widths is None else tuple(int(v) for v in widths)
    if not layers or len(widths) != len(layers) or min(layers) < 1 or min(widths) < 1:
        raise InvalidParameterError(
            "layers (blocks per stage) must be positive and match widths in length"
        )
    return layers, widths


class ResNet1d(ECGModel):
    """resnet1d_wang style: a wide stem and basic blocks (kernels 5 and 3) in ``layers`` stages
    (the first block of every stage after the first halves the length)."""

    name = "resnet1d"

    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        *,
        width: int = 128,
        layers: tuple[int, ...] = (1, 1, 1),
        stem_kernel: int = 7,
        hidden: int = 128,
        dropout: float = 0.25,
        extra_features: int = 0,
    ):
        _check(in_channels, n_outputs)
        layers, _ = _stage_layout(layers)
        stem = nn.Sequential(
            nn.Conv1d(
                in_channels, width, stem_kernel, stride=2, padding=stem_kernel // 2, bias=False
            ),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
        )
        stages = [
            nn.Sequential(
                *(
                    _BasicBlock(width, width, 2 if (b == 0 and s > 0) else 1, (5, 3))
                    for b in range(n)
                )
            )
            for s, n in enumerate(layers)
        ]
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "width": width,
            "layers": list(layers),
            "stem_kernel": stem_kernel,
            "hidden": hidden,
            "dropout": dropout,
            "extra_features": extra_features,
        }
        super().__init__(Backbone(stem, stages), 2 * width, config)


# -- XResNet1d ---------------------------------------------------------------------------------


def _conv_bn(
    ni: int, nf: int, k: int, stride: int = 1, relu: bool = True, zero: bool = False
) -> nn.Module:
    bn = nn.BatchNorm1d(nf)
    nn.init.constant_(bn.weight, 0.0 if zero else 1.0)
    layers: list[nn.Module] = [nn.Conv1d(ni, nf, k, stride=stride, padding=k // 2, bias=False), bn]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class _XBlock(nn.Module):
    def __init__(self, ni: int, nf: int, stride: int, kernel_size: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn(ni, nf, kernel_size, stride),
            _conv_bn(nf, nf, kernel_size, relu=False, zero=True),
        )
        short: list[nn.Module] = []
        if stride != 1:
            short.append(nn.AvgPool1d(stride, stride, ceil_mode=True))
        if ni != nf:
            short.append(_conv_bn(ni, nf, 1, relu=False))
        self.shortcut = nn.Sequential(*short) if short else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class XResNet1d(ECGModel):
    """xresnet1d (fastai's bag-of-tricks ResNet in 1-D): a three-convolution stem with max
    pooling, then ``widths`` per stage with ``layers`` blocks each."""

    name = "xresnet1d"

    def __init__(
        self,
        in_channels: int,
        n_outputs: int,
        *,
        widths: tuple[int, ...] = (64, 64, 128, 128),
        layers: tuple[int, ...] = (1, 1, 1, 1),
        kernel_size: int = 5,
        hidden: int = 128,
        dropout: float = 0.25,
        extra_features: int = 0,
    ):
        _check(in_channels, n_outputs)
        layers, widths = _stage_layout(layers, widths)
        stem = nn.Sequential(
            _conv_bn(in_channels, 32, kernel_size, stride=2),
            _conv_bn(32, 32, kernel_size),
            _conv_bn(32, widths[0], kernel_size),
            nn.MaxPool1d(3, 2, padding=1),
        )
        stages, c = [], widths[0]
        for s, (w, n) in enumerate(zip(widths, layers, strict=True)):
            blocks = []
            for b in range(n):
                blocks.append(_XBlock(c, w, 2 if (b == 0 and s > 0) else 1, kernel_size))
                c = w
            stages.append(nn.Sequential(*blocks))
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "widths": list(widths),
            "layers": list(layers),
            "kernel_size": kernel_size,
            "hidden": hidden,
            "dropout": dropout,
            "extra_features": extra_features,
        }
        super().__init__(Backbone(stem, stages), 2 * c, config)


#: Model names (for the CLI and checkpoints) -> constructors.
MODELS: dict[str, Callable[..., ECGModel]] = {
    "inception1d": Inception1d,
    "resnet1d": ResNet1d,
    "xresnet1d": XResNet1d,
}


def create_model(name: str, in_channels: int, n_outputs: int, **hyperparameters: Any) -> ECGModel:
    """Build a model by name (``"inception1d"``, ``"resnet1d"``, ``"xresnet1d"``)."""
    if name not in MODELS:
        raise InvalidParameterError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](in_channels, n_outputs, **hyperparameters)
