"""Transfer policies, defined once for every model family by the models' stages.

Every :class:`~ecgfast.torch.models.ECGModel` is ``backbone.stem``, ``backbone.stages`` (in
order) and ``head``. A policy says which of these train and at which learning rate:

========  ===================================================================================
policy    meaning
========  ===================================================================================
scratch   the weights are re-initialised (seeded), then everything trains at ``lr``
full      the given (pretrained) weights; the head at ``lr``, the backbone at
          ``backbone_lr_factor × lr``
partial   as ``full``, but the stem and the first half of the stages (``n_stages // 2``, at
          least one) are frozen: parameters fixed, batch-norm statistics too
linear    the whole backbone frozen; only the head trains, at ``lr``
========  ===================================================================================

``None`` (what pretraining uses) trains the model as given, everything at ``lr``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InvalidParameterError
from .models import ECGModel, create_model

__all__ = ["POLICIES", "PolicySetup", "apply_policy", "frozen_stage_count"]

POLICIES = ("scratch", "linear", "partial", "full")


@dataclass
class PolicySetup:
    """What :func:`apply_policy` decided: optimizer parameter groups (``params``, ``lr``) and
    the modules to keep in eval mode while training (frozen batch norms)."""

    param_groups: list[dict]
    frozen: list[nn.Module]


def frozen_stage_count(model: ECGModel, policy: str | None) -> int:
    """How many of ``model.stages()`` (stem first) the policy freezes."""
    stages = model.stages()
    if policy == "linear":
        return len(stages)
    if policy == "partial":
        return 1 + max(1, (len(stages) - 1) // 2)
    return 0


def _reinitialise(model: ECGModel, seed: int) -> None:
    """Weights of a freshly built model of the same family and config, drawn under ``seed``."""
    cfg = dict(model.config)
    name = model.name
    in_ch, n_out = cfg.pop("in_channels"), cfg.pop("n_outputs")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = create_model(name, in_ch, n_out, **cfg)
    model.load_state_dict(fresh.state_dict())


def apply_policy(
    model: nn.Module,
    policy: str | None,
    lr: float,
    *,
    backbone_lr_factor: float = 0.1,
    seed: int = 0,
) -> PolicySetup:
    """Set ``requires_grad`` on ``model`` per ``policy`` (module docstring) and return the
    optimizer's parameter groups and the frozen modules. ``scratch`` re-initialises the weights
    under ``seed`` (the same as ``create_model`` after ``torch.manual_seed(seed)``)."""
    if policy is not None and policy not in POLICIES:
        raise InvalidParameterError(f"policy must be one of {POLICIES} or None, got {policy!r}")
    if not isinstance(model, ECGModel):
        if policy is not None:
            raise InvalidParameterError(
                "transfer policies need an ecgfast.torch model (backbone stages + head)"
            )
        params = [p for p in model.parameters() if p.requires_grad]
        return PolicySetup([{"params": params, "lr": lr}], [])
    if policy == "scratch":
        _reinitialise(model, seed)
    for p in model.parameters():
        p.requires_grad_(True)
    stages = model.stages()
    frozen = stages[: frozen_stage_count(model, policy)]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    factor = backbone_lr_factor if policy in ("full", "partial") else 1.0
    head = [p for p in model.head.parameters()]
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    groups = [{"params": head, "lr": lr}]
    if backbone:
        groups.append({"params": backbone, "lr": lr * factor})
    return PolicySetup(groups, list(frozen))
