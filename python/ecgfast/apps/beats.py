"""Inter-patient beat classification (AAMI N, S, V, F), with a protocol whose figures can be
believed: every choice (early stopping, the best epoch, decision offsets) is made on patients
inside the training records, every reported figure on patients no choice saw.

With ``pretrain_records > 0`` a model of the same architecture is first trained on labelled
synthetic beats (:func:`ecgfast.beatdata.synthetic_beats`: sinus, atrial fibrillation, bundle-
branch blocks, premature atrial and ventricular beats, fusion; the same input pipeline as the
real beats), and every fold is trained twice, from scratch and from the pretrained weights,
on the same patients, splits and seeds: the comparison is paired.

- ``test_records`` given (e.g. DS1 -> DS2, de Chazal et al. 2004): per seed, the training
  patients are split (stratified by class) into fitting and early-stopping patients, and the
  test patients are scored once.
- no ``test_records``: patient-wise k-fold cross-validation inside ``train_records``; in each
  fold the other folds' patients are split again for early stopping; the held-out fold is
  scored. Predictions of all folds are pooled (every beat predicted by a model that never saw
  its patient) and the per-fold figures are reported as mean ± sd.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..beatdata import BEAT_FEATURES, PRETRAIN_MIXES, TEMPLATE_FEATURES, patient_of
from ..errors import InvalidParameterError
from ..evaluate import (
    MORPHOLOGY_GATE_INPUTS,
    RHYTHM_GATE,
    apply_offsets,
    beat_classification,
    decision_offsets,
    morphology_gate,
    rhythm_gate,
)
from ._stats import mean_ci

CLASSES = ("N", "S", "V", "F")
#: What synthetic pretraining learns: the beat classes of the generator (``supervised``) or
#: the signals alone (``masked``: :class:`ecgfast.torch.MaskedReconstruction`, labels unused).
PRETRAIN_OBJECTIVES = ("supervised", "masked")
#: Where pretraining data come from: ``synthetic`` beats (``pretrain_records`` records, one
#: pretraining for every fold) or, self-supervised only, the unlabelled beats of each fold's
#: training patients (``training``: every beat of theirs, whatever the label fraction, since
#: no label is read; the held-out patients are never seen).
PRETRAIN_DATA = ("synthetic", "training")


@dataclass
class BeatExperiment:
    """Settings of :func:`run_beat_experiment` (inputs, model, training).

    The defaults (class weights ∝ 1/√frequency, focal loss γ = 2, decision offsets fitted on
    the early-stopping patients, one model per fold, then refitted on every training patient
    for the epochs early stopping chose, no S beat inside a sustained irregular rhythm:
    ``rhythm_gate``, :func:`ecgfast.evaluate.rhythm_gate`; None turns it off) were chosen by
    5-fold patient-wise cross-validation inside MIT-BIH DS1 (BENCHMARKS.md lists what was
    tried; the gate's threshold was set from the rhythm, not fitted); DS2 was never used for
    any choice.

    ``boosted``: also train a ``boosted`` arm from scratch, gradient-boosted trees on the same
    inputs (:class:`ecgfast.boosted.BoostedBeatModel`, needs scikit-learn) with the same
    protocol (early-stopping patients choose the iteration count and the decision offsets, then
    a refit on every training patient).

    ``template``: the beat-minus-usual-beat channel: True (the record's median beat),
    ``"dominant"`` (the dominant beat around each beat, :func:`ecgfast.beatdata.read_beats`)
    or False.

    ``morphology_gate`` (on by default since 2026-12-04): no V beat where the beat's QRS
    shape is common in its record and it comes on time against the local rhythm, and (since
    2026-12-05) no S beat where its shape is not common
    (:func:`ecgfast.evaluate.morphology_gate`), applied to every arm's calibrated
    probabilities on the scored patients (to the combined arm's mean); the shape share is the
    largest over ``shape_leads`` (default MLII and the first precordial lead, whatever the
    models read; None: ``leads``; a record without one of them falls back to ``leads`` with a
    warning). On DS1 folds it raised macro-F1 by 0.010-0.032 per arm and V F1 by 0.05-0.11
    (BENCHMARKS.md, "Record 108 and the V target"; development figures, the rule was designed
    on these patients).

    ``min_refit_epochs``: the fewest epochs a refit trains for, whatever early stopping chose
    (it often chooses 1 or 2 on a handful of early-stopping patients).

    ``offsets_after_gates``: fit the decision offsets on the early-stopping patients'
    probabilities after the morphology gate too (not only after the rhythm gate), and apply
    them after it: the offsets then correct the errors the gated classifier still makes
    instead of the V errors the gate removes anyway.

    ``combine`` (with at least two arms): also score a ``combined`` arm, the mean of every
    arm's calibrated probabilities (scratch, pretrained, boosted: those trained) on the same
    (fraction, seed, fold), i.e. an ensemble of the arms.

    ``zero_shot`` (with supervised synthetic pretraining): also score a ``zero-shot`` arm, the
    pretrained network as it is, its weights never trained on a real beat: the synthetic beats
    carry the real ones' AAMI classes, so its head already names them. Only its decision offsets
    come from labels: fitted on every training patient's labelled beats at the arm's fraction
    (it fits nothing else, so none of them is in sample). Not part of ``combine``'s mean.

    ``backbone_lr_factor``: the pretrained backbone's learning rate over the head's when
    fine-tuning (``policy`` full or partial). None (default): :func:`backbone_lr_factor_for`
    the label fraction, 0.1 with all labels and 1 at 10 % or fewer: fine-tuning on all labels
    takes ten times as many steps per epoch, and the backbone moving that much further from its
    pretraining cost macro-F1 (BENCHMARKS.md, "How fast the pretrained backbone learns")."""

    model: str = "resnet1d"
    width: int = 16
    leads: tuple[str, ...] = ("MLII",)
    fs: float | None = None
    window: tuple[float, float] = (0.25, 0.45)
    features: tuple[str, ...] = BEAT_FEATURES
    template: bool | str = True
    balance: str | None = "sqrt"
    focal_gamma: float = 2.0
    epochs: int = 8
    batch_size: int = 256
    lr: float = 3e-3
    patience: int = 4
    folds: int = 5
    val_fraction: float = 0.25
    seeds: tuple[int, ...] = (0,)
    beats: str = "annotations"
    ensemble: int = 1
    calibrate: bool = True
    rhythm_gate: float | None = RHYTHM_GATE
    morphology_gate: bool = True
    offsets_after_gates: bool = False
    shape_leads: tuple[str, ...] | None = ("MLII", "V")
    calibration_folds: int = 0
    refit: bool = True
    min_refit_epochs: int = 2
    pretrain_records: int = 0
    scratch: bool = True
    pretrain_epochs: int = 4
    pretrain_seed: int = 0
    pretrain_mix: str = "default"
    pretrain_objective: str = "supervised"
    pretrain_data: str = "synthetic"
    synthetic_share: float = 0.0
    policy: str = "full"
    backbone_lr_factor: float | None = None
    fractions: tuple[float, ...] = (1.0,)
    combine: bool = False
    boosted: bool = False
    zero_shot: bool = False


#: Label fraction at and below which the pretrained backbone learns at the head's rate.
BACKBONE_FULL_RATE_FRACTION = 0.1


def backbone_lr_factor_for(fraction: float) -> float:
    """The default backbone learning-rate factor when fine-tuning on ``fraction`` of the
    labels: ``min(1, 0.1 / fraction)``, i.e. 1 at 10 % or fewer and 0.1 with all labels, so
    that the backbone's steps per epoch times its rate stay those of the 10 % budget.

    Measured on MIT-BIH DS1 5-fold patient CV (BENCHMARKS.md): at 100 % labels 0.1 against 1
    gave +0.019 [+0.002, +0.036] macro-F1 per fold for the pretrained network (45 pairs, seeds
    0-8) and +0.025 [+0.011, +0.038] for its average with the scratch network; at 10 % it gave
    −0.012 [−0.042, +0.018] (30 pairs)."""
    if not fraction > 0:
        raise InvalidParameterError(f"fraction must be > 0, got {fraction!r}")
    return min(1.0, BACKBONE_FULL_RATE_FRACTION / fraction)


def _fine_tuning(cfg: BeatExperiment, inits: dict[str, Any]) -> dict[str, Any] | None:
    """How the pretrained arm was fine-tuned: the policy and, per label fraction, the backbone
    learning-rate factor in effect (None without a pretrained arm)."""
    if "pretrained" not in inits:
        return None
    factors = {f"{f:g}": _backbone_factor(cfg, f) for f in cfg.fractions}
    return {"policy": cfg.policy, "backbone_lr_factor": factors}


def _backbone_factor(cfg: BeatExperiment, fraction: float) -> float:
    """The backbone learning-rate factor in effect at ``fraction`` of the labels: the one
    given, or :func:`backbone_lr_factor_for` the fraction."""
    if cfg.backbone_lr_factor is not None:
        return cfg.backbone_lr_factor
    return backbone_lr_factor_for(fraction)


def patient_folds(counts: dict[str, np.ndarray], k: int) -> dict[str, int]:
    """Patient -> fold, spreading the carriers of each rare class over the folds: patients
    sorted by their F, then S, then V beats (most first) and dealt out in a snake order."""
    if k < 2 or k > len(counts):
        raise InvalidParameterError(f"folds must be in 2..{len(counts)} (patients), got {k}")
    order = sorted(counts, key=lambda p: (-counts[p][3], -counts[p][1], -counts[p][2], p))
    out = {}
    for i, p in enumerate(order):
        j = i % (2 * k)
        out[p] = j if j < k else 2 * k - 1 - j
    return out


def _patient_counts(counts: Any, records: Sequence[str]) -> dict[str, np.ndarray]:
    """Patient -> class counts summed over that patient's ``records`` (``counts``: one row
    per record), the input of :func:`patient_folds`."""
    return {
        p: counts.loc[[r for r in records if patient_of(r) == p]].sum().to_numpy()
        for p in {patient_of(r) for r in records}
    }


def _new_model(cfg: BeatExperiment, in_channels: int, seed: int) -> Any:
    import torch

    from ..torch import create_model

    torch.manual_seed(seed)
    opts = {"width": cfg.width} if cfg.model == "resnet1d" else {}
    return create_model(
        cfg.model, in_channels, len(CLASSES), extra_features=len(cfg.features), **opts
    )


def _train(model: Any, tr: Any, va: Any, cfg: BeatExperiment, seed: int, **fit_options: Any):
    """``fit`` with the experiment's loss (class weights by ``balance``, focal ``gamma``)."""
    from ..torch import fit
    from ..torch.finetune import class_weights
    from ..torch.tasks import Task

    weights = class_weights(tr.labels, len(CLASSES), cfg.balance)
    task = Task.classification(CLASSES, weights=weights.tolist(), focal_gamma=cfg.focal_gamma)
    training = {k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr", "patience")}
    return fit(model, tr, va, task, seed=seed, progress=False, **{**training, **fit_options})


@dataclass(frozen=True)
class _Arm:
    """One arm of the comparison: how models start (``state``: pretrained weights or None for
    scratch), the labelled fraction of the training beats they see and the synthetic beats
    joined to them (``synthetic``, with ``synthetic_share``; None: real beats only)."""

    init: str = "scratch"
    state: Any = None
    fraction: float = 1.0
    synthetic: Any = None
    label_seed: int | None = None
    inputs: Any = None  # the beats this arm reads, if not the experiment's (boosted)

    @property
    def tag(self) -> dict[str, Any]:
        return {
            "arm": f"{self.init} {self.fraction:.0%}",
            "init": self.init,
            "fraction": self.fraction,
        }


def _label_seed(arm: _Arm, seed: int) -> int:
    """The seed that draws the arm's labelled beats: the run's seed, shared by the members of
    an ensemble (``arm.label_seed``), else the model's own ``seed``."""
    return seed if arm.label_seed is None else arm.label_seed


def _training_beats(
    beats: Any, records: list[str], cfg: BeatExperiment, seed: int, arm: _Arm
) -> Any:
    """The training beats of ``records`` at the arm's label fraction, joined by
    ``cfg.synthetic_share`` × as many synthetic beats (drawn without replacement by ``seed``)
    when the arm trains with synthetic beats."""
    real = beats.subset(records, fraction=arm.fraction, seed=_label_seed(arm, seed))
    if arm.synthetic is None:  # set only when cfg.synthetic_share > 0
        return real
    synthetic = arm.synthetic
    n = min(len(synthetic), round(cfg.synthetic_share * len(real)))
    pick = np.sort(np.random.default_rng([seed, 7]).choice(len(synthetic), n, replace=False))
    out = copy.copy(real)
    out.x = np.concatenate([real.x, synthetic.x[pick]])
    if real.features is not None:
        out.features = np.concatenate([real.features, synthetic.features[pick]])
    meta = synthetic.meta.iloc[pick].assign(record="synthetic")
    out.meta = pd.concat([real.meta, meta], ignore_index=True)
    out.labels = np.concatenate([real.labels, synthetic.labels[pick]])
    out.y = out.labels
    return out


def _start(
    cfg: BeatExperiment, in_channels: int, seed: int, arm: _Arm, inner: list[str]
) -> tuple[Any, dict]:
    """A new model seeded by ``seed``, loaded with the pretrained ``arm.state`` if any (a
    callable ``state(inner)`` gives the weights pretrained on the training records ``inner``),
    and the fine-tuning options of :func:`_train` that go with it (none from scratch)."""
    model = _new_model(cfg, in_channels, seed)
    if arm.state is None:
        return model, {}
    model.load_state_dict(arm.state(inner) if callable(arm.state) else arm.state)
    return model, {"policy": cfg.policy, "backbone_lr_factor": _backbone_factor(cfg, arm.fraction)}


def _refit(
    beats: Any, inner: list[str], cfg: BeatExperiment, seed: int, arm: _Arm, epochs: int, va: Any
) -> Any:
    """The same start trained on every patient of ``inner`` for ``epochs`` epochs chosen by
    early stopping (at least ``cfg.min_refit_epochs``), keeping the last epoch's weights (``va``
    only logs the epochs: it is in sample now)."""
    full = _training_beats(beats, inner, cfg, seed, arm)
    model, options = _start(cfg, full.x.shape[1], seed, arm, inner)
    epochs = max(cfg.min_refit_epochs, epochs)
    _train(model, full, va, cfg, seed, epochs=epochs, patience=epochs, keep="last", **options)
    return model


def _gated(cfg: BeatExperiment, beats: Any, prob: np.ndarray) -> np.ndarray:
    """``prob`` of ``beats`` with S ruled out inside atrial fibrillation (irregularly
    irregular, without P waves: :func:`ecgfast.evaluate.rhythm_gate`) when
    ``cfg.rhythm_gate`` is set."""
    if cfg.rhythm_gate is None:
        return prob
    meta = beats.meta
    return rhythm_gate(
        prob,
        meta["rhythm_irregularity"].to_numpy(dtype=np.float64),
        meta["p_local"].to_numpy(dtype=np.float64),
        CLASSES,
        threshold=cfg.rhythm_gate,
    )


def _calibration_gated(cfg: BeatExperiment, beats: Any, prob: np.ndarray) -> np.ndarray:
    """Probabilities as the decision offsets see them, when fitted (early-stopping patients)
    and when applied (scored patients): through the rhythm gate, and the morphology gate too
    with ``cfg.offsets_after_gates``."""
    prob = _gated(cfg, beats, prob)
    return _morphology_gated(cfg, beats, prob) if cfg.offsets_after_gates else prob


def _morphology_gated(cfg: BeatExperiment, beats: Any, prob: np.ndarray) -> np.ndarray:
    """``prob`` of ``beats`` with V ruled out for common, on-time beats
    (:func:`ecgfast.evaluate.morphology_gate`) when ``cfg.morphology_gate`` is set."""
    if not cfg.morphology_gate:
        return prob
    share, local = (beats.meta[c].to_numpy(dtype=np.float64) for c in MORPHOLOGY_GATE_INPUTS)
    return morphology_gate(prob, share, local, CLASSES)


def _fit_member(
    beats: Any, inner: list[str], counts: Any, cfg: BeatExperiment, seed: int, arm: _Arm
):
    """One model: ``inner`` split into fitting and early-stopping patients (by ``seed``), a
    class-stratified ``arm.fraction`` of each one's beats kept (the labelled budget), trained
    from scratch or from the pretrained ``arm.state`` (with ``cfg.policy``); returns the model,
    the early-stopping patients' records, labels and probabilities (out of sample for this
    model), and the best epoch. With ``cfg.refit`` the returned model is trained again on all
    of ``inner`` for the best epoch count (the early-stopping probabilities stay those of the
    first model, which never saw those patients)."""
    from ..torch import predict
    from ..torch.real import patient_split
    from ..torch.tasks import Task

    if arm.init == "zero-shot":  # trains nothing: every training patient's labels calibrate
        labelled = beats.subset(inner, fraction=arm.fraction, seed=_label_seed(arm, seed))
        model, _ = _start(cfg, labelled.x.shape[1], seed, arm, inner)
        prob = predict(model, labelled, Task.classification(CLASSES))[1]
        return model, list(inner), labelled.labels, _calibration_gated(cfg, labelled, prob), 0
    fit_recs, val_recs = patient_split(
        inner, cfg.val_fraction, seed=seed, class_counts=counts.loc[inner]
    )
    tr = _training_beats(beats, fit_recs, cfg, seed, arm)
    va = beats.subset(val_recs, fraction=arm.fraction, seed=_label_seed(arm, seed))
    if arm.init == "boosted":
        return _fit_boosted(beats, inner, cfg, seed, arm, (tr, va, val_recs))
    model, options = _start(cfg, tr.x.shape[1], seed, arm, inner)
    result = _train(model, tr, va, cfg, seed, **options)
    val_prob = _calibration_gated(cfg, va, predict(model, va, Task.classification(CLASSES))[1])
    if cfg.refit:
        model = _refit(beats, inner, cfg, seed, arm, result.best_epoch, va)
    return model, val_recs, va.labels, val_prob, result.best_epoch


def _fit_boosted(
    beats: Any, inner: list[str], cfg: BeatExperiment, seed: int, arm: _Arm, split: tuple
):
    """:func:`_fit_member` for the ``boosted`` arm: gradient-boosted trees
    (:class:`ecgfast.boosted.BoostedBeatModel`) fitted on the fitting patients' beats ``tr``
    with early stopping on the early-stopping patients' ``va`` (``split = (tr, va,
    val_recs)``), whose gated probabilities fix the decision offsets; with ``cfg.refit``
    fitted again on every patient of ``inner`` for the iteration count early stopping ran."""
    from ..boosted import BoostedBeatModel

    tr, va, val_recs = split
    model = BoostedBeatModel(seed=seed).fit(tr, va)
    val_prob = _calibration_gated(cfg, va, _member_proba(model, va))
    if cfg.refit:
        full = _training_beats(beats, inner, cfg, seed, arm)
        model = BoostedBeatModel(seed=seed).fit(full, n_iter=model.n_iter)
    return model, val_recs, va.labels, val_prob, model.n_iter


def _member_proba(model: Any, beats: Any) -> np.ndarray:
    """Class probabilities of one member (a network or a
    :class:`ecgfast.boosted.BoostedBeatModel`) on ``beats``."""
    from ..boosted import BoostedBeatModel

    if isinstance(model, BoostedBeatModel):
        return np.asarray(model.predict_proba(beats))
    from ..torch import predict
    from ..torch.tasks import Task

    return np.asarray(predict(model, beats, Task.classification(CLASSES))[1])


def _fit_crossfit(
    beats: Any, inner: list[str], counts: Any, cfg: BeatExperiment, seed: int, arm: _Arm
):
    """Like :func:`_fit_member`, with every training patient out of sample once: ``inner``'s
    patients dealt into ``cfg.calibration_folds`` groups (:func:`patient_folds`, so each rare
    class spreads over them), one early-stopped model per group trained on the others. Their
    predictions on their own group cover every training patient (for the decision offsets);
    the returned model is trained again on all of ``inner`` for the median best epoch count
    (at least 2), or, without ``cfg.refit``, is the list of the group models (their
    probabilities are averaged)."""
    from ..torch import predict
    from ..torch.tasks import Task

    patients = _patient_counts(counts, inner)
    if cfg.calibration_folds > len(patients):
        raise InvalidParameterError(
            f"calibration_folds={cfg.calibration_folds} exceeds the {len(patients)} training "
            "patients of a fold"
        )
    group_of = patient_folds(patients, cfg.calibration_folds)
    models, val_y, val_p, best = [], [], [], []
    for g in range(cfg.calibration_folds):
        fit_recs = [r for r in inner if group_of[patient_of(r)] != g]
        val_recs = [r for r in inner if group_of[patient_of(r)] == g]
        tr = _training_beats(beats, fit_recs, cfg, seed, arm)
        va = beats.subset(val_recs, fraction=arm.fraction, seed=_label_seed(arm, seed))
        model, options = _start(cfg, tr.x.shape[1], seed + 1000 * g, arm, inner)
        result = _train(model, tr, va, cfg, seed + 1000 * g, **options)
        val_y.append(va.labels)
        val_p.append(
            _calibration_gated(cfg, va, predict(model, va, Task.classification(CLASSES))[1])
        )
        best.append(result.best_epoch)
        models.append(model)
    if cfg.refit:
        # the last group's patients only log the epochs
        models = [_refit(beats, inner, cfg, seed, arm, round(float(np.median(best))), va)]
    return models, list(inner), np.concatenate(val_y), np.concatenate(val_p), best


def synthetic_beat_sets(cfg: BeatExperiment, fs: float, say: Any = print) -> tuple[Any, Any]:
    """The synthetic beats of the experiment's pretraining: ``cfg.pretrain_records`` records of
    the ``cfg.pretrain_mix`` for training and a tenth as many after them for early stopping,
    through the real beats' input pipeline (window, rate, features, template channel, record
    normalisation)."""
    from ..beatdata import synthetic_beats
    from ..torch.real import MITBIHBeats

    if len(cfg.leads) != 1:
        raise InvalidParameterError("synthetic pretraining makes one lead; use leads=('MLII',)")
    n_val = max(1, cfg.pretrain_records // 10)
    options: dict[str, Any] = {"window": cfg.window, "band": (0.5, 40.0), "template": cfg.template}
    sets = []
    for n, first in ((cfg.pretrain_records, 0), (n_val, cfg.pretrain_records)):
        got = synthetic_beats(
            n,
            seed=cfg.pretrain_seed,
            start=first,
            fs=fs,
            lead="II",
            classes=CLASSES,
            features=cfg.features,
            progress=say is not None,
            **options,
            **PRETRAIN_MIXES[cfg.pretrain_mix],
        )
        sets.append(MITBIHBeats.from_beatset(got, normalize="record", **options))
    return sets[0], sets[1]


def pretrain_on_synthetic_beats(
    cfg: BeatExperiment, fs: float, say: Any = print, sets: tuple[Any, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train the experiment's model on synthetic beats (:func:`synthetic_beat_sets`, or
    ``sets`` already built by it; same window, rate, features and template channel as the real
    beats; 10 % of the synthetic records for early stopping): on their classes with the
    experiment's loss (``pretrain_objective="supervised"``) or, with ``"masked"``, to
    reconstruct hidden spans of the signal (labels unused; the head is left as built).
    Returns the weights and a summary (beats per class, best epoch, synthetic validation
    metrics)."""
    tr, va = sets if sets is not None else synthetic_beat_sets(cfg, fs, say)
    counts = dict(zip(CLASSES, np.bincount(tr.labels, minlength=4).tolist(), strict=True))
    say(
        f"pretraining ({cfg.pretrain_objective}) on {len(tr):,} synthetic beats of "
        f"{cfg.pretrain_records} records: {counts}"
    )
    model = _new_model(cfg, tr.x.shape[1], cfg.pretrain_seed)
    summary: dict[str, Any] = {
        "records": cfg.pretrain_records,
        "objective": cfg.pretrain_objective,
        "beats": counts,
    }
    if cfg.pretrain_objective == "masked":
        result = _fit_masked(model, tr, va, cfg)
        summary["val_masked_r2"] = float(result.metrics.get("masked_r2", math.nan))
        say(f"synthetic validation masked-reconstruction R² {summary['val_masked_r2']:.3f}")
    else:
        result = _train(model, tr, va, cfg, cfg.pretrain_seed, epochs=cfg.pretrain_epochs)
        summary["val_macro_f1"] = float(result.metrics.get("macro_f1", math.nan))
        say(f"synthetic validation macro-F1 {summary['val_macro_f1']:.3f}")
    summary.update(best_epoch=result.best_epoch, history=result.history)
    return _weights(model), summary


def _weights(model: Any) -> dict[str, Any]:
    """A detached copy of ``model``'s weights (the state an arm starts from)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fit_masked(model: Any, tr: Any, va: Any, cfg: BeatExperiment) -> Any:
    """Self-supervised pretraining of ``model``'s backbone (masked reconstruction) on the
    signals of ``tr``, early-stopped on ``va``; returns the ``FitResult``."""
    from ..torch import fit
    from ..torch.selfsupervised import (
        MaskedReconstruction,
        SignalTargets,
        masked_reconstruction_task,
    )

    objective = MaskedReconstruction(model, length=tr.x.shape[-1])
    training = {k: getattr(cfg, k) for k in ("batch_size", "lr", "patience")}
    return fit(
        objective,
        SignalTargets(tr),
        SignalTargets(va),
        masked_reconstruction_task(),
        seed=cfg.pretrain_seed,
        progress=False,
        epochs=cfg.pretrain_epochs,
        **training,
    )


class _TrainingPatientsPretraining:
    """``pretrain_data="training"``: weights pretrained by masked reconstruction on the
    unlabelled beats of one fold's training records, computed once per fold (shared by every
    seed and label fraction) and called as ``state(inner)``; ``summaries`` lists the folds'."""

    def __init__(self, beats: Any, cfg: BeatExperiment, say: Any):
        self.beats, self.cfg, self.say = beats, cfg, say
        self.cache: dict[tuple[str, ...], dict[str, Any]] = {}
        self.summaries: list[dict[str, Any]] = []

    def __call__(self, inner: list[str]) -> dict[str, Any]:
        from ..torch.real import patient_split

        key = tuple(sorted(inner))
        if key not in self.cache:
            cfg = self.cfg
            fit_recs, val_recs = patient_split(key, cfg.val_fraction, seed=cfg.pretrain_seed)
            tr, va = self.beats.subset(fit_recs), self.beats.subset(val_recs)
            model = _new_model(cfg, tr.x.shape[1], cfg.pretrain_seed)
            result = _fit_masked(model, tr, va, cfg)
            r2 = float(result.metrics.get("masked_r2", math.nan))
            self.say(
                f"masked pretraining on {len(tr):,} unlabelled beats of {len(fit_recs)} training "
                f"records: validation R² {r2:.3f}"
            )
            self.summaries.append(
                {
                    "records": list(key),
                    "beats": len(tr),
                    "val_records": val_recs,
                    "best_epoch": result.best_epoch,
                    "val_masked_r2": r2,
                    "history": result.history,
                }
            )
            self.cache[key] = _weights(model)
        return self.cache[key]


def _fit_and_predict(
    beats: Any,
    where: tuple[list[str], list[str]],
    counts: Any,
    cfg: BeatExperiment,
    seed: int,
    arm: _Arm,
) -> tuple[Any, np.ndarray, dict[str, Any]]:
    """``cfg.ensemble`` models on the training records of ``where = (inner, held_out)``
    (each with its own early-stopping patients, or cross-fitted over ``cfg.calibration_folds``
    patient groups) and their mean calibrated probabilities on ``held_out``: each member's
    probabilities go through the rhythm gate and are shifted by the decision offsets fitted on
    that member's early-stopping patients (out of sample for it) when ``cfg.calibrate``, then
    averaged. The members share the arm's labelled beats (drawn by ``seed``): an ensemble
    spends no more labels than one model."""
    inner, held_out = where
    beats = beats if arm.inputs is None else arm.inputs
    te = beats.subset(held_out)
    labelled = replace(arm, label_seed=seed)
    prob = np.zeros((len(te), len(CLASSES)))
    info: dict[str, Any] = {"val_records": [], "best_epoch": [], "offsets": []}
    members: list[tuple[Any, np.ndarray]] = []
    info["_members"] = members  # (model, offsets): taken out before the report
    for j in range(cfg.ensemble):
        member = seed * cfg.ensemble + j
        if cfg.calibration_folds and arm.init != "zero-shot":
            models, val_recs, vy, vp, best = _fit_crossfit(
                beats, inner, counts, cfg, member, labelled
            )
        else:
            model, val_recs, vy, vp, best = _fit_member(beats, inner, counts, cfg, member, labelled)
            models = [model]
        raw = _calibration_gated(cfg, te, np.mean([_member_proba(m, te) for m in models], axis=0))
        offsets = np.zeros(len(CLASSES))
        if cfg.calibrate:
            offsets = decision_offsets(vy, vp, CLASSES)
        prob += apply_offsets(raw, offsets) / cfg.ensemble
        members.extend((m, offsets) for m in models)
        info["val_records"].append(val_recs)
        info["best_epoch"].append(best)
        info["offsets"].append(offsets.tolist())
    # before the final morphology gate (which the combined arm applies to its mean): idem
    info["_ungated"] = prob
    return te, _morphology_gated(cfg, te, prob), info


def _plan(
    counts: Any, train_records: list[str], test_records: list[str], folds: int
) -> list[tuple[int | None, list[str], list[str]]]:
    """(fold or None, training records, scored records) of each model to fit: one train/test
    pair, or one per patient fold of the training records."""
    if test_records:
        return [(None, train_records, test_records)]
    fold_of = patient_folds(_patient_counts(counts, train_records), folds)
    return [
        (
            k,
            [r for r in train_records if fold_of[patient_of(r)] != k],
            [r for r in train_records if fold_of[patient_of(r)] == k],
        )
        for k in range(folds)
    ]


def _summary(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0}
    return {
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "n": int(v.size),
    }


def run_beat_experiment(
    root: str | Path,
    train_records: Sequence[str],
    test_records: Sequence[str] | None = None,
    *,
    config: BeatExperiment | None = None,
    out: str | Path | None = None,
    say: Any = print,
    allow_shared_patients: bool = False,
    save_models: bool = False,
) -> dict[str, Any]:
    """Train (from scratch, and from synthetic pretraining when ``pretrain_records``) and
    score on held-out patients (see the module docstring).

    ``allow_shared_patients`` lets a patient be on both sides (only to reproduce a published
    split that does so), reported in ``shared_patients``.

    ``save_models`` (with ``test_records`` and ``out``): write each arm and seed's classifier
    to ``out/models/<init>_f<fraction>_seed<seed>.pt`` (:class:`ecgfast.torch.BeatClassifier`:
    the members, their decision offsets, the rhythm gate and the input pipeline), ready for
    new recordings. Cross-validation fold models are not saved (they are not the model a user
    would deploy).

    Returns the report (also written to ``out/beats.json`` and ``out/beats.md``): per
    initialisation and seed the pooled :func:`ecgfast.evaluate.beat_classification` figures
    (``runs``), per fold (CV) the fold's (``folds``), ``summary`` with mean ± sd of macro-F1,
    S/V/F F1 and jκ per initialisation, ``paired`` (pretrained - scratch on the same folds and
    seeds: mean, sd, 95 % interval), ``pretraining`` and ``predictions``, a DataFrame with one
    row per scored beat, initialisation and seed (record, sample, symbol, label, predicted,
    class probabilities; ``out/beats_predictions.csv``)."""
    from tqdm.auto import tqdm

    cfg = _checked(config or BeatExperiment())
    _check_saving(save_models, out, test_records, cfg)
    quiet = say is None
    say = say or (lambda *_: None)
    train_records = [str(r) for r in train_records]
    test_records = [str(r) for r in (test_records or [])]
    overlap = {patient_of(r) for r in train_records} & {patient_of(r) for r in test_records}
    if overlap and not allow_shared_patients:
        raise InvalidParameterError(
            f"patients {sorted(overlap)} are in both train and test (de Chazal's DS1/DS2 split "
            "has 201 in DS1 and 202, the same man, in DS2: pass allow_shared_patients=True, "
            "--allow-shared-patients, to reproduce it as published)"
        )
    if overlap:
        warnings.warn(f"patients {sorted(overlap)} are on both sides", stacklevel=2)
    beats, boosted_inputs = _read_beats(root, train_records + test_records, cfg)
    say(f"{len(beats)} beats of {beats.meta['record'].nunique()} records: {beats.class_counts()}")
    counts = beats.record_class_counts()
    have = set(counts.index)
    train_records = [r for r in train_records if r in have]
    test_records = [r for r in test_records if r in have]
    plan = _plan(counts, train_records, test_records, cfg.folds)
    inits, pretraining, synthetic = _initialisations(beats, cfg, say)
    if boosted_inputs is not None:
        inits["boosted"] = boosted_inputs
    n_models = len(inits) * len(cfg.fractions) * len(plan) * len(cfg.seeds)
    bar = tqdm(total=n_models, desc="beat classification", disable=quiet)
    models_dir = Path(out) / "models" if save_models and out is not None else None
    runs, folds_out, predictions = _train_and_score(
        beats, counts, plan, inits, cfg, bar, synthetic, models_dir
    )
    bar.close()
    report = {
        "ecgfast_version": __version__,
        "protocol": "train/test" if test_records else f"{cfg.folds}-fold patient CV",
        "train_records": train_records,
        "test_records": test_records,
        "shared_patients": sorted(overlap),
        "config": asdict(cfg),
        "class_counts": beats.class_counts(),
        "skipped": beats.skipped,
        "pretraining": pretraining,
        "fine_tuning": _fine_tuning(cfg, inits),
        "runs": runs,
        "folds": folds_out,
        "summary": {
            arm: _report_summary(
                [r for r in runs if r["arm"] == arm],
                [f for f in folds_out if f["arm"] == arm],
                bool(test_records),
            )
            for arm in dict.fromkeys(r["arm"] for r in runs)
        },
        **{
            key: (
                _paired(folds_out, runs, bool(test_records), init)
                if "scratch" in inits and (init in inits or (init == "combined" and cfg.combine))
                else None
            )
            for key, init in PAIRED_REPORTS.items()
        },
    }
    table = pd.concat(predictions, ignore_index=True)
    if out is not None:
        _write_report(Path(out), report, table)
    report["predictions"] = table
    return report


def _read_beats(root: Any, records: list[str], cfg: BeatExperiment) -> tuple[Any, Any]:
    """The beats of ``records`` with ``cfg``'s inputs, read once: the networks' dataset and,
    with ``cfg.boosted``, the boosted arm's (the same beats, plus :data:`BOOSTED_FEATURES`)."""
    from ..torch.real import MITBIHBeats

    inputs = {
        k: getattr(cfg, k)
        for k in ("window", "fs", "leads", "features", "template", "beats", "shape_leads")
    }
    extra = tuple(f for f in BOOSTED_FEATURES if f not in cfg.features) if cfg.boosted else ()
    inputs["features"] = (*cfg.features, *extra)
    beats = MITBIHBeats(root, records, classes=CLASSES, **inputs)
    boosted = beats if cfg.boosted else None
    if extra:  # the networks read cfg.features only
        beats = beats.with_features(cfg.features)
    return beats, boosted


def _check_saving(save_models: bool, out: Any, test_records: Any, cfg: BeatExperiment) -> None:
    """``save_models`` needs a train/test split, an output folder and no cross-fitting."""
    if save_models and (out is None or not test_records):
        raise InvalidParameterError(
            "save_models needs test_records (train/test, one model per arm and seed) and out"
        )
    if save_models and cfg.calibration_folds:
        raise InvalidParameterError("save_models does not save cross-fitted models")


def _write_report(out: Path, report: dict[str, Any], table: pd.DataFrame) -> None:
    """beats.json, beats_predictions.csv, beats.md and the plots in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "beats.json").write_text(json.dumps(report, indent=1, default=float))
    table.to_csv(out / "beats_predictions.csv", index=False, float_format="%.5f")
    (out / "beats.md").write_text(markdown(report))
    _plot_confusion(report, out / "beats_confusion.png")
    _plot_arms(report, out / "beats_arms.png")


def _initialisations(beats: Any, cfg: BeatExperiment, say: Any) -> tuple[dict, Any, Any]:
    """How the arms start: ``{"scratch": None}`` (unless ``cfg.scratch`` is off) and, with
    pretraining, ``"pretrained"``: the weights from synthetic beats, or a per-fold callable
    (:class:`_TrainingPatientsPretraining`). Also returns the pretraining summary and the
    synthetic beats joined to the pretrained arm's training beats (``cfg.synthetic_share``)."""
    inits: dict[str, Any] = {"scratch": None} if cfg.scratch else {}
    pretraining: Any = None
    synthetic = None
    if cfg.pretrain_data == "training":
        per_fold = _TrainingPatientsPretraining(beats, cfg, say)
        inits["pretrained"] = per_fold
        pretraining = {"data": "training", "objective": "masked", "folds": per_fold.summaries}
    elif cfg.pretrain_records:
        sets = synthetic_beat_sets(cfg, beats.fs, say)
        inits["pretrained"], pretraining = pretrain_on_synthetic_beats(cfg, beats.fs, say, sets)
        if cfg.zero_shot:
            inits["zero-shot"] = inits["pretrained"]
        if cfg.synthetic_share > 0:
            synthetic = sets[0]
    return inits, pretraining, synthetic


def _train_and_score(
    beats: Any,
    counts: Any,
    plan: list,
    inits: dict[str, Any],
    cfg: BeatExperiment,
    bar: Any,
    synthetic: Any = None,
    save_models: Path | None = None,
) -> tuple[list[dict], list[dict], list[Any]]:
    """Every (initialisation, seed, fold): train, predict the held-out patients, score (the
    pretrained arms with the ``synthetic`` beats joined to their training beats, if given).
    With ``save_models`` (train/test only) each arm and seed's classifier is written there
    (:func:`_save_classifier`). Returns the pooled runs, the per-fold figures and the per-beat
    predictions."""
    runs: list[dict] = []
    folds_out: list[dict] = []
    predictions: list[Any] = []
    arms = [
        _Arm(init, None, f, inputs=state)
        if init == "boosted"
        else _Arm(init, state, f, synthetic if init == "pretrained" else None)
        for f in cfg.fractions
        for init, state in inits.items()
    ]
    kept: dict[tuple, dict[str, tuple]] = {}  # (fraction, seed, fold) -> init -> results
    # saved classifiers read the trees' pipeline when there are trees (its features include
    # the networks'), so that one pipeline makes the inputs of every member of a combination
    pipeline = inits.get("boosted", beats)
    for arm in arms:
        for seed in cfg.seeds:
            scored = []
            for k, inner, held_out in plan:
                te, p, info = _fit_and_predict(beats, (inner, held_out), counts, cfg, seed, arm)
                members, ungated = info.pop("_members"), info.pop("_ungated")
                if save_models is not None:
                    _save_classifier(save_models, pipeline, cfg, arm, seed, inner, members)
                if cfg.combine and arm.init != "zero-shot":
                    kept.setdefault((arm.fraction, seed, k), {})[arm.init] = (te, ungated, members)
                scored.append((k, held_out, te, p, info))
                bar.update()
            _score(arm, seed, scored, runs, folds_out, predictions)
    if cfg.combine:
        _combined_arm(kept, plan, cfg, pipeline, save_models, runs, folds_out, predictions)
    return runs, folds_out, predictions


def _score(
    arm: _Arm,
    seed: int,
    scored: list[tuple[int | None, list[str], Any, np.ndarray, dict[str, Any]]],
    runs: list[dict],
    folds_out: list[dict],
    predictions: list[Any],
) -> None:
    """Score one arm and seed from its ``(fold, held-out records, test beats, probabilities,
    info)`` per fold: the per-beat predictions and per-fold figures, then the pooled run."""
    tag = arm.tag
    for k, held_out, te, p, info in scored:
        predictions.append(_predictions(te, p, seed, k).assign(**tag))
        m = beat_classification(te.labels, p, CLASSES)
        folds_out.append({**tag, "seed": seed, "fold": k, "test_records": held_out, **info, **m})
    truth = np.concatenate([te.labels for _, _, te, _, _ in scored])
    probs = np.concatenate([p for _, _, _, p, _ in scored])
    runs.append({**tag, "seed": seed, **beat_classification(truth, probs, CLASSES)})


def _combined_arm(
    kept: dict[tuple, dict[str, tuple]],
    plan: list,
    cfg: BeatExperiment,
    beats: Any,
    save_models: Path | None,
    runs: list[dict],
    folds_out: list[dict],
    predictions: list[Any],
) -> None:
    """The ``combined`` arm (``cfg.combine``): per (fraction, seed, fold) the mean of every
    trained arm's calibrated probabilities (scratch, pretrained, boosted), through the
    morphology gate when ``cfg.morphology_gate`` is set (the gate of the mean, as
    :class:`ecgfast.torch.BeatClassifier` applies it to its members' mean), scored like the
    others (appended to ``runs``, ``folds_out``, ``predictions``; its classifier holds every
    arm's members)."""
    for fraction in cfg.fractions:
        arm = _Arm("combined", None, fraction)
        for seed in cfg.seeds:
            scored: list[tuple[int | None, list[str], Any, np.ndarray, dict[str, Any]]] = []
            for k, inner, held_out in plan:
                got = list(kept[(fraction, seed, k)].values())
                te = got[0][0]
                sizes = {len(members) for _, _, members in got}
                if save_models is not None and len(sizes) == 1:
                    # the mean over all members equals the mean of the arms' means
                    members = [m for _, _, ms in got for m in ms]
                    _save_classifier(save_models, beats, cfg, arm, seed, inner, members)
                mean = _morphology_gated(cfg, te, np.mean([p for _, p, _ in got], axis=0))
                scored.append((k, held_out, te, mean, {}))
            _score(arm, seed, scored, runs, folds_out, predictions)


def _save_classifier(
    where: Path,
    beats: Any,
    cfg: BeatExperiment,
    arm: _Arm,
    seed: int,
    train_records: list[str],
    members: list[tuple[Any, np.ndarray]],
) -> Path:
    """Write the members of one arm and seed as an :class:`ecgfast.torch.BeatClassifier`
    (``<init>_f<fraction>_seed<seed>.pt``): what :meth:`BeatClassifier.predict` needs to
    repeat the scored decision on new recordings. ``beats`` is the dataset whose pipeline
    makes every member's inputs (with ``cfg.boosted``, the trees' dataset: its features
    include the networks' ``cfg.features``); each member reads its own features."""
    from ..boosted import BoostedBeatModel
    from ..torch.classifier import BeatClassifier

    models = [m for m, _ in members]
    clf = BeatClassifier(
        models,
        beats.preprocessing,
        CLASSES,
        offsets=[o for _, o in members],
        rhythm_gate=cfg.rhythm_gate,
        morphology_gate=cfg.morphology_gate,
        offsets_after_gates=cfg.offsets_after_gates,
        info={
            "arm": arm.tag["arm"],
            "seed": seed,
            "train_records": train_records,
            "config": asdict(cfg),
        },
        member_features=[
            beats.feature_names if isinstance(m, BoostedBeatModel) else cfg.features for m in models
        ],
    )
    return clf.save(where / f"{arm.init}_f{arm.fraction:g}_seed{seed}.pt")


def _checked(cfg: BeatExperiment) -> BeatExperiment:
    from .._validate import check_int

    check_int(cfg.ensemble, name="ensemble", low=1, high=100)
    if cfg.calibration_folds:
        check_int(cfg.calibration_folds, name="calibration_folds", low=2, high=20)
    check_int(cfg.pretrain_records, name="pretrain_records", low=0, high=10**7)
    check_int(cfg.pretrain_epochs, name="pretrain_epochs", low=1, high=1000)
    check_int(cfg.min_refit_epochs, name="min_refit_epochs", low=1, high=1000)
    if cfg.pretrain_mix not in PRETRAIN_MIXES:
        raise InvalidParameterError(
            f"pretrain_mix must be one of {sorted(PRETRAIN_MIXES)}, got {cfg.pretrain_mix!r}"
        )
    if cfg.pretrain_objective not in PRETRAIN_OBJECTIVES:
        raise InvalidParameterError(
            f"pretrain_objective must be one of {PRETRAIN_OBJECTIVES}, got "
            f"{cfg.pretrain_objective!r}"
        )
    if cfg.pretrain_data not in PRETRAIN_DATA:
        raise InvalidParameterError(
            f"pretrain_data must be one of {PRETRAIN_DATA}, got {cfg.pretrain_data!r}"
        )
    if not 0 <= cfg.synthetic_share <= 10:
        raise InvalidParameterError(
            f"synthetic_share must be in [0, 10] (synthetic beats per real training beat), got "
            f"{cfg.synthetic_share}"
        )
    if cfg.synthetic_share > 0 and (not cfg.pretrain_records or cfg.pretrain_data != "synthetic"):
        raise InvalidParameterError(
            "synthetic_share joins the synthetic pretraining beats to the pretrained arm's "
            "training beats: it needs pretrain_records > 0 and pretrain_data='synthetic'"
        )
    if cfg.pretrain_data == "training" and (
        cfg.pretrain_objective != "masked" or cfg.pretrain_records
    ):
        raise InvalidParameterError(
            "pretrain_data='training' pretrains self-supervised on the training patients' "
            "unlabelled beats: use pretrain_objective='masked' and leave pretrain_records 0 "
            "(it counts synthetic records)"
        )
    if cfg.zero_shot and not (
        cfg.pretrain_records
        and cfg.pretrain_data == "synthetic"
        and cfg.pretrain_objective == "supervised"
    ):
        raise InvalidParameterError(
            "zero_shot scores the network pretrained on labelled synthetic beats as it is: it "
            "needs pretrain_records > 0 with the supervised objective"
        )
    pretrained = bool(cfg.pretrain_records or cfg.pretrain_data == "training")
    if not cfg.scratch and not cfg.boosted and not pretrained:
        raise InvalidParameterError(
            "nothing to train: scratch=False (--no-scratch) needs boosted, pretrain_records > 0 or "
            "pretrain_data='training'"
        )
    if cfg.combine and cfg.scratch + pretrained + cfg.boosted < 2:
        raise InvalidParameterError(
            "combine averages the arms: it needs at least two of scratch, pretrained "
            "(pretrain_records > 0 or pretrain_data='training') and boosted"
        )
    if cfg.boosted and cfg.calibration_folds:
        raise InvalidParameterError("boosted does not support calibration_folds (cross-fitting)")
    if cfg.rhythm_gate is not None and not 0 < cfg.rhythm_gate < 10:
        raise InvalidParameterError(
            f"rhythm_gate must be None or a positive irregularity (0.1), got {cfg.rhythm_gate}"
        )
    if not cfg.seeds:
        raise InvalidParameterError("seeds must not be empty")
    if not cfg.fractions or not all(0 < f <= 1 for f in cfg.fractions):
        raise InvalidParameterError(f"fractions must be in (0, 1], got {cfg.fractions}")
    return cfg


def _paired(
    folds: list[dict], runs: list[dict], has_test: bool, init: str = "pretrained"
) -> dict[str, Any]:
    """Per label fraction: ``init`` (pretrained, or combined) - scratch on the same (seed,
    fold) pairs (per seed for a train/test split): mean, sd, n and the 95 % t interval of the
    mean, for macro-F1 and the F1 of S, V, F."""
    out = {}
    for fraction in dict.fromkeys(r["fraction"] for r in runs):
        out[f"{fraction:.0%}"] = _paired_at(
            [f for f in folds if f["fraction"] == fraction],
            [r for r in runs if r["fraction"] == fraction],
            has_test,
            init,
        )
    return out


#: Features the ``boosted`` arm reads besides ``BeatExperiment.features`` (and the windows):
#: trees split on one input at a time, so they gain from morphology summarised against the
#: record's median beat, which the networks read off the template channel themselves
#: (BENCHMARKS.md: 0.596 → 0.617 averaged with the network on DS1 folds).
BOOSTED_FEATURES = TEMPLATE_FEATURES

#: Report keys of the arms paired with scratch on the same (seed, fold): arm -> its init.
PAIRED_REPORTS = {
    "paired": "pretrained",
    "paired_boosted": "boosted",
    "paired_combined": "combined",
    "paired_zero_shot": "zero-shot",
}

#: Metrics compared between paired arms (macro-F1 and the F1 of S, V, F).
PAIRED_METRICS = ("macro_f1", "f1_S", "f1_V", "f1_F")


def metric_value(row: dict, metric: str) -> float:
    """One of :data:`PAIRED_METRICS` from a run or fold row of the report."""
    return float(row[metric]) if metric == "macro_f1" else float(row["per_class"][metric[-1]]["f1"])


def _paired_at(
    folds: list[dict], runs: list[dict], has_test: bool, init: str = "pretrained"
) -> dict[str, Any]:
    rows = runs if has_test else folds
    key = (lambda r: (r["seed"],)) if has_test else (lambda r: (r["seed"], r["fold"]))
    base = {key(r): r for r in rows if r["init"] == "scratch"}
    return {
        metric: mean_ci(
            [
                metric_value(r, metric) - metric_value(base[key(r)], metric)
                for r in rows
                if r["init"] == init
            ]
        )
        for metric in PAIRED_METRICS
    }


def _predictions(te: Any, prob: np.ndarray, seed: int, fold: int | None) -> Any:
    """One row per scored beat: where it is, its class, the predicted class and probabilities."""
    rows = te.meta[["record", "sample", "symbol"]].copy()
    rows.insert(0, "fold", -1 if fold is None else fold)
    rows.insert(0, "seed", seed)
    rows["label"] = [CLASSES[i] for i in te.labels]
    rows["predicted"] = [CLASSES[i] for i in prob.argmax(axis=1)]
    for j, c in enumerate(CLASSES):
        rows[f"p_{c}"] = prob[:, j]
    return rows


def _report_summary(runs: list[dict], folds: list[dict], has_test: bool) -> dict[str, Any]:
    def stats(rows: list[dict]) -> dict[str, Any]:
        return {
            "macro_f1": _summary([r["macro_f1"] for r in rows]),
            **{f"f1_{c}": _summary([r["per_class"][c]["f1"] for r in rows]) for c in CLASSES},
            "jkappa": _summary([r["jkappa"] for r in rows]),
        }

    out = {"pooled_over_seeds": stats(runs)}
    if not has_test:
        out["per_fold"] = stats(folds)
    return out


def _fmt(s: dict[str, float]) -> str:
    if s["n"] == 0:
        return "n/a"
    return f"{s['mean']:.3f} ± {s['sd']:.3f}" if s["n"] > 1 else f"{s['mean']:.3f}"


def caveats(report: dict[str, Any]) -> list[str]:
    """What a reader of this report should keep in mind, read off the report itself: how many
    patients each figure rests on, the number of seeds, whether paired intervals include zero,
    and that the default settings were chosen on MIT-BIH DS1."""
    from ..beatdata import DS1

    out = []
    train = report["train_records"]
    patients = {patient_of(r) for r in train + report["test_records"]}
    folds = report["folds"]
    if folds and folds[0]["fold"] is not None:
        held = [len({patient_of(r) for r in f["test_records"]}) for f in folds]
        out.append(
            f"{len(patients)} patients, {min(held)}-{max(held)} held out per fold: a fold's "
            "figures rest on that few patients and swing with them (see the per-fold sd)"
        )
    else:
        n = len({patient_of(r) for r in report["test_records"]})
        if n < 10:
            out.append(f"{n} test patients: the figures rest on that few patients")
    seeds = report["config"]["seeds"]
    if len(seeds) < 3:
        out.append(
            f"{len(seeds)} seed(s): the seed moves pooled macro-F1 by ~0.02-0.05 on DS1 "
            "(BENCHMARKS.md); use --seeds 0 1 2 or more before comparing settings"
        )
    for fraction, paired in (report.get("paired") or {}).items():
        d = paired["macro_f1"]
        ci = d.get("ci95")
        if ci is None or ci[0] <= 0 <= ci[1]:
            out.append(
                f"pretrained - scratch at {fraction} of the labels: macro-F1 {d['mean']:+.3f}, "
                "its 95 % interval includes 0 (or n < 2): no difference is established"
            )
    if set(train) & set(DS1):
        out.append(
            "the defaults (inputs, loss, refit, offsets, rhythm and morphology gates, pretraining "
            "mix) were chosen by cross-validation inside MIT-BIH DS1: figures on DS1 records are "
            "development figures; DS2 (--train-records DS1 --test-records DS2) is the unseen check"
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: protocol, per-class table of each initialisation's first seed,
    summaries and, with pretraining, the paired difference."""
    lines = [
        f"# Beat classification ({report['protocol']})",
        "",
        f"train records: {' '.join(report['train_records'])}",
        f"test records: {' '.join(report['test_records']) or '(cross-validation)'}",
        f"beats: {report['class_counts']}",
        "",
    ]
    for arm, summary in report["summary"].items():
        first = next(r for r in report["runs"] if r["arm"] == arm)
        lines += [f"## {arm}", "", "| class | Se | +P | F1 | beats |", "|---|---|---|---|---|"]
        for c in CLASSES:
            m = first["per_class"][c]
            lines.append(
                f"| {c} | {m['se']:.3f} | {m['ppv']:.3f} | {m['f1']:.3f} | {m['support']} |"
            )
        lines += [
            "",
            f"seed {first['seed']} (pooled): macro-F1 {first['macro_f1']:.3f}, accuracy "
            f"{first['accuracy']:.3f}, jκ {first['jkappa']:.3f}",
            "",
        ]
        for scope, stats in summary.items():
            parts = ", ".join(f"{k} {_fmt(v)}" for k, v in stats.items())
            lines.append(f"- {scope.replace('_', ' ')}: {parts}")
        lines.append("")
    for key, name in PAIRED_REPORTS.items():
        for fraction, paired in (report.get(key) or {}).items():
            lines += [f"## {name} - scratch (paired), {fraction} of the labels", ""]
            for metric, d in paired.items():
                ci = d.get("ci95")
                interval = f", 95 % interval [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else ""
                lines.append(f"- {metric}: {d['mean']:+.3f} (n = {d['n']}){interval}")
            lines.append("")
    notes = caveats(report)
    if notes:
        lines += ["## Caveats", "", *[f"- {c}" for c in notes], ""]
    return "\n".join(lines) + "\n"


def _plot_confusion(report: dict[str, Any], path: Path) -> None:
    """Row-normalised confusion matrices, one panel per initialisation (first seed, pooled
    over folds), beat counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(report["summary"])
    fig, axes = plt.subplots(1, len(arms), figsize=(4.2 * len(arms), 3.8), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        run = next(r for r in report["runs"] if r["arm"] == arm)
        cm = np.asarray(run["confusion"], dtype=np.float64)
        rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(CLASSES)):
            for j in range(len(CLASSES)):
                colour = "white" if rows[i, j] > 0.5 else "black"
                ax.text(
                    j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8, color=colour
                )
        ax.set_xticks(range(len(CLASSES)), CLASSES)
        ax.set_yticks(range(len(CLASSES)), CLASSES)
        ax.set_xlabel("predicted")
        ax.set_ylabel("annotated")
        ax.set_title(f"{arm}, {report['protocol']}: macro-F1 {run['macro_f1']:.3f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_arms(report: dict[str, Any], path: Path) -> None:
    """Left: macro-F1 of every (seed, fold) per label fraction and initialisation, paired runs
    joined by a line. Right: F1 per class of each arm (mean over seeds of the pooled figures,
    sd as error bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(report["summary"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 3.8))
    fractions = list(dict.fromkeys(r["fraction"] for r in report["runs"]))
    inits = list(dict.fromkeys(r["init"] for r in report["runs"]))
    rows = report["folds"] or report["runs"]

    step = min(0.3, 0.8 / max(len(inits), 1))

    def where(i: int, init: str) -> float:  # the arms of fraction i side by side around i
        return i + (inits.index(init) - (len(inits) - 1) / 2) * step

    for i, fraction in enumerate(fractions):
        points: dict[tuple, list[tuple[float, float]]] = {}
        for row in rows:
            if row["fraction"] != fraction:
                continue
            x = where(i, row["init"])
            points.setdefault((row["seed"], row.get("fold")), []).append((x, row["macro_f1"]))
        for pts in points.values():
            xs, ys = zip(*sorted(pts), strict=True)
            left.plot(xs, ys, "-", color="0.75", lw=0.8, zorder=1)
        for init in inits:
            f1 = [r["macro_f1"] for r in rows if r["fraction"] == fraction and r["init"] == init]
            colour = f"C{inits.index(init)}"
            label = init if i == 0 else None
            left.scatter([where(i, init)] * len(f1), f1, s=14, zorder=2, label=label, color=colour)
    left.set_xticks(range(len(fractions)), [f"{f:.0%} labels" for f in fractions])
    left.set_ylabel("macro-F1 (N, S, V, F)")
    left.set_title("per fold and seed; paired runs joined", fontsize=9)
    left.legend(fontsize=8)
    width = 0.8 / max(len(arms), 1)
    for j, arm in enumerate(arms):
        stats = report["summary"][arm]["pooled_over_seeds"]
        means = [stats[f"f1_{c}"]["mean"] for c in CLASSES]
        sds = [stats[f"f1_{c}"]["sd"] if stats[f"f1_{c}"]["n"] > 1 else 0.0 for c in CLASSES]
        right.bar(np.arange(len(CLASSES)) + (j - (len(arms) - 1) / 2) * width, means, width,
                  yerr=sds, label=arm, capsize=2)  # fmt: skip
    right.set_xticks(range(len(CLASSES)), CLASSES)
    right.set_ylabel("F1 (pooled, mean over seeds)")
    right.set_ylim(0, 1)
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"Beat classification, {report['protocol']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
