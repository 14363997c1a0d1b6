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
features) and ``config`` (what :func:`create_model` needs to rebuild it).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import InvalidParameterError

__all__ = ["MODELS", "Inception1d", "ResNet1d", "XResNet1d", "create_model"]


class ConcatPool1d(nn.Module):
    """Global average and max pooling, concatenated: (B, C, L) -> (B, 2C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


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


class _Model(nn.Module):
    name = ""

    def __init__(
        self, backbone: nn.Module, n_features: int, n_outputs: int, head: dict, config: dict
    ):
        super().__init__()
        self.backbone = backbone
        self.n_features = n_features
        self.head = make_head(n_features, n_outputs, **head)
        self.config = config

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def replace_head(self, n_outputs: int, **head: Any) -> None:
        """A fresh head with ``n_outputs`` (e.g. classes), keeping the backbone."""
        self.head = make_head(self.n_features, n_outputs, **head)
        self.config = {**self.config, "n_outputs": n_outputs, **head}


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


class _InceptionBackbone(nn.Module):
    def __init__(self, ni: int, nf: int, depth: int, kernel_size: int, bottleneck: int):
        super().__init__()
        self.modules_ = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        c = ni
        for d in range(depth):
            self.modules_.append(_InceptionModule(c, nf, kernel_size, bottleneck))
            c = 4 * nf
            if d % 3 == 2:
                src = ni if d == 2 else 4 * nf
                self.shortcuts.append(
                    nn.Sequential(nn.Conv1d(src, 4 * nf, 1, bias=False), nn.BatchNorm1d(4 * nf))
                )
        self.pool = ConcatPool1d()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for d, module in enumerate(self.modules_):
            x = module(x)
            if d % 3 == 2:
                x = torch.relu(x + self.shortcuts[d // 3](res))
                res = x
        return self.pool(x)


class Inception1d(_Model):
    """InceptionTime for ECG (``nb_filters=32, depth=6, kernel_size=40, bottleneck=32``)."""

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
    ):
        _check(in_channels, n_outputs)
        if depth < 1:
            raise InvalidParameterError("depth must be >= 1")
        backbone = _InceptionBackbone(in_channels, nb_filters, depth, kernel_size, bottleneck)
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "nb_filters": nb_filters,
            "depth": depth,
            "kernel_size": kernel_size,
            "bottleneck": bottleneck,
            "hidden": hidden,
            "dropout": dropout,
        }
        super().__init__(
            backbone, 8 * nb_filters, n_outputs, {"hidden": hidden, "dropout": dropout}, config
        )


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


class ResNet1d(_Model):
    """resnet1d_wang style: a wide stem and basic blocks (kernels 5 and 3) in ``layers`` stages."""

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
    ):
        _check(in_channels, n_outputs)
        layers = tuple(int(v) for v in layers)
        stem = [
            nn.Conv1d(
                in_channels, width, stem_kernel, stride=2, padding=stem_kernel // 2, bias=False
            ),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
        ]
        blocks = []
        for s, n in enumerate(layers):
            for b in range(n):
                blocks.append(_BasicBlock(width, width, 2 if (b == 0 and s > 0) else 1, (5, 3)))
        backbone = nn.Sequential(*stem, *blocks, ConcatPool1d())
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "width": width,
            "layers": list(layers),
            "stem_kernel": stem_kernel,
            "hidden": hidden,
            "dropout": dropout,
        }
        super().__init__(
            backbone, 2 * width, n_outputs, {"hidden": hidden, "dropout": dropout}, config
        )


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


class XResNet1d(_Model):
    """xresnet1d (fastai's bag-of-tricks ResNet in 1-D), ``widths`` per stage, ``layers`` blocks."""

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
    ):
        _check(in_channels, n_outputs)
        widths = tuple(int(v) for v in widths)
        layers = tuple(int(v) for v in layers)
        if len(widths) != len(layers):
            raise InvalidParameterError("widths and layers must have the same length")
        stem = [
            _conv_bn(in_channels, 32, kernel_size, stride=2),
            _conv_bn(32, 32, kernel_size),
            _conv_bn(32, widths[0], kernel_size),
            nn.MaxPool1d(3, 2, padding=1),
        ]
        blocks = []
        c = widths[0]
        for s, (w, n) in enumerate(zip(widths, layers, strict=True)):
            for b in range(n):
                blocks.append(_XBlock(c, w, 2 if (b == 0 and s > 0) else 1, kernel_size))
                c = w
        backbone = nn.Sequential(*stem, *blocks, ConcatPool1d())
        config = {
            "in_channels": in_channels,
            "n_outputs": n_outputs,
            "widths": list(widths),
            "layers": list(layers),
            "kernel_size": kernel_size,
            "hidden": hidden,
            "dropout": dropout,
        }
        super().__init__(backbone, 2 * c, n_outputs, {"hidden": hidden, "dropout": dropout}, config)


#: Model names (for the CLI and checkpoints) -> constructors.
MODELS: dict[str, type[_Model]] = {
    "inception1d": Inception1d,
    "resnet1d": ResNet1d,
    "xresnet1d": XResNet1d,
}


def create_model(name: str, in_channels: int, n_outputs: int, **hyperparameters: Any) -> nn.Module:
    """Build a model by name (``"inception1d"``, ``"resnet1d"``, ``"xresnet1d"``)."""
    if name not in MODELS:
        raise InvalidParameterError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name](in_channels, n_outputs, **hyperparameters)
