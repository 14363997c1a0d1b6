"""Evaluation against references: R peaks and fiducials against annotations, and the metrics of
classification and regression models (the protocols of ``docs/DESIGN.md``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._validate import as_indices, check_fs, check_int, check_positive
from .delineation import FIDUCIALS
from .errors import InvalidParameterError
from .realism import realism, realism_breakdown

__all__ = [
    "FIDUCIALS",
    "MORPHOLOGY_GATE_COMMON",
    "MORPHOLOGY_GATE_INPUTS",
    "MORPHOLOGY_GATE_ON_TIME",
    "RHYTHM_GATE",
    "SCORED_BEAT_CLASSES",
    "PeakMatch",
    "apply_offsets",
    "auroc",
    "beat_classification",
    "classification",
    "decision_offsets",
    "delineation",
    "fiducials_from_annotation",
    "flutter_episodes",
    "in_atrial_fibrillation",
    "match_peaks",
    "morphology_gate",
    "multilabel",
    "realism",
    "realism_breakdown",
    "regression",
    "rhythm_gate",
]


@dataclass(frozen=True)
class PeakMatch:
    """Result of :func:`match_peaks`. Counts are integers, rates in [0, 1] (NaN when undefined).

    ``errors_ms`` holds detected − reference for every true positive, in ms.
    """

    tp: int
    fp: int
    fn: int
    sensitivity: float
    ppv: float
    f1: float
    errors_ms: np.ndarray

    def as_dict(self) -> dict[str, Any]:
        """The counts and rates (without the per-beat errors), e.g. for a DataFrame row."""
        d = asdict(self)
        d.pop("errors_ms")
        return d


def _as_indices(values: Any, name: str) -> np.ndarray:
    return np.sort(as_indices(values, name))


def match_peaks(
    detected: Any,
    reference: Any,
    fs: float,
    tolerance: float = 0.15,
    *,
    exclude: Any = None,
) -> PeakMatch:
    """Match detected beats to reference beats one-to-one within a tolerance.

    Pairs are formed closest first: every reference beat is matched to at most one detection
    and vice versa, and only when they are at most ``tolerance`` seconds apart. Unmatched
    detections are false positives, unmatched references false negatives.

    Parameters
    ----------
    detected, reference : array_like of int
        Sample indices (any order).
    fs : float
        Sampling rate in Hz.
    tolerance : float
        Matching window in seconds (150 ms is the usual; 75 ms for CPSC 2019).
    exclude : array_like of int, shape (n_spans, 2), optional
        Sample spans ``[start, end]`` (both included) that are not scored, as the ANSI/AAMI
        EC57 beat-by-beat comparison (WFDB ``bxb``) leaves out reference-marked ventricular
        flutter/fibrillation (:func:`flutter_episodes`): reference beats inside a span are not
        scored, and a detection inside one that matches no scored reference beat is not a
        false positive. A detection inside a span that matches a reference beat just outside
        it is a match.

    Returns
    -------
    PeakMatch
        ``tp, fp, fn, sensitivity = tp / (tp + fn), ppv = tp / (tp + fp),
        f1 = 2 tp / (2 tp + fp + fn)`` and the timing errors of the matches.
    """
    fs = check_fs(fs)
    tolerance = check_positive(tolerance, name="tolerance")
    det = _as_indices(detected, "detected")
    ref = _as_indices(reference, "reference")
    spans = _as_spans(exclude)
    if spans.size:
        ref = ref[~_inside(ref, spans)]
    used_d, errors = _pair(det, ref, tolerance * fs)
    errors = errors * 1000.0 / fs
    tp = int(used_d.sum())
    fp = int(np.sum(~used_d & ~_inside(det, spans))) if spans.size else int(det.size - tp)
    fn = int(ref.size - tp)
    return PeakMatch(tp=tp, fp=fp, fn=fn, **_detection_rates(tp, fp, fn), errors_ms=errors)


def _detection_rates(tp: int, fp: int, fn: int) -> dict[str, float]:
    """``sensitivity = tp / (tp + fn)``, ``ppv = tp / (tp + fp)``, ``f1 = 2 tp / (2 tp + fp +
    fn)`` of detection counts (NaN when undefined), e.g. to pool :class:`PeakMatch` counts over
    records."""
    nan = float("nan")
    return {
        "sensitivity": tp / (tp + fn) if tp + fn else nan,
        "ppv": tp / (tp + fp) if tp + fp else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
    }


def _as_spans(exclude: Any) -> np.ndarray:
    """``exclude`` as an (n, 2) int64 array of ordered spans; clear errors otherwise."""
    if exclude is None:
        return np.zeros((0, 2), dtype=np.int64)
    spans = np.asarray(exclude)
    if spans.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if spans.ndim != 2 or spans.shape[1] != 2:
        raise InvalidParameterError(f"exclude must have shape (n_spans, 2), got {spans.shape}")
    if not np.issubdtype(spans.dtype, np.integer):
        raise InvalidParameterError(f"exclude must hold integer samples, got {spans.dtype}")
    if np.any(spans[:, 1] < spans[:, 0]):
        raise InvalidParameterError("every exclude span must have start <= end")
    return spans.astype(np.int64)


def _inside(positions: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Which positions lie in any of the spans (both ends included)."""
    out = np.zeros(positions.size, dtype=bool)
    for a, b in spans:
        out |= (positions >= a) & (positions <= b)
    return out


def flutter_episodes(samples: Any, symbols: Any, n_samples: int | None = None) -> np.ndarray:
    """Ventricular flutter/fibrillation episodes of a WFDB annotation, for ``match_peaks``.

    MIT-BIH and other PhysioNet databases mark an episode with ``[`` at its onset and ``]``
    at its end and annotate no beats inside (``!`` marks flutter waves). An episode without an
    end lasts to ``n_samples - 1`` (or the last annotation when ``n_samples`` is None).

    Parameters
    ----------
    samples, symbols : array_like
        The annotation's sample indices and symbols (``wfdb.rdann(...).sample`` / ``.symbol``).
    n_samples : int, optional
        The record's length.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_episodes, 2): onset and end sample of each episode.
    """
    s = np.asarray(samples)
    y = np.asarray(symbols)
    if s.ndim != 1 or y.ndim != 1 or s.size != y.size:
        raise InvalidParameterError("samples and symbols must be 1-D sequences of equal length")
    order = np.argsort(s, kind="stable")
    s, y = s[order].astype(np.int64), y[order]
    if n_samples is not None:
        last = check_int(n_samples, name="n_samples", low=1, high=2**62) - 1
    else:
        last = int(s[-1]) if s.size else 0
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for pos, sym in zip(s, y, strict=True):
        if sym == "[" and start is None:
            start = int(pos)
        elif sym == "]" and start is not None:
            spans.append((start, int(pos)))
            start = None
    if start is not None:
        spans.append((start, max(start, last)))
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2)


#: Annotation symbols that mark a QRS complex: WFDB's beat codes (``N L R B A a J S V r F e j n
#: E / f Q ?``) and ``!`` (ventricular flutter wave). ``u`` (U wave) and the other non-beat codes
#: are not QRS complexes.
QRS_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?!")

_WAVE_COLUMNS = {
    "p": ("p_on", "p_peak", "p_off"),
    "N": ("qrs_on", "r_peak", "qrs_off"),
    "t": ("t_on", "t_peak", "t_off"),
}


def fiducials_from_annotation(samples: Any, symbols: Any) -> pd.DataFrame:
    """Turn WFDB wave annotations (LUDB, QTDB style) into a fiducial table.

    Each wave is written as ``(`` onset, a peak symbol (``p`` P wave, ``N`` QRS complex, ``t``
    T wave; the other beat symbols of :data:`QRS_SYMBOLS` count as QRS too, ``u`` U waves and
    other non-beat symbols are ignored), ``)`` offset. Beats are built around the QRS
    complexes: a P wave belongs to the next QRS, a T wave to the previous one. Waves without a
    QRS on that side are dropped; a missing bracket gives ``<NA>``.

    Parameters
    ----------
    samples : array_like of int
        Annotation sample indices (``wfdb.Annotation.sample``).
    symbols : sequence of str
        Annotation symbols (``wfdb.Annotation.symbol``), same length.

    Returns
    -------
    pandas.DataFrame
        One row per QRS complex with the columns of :data:`FIDUCIALS` (nullable ``Int64``).
    """
    samples = np.asarray(samples, dtype=np.int64)
    symbols = list(symbols)
    if samples.ndim != 1 or len(symbols) != samples.size:
        raise InvalidParameterError("samples and symbols must be 1-D sequences of equal length")
    waves: list[tuple[str, int | None, int, int | None]] = []
    for k, sym in enumerate(symbols):
        if sym in ("(", ")"):
            continue
        kind = sym if sym in ("p", "t") else "N"
        if kind in ("p", "t") or sym in QRS_SYMBOLS:
            on = int(samples[k - 1]) if k > 0 and symbols[k - 1] == "(" else None
            off = int(samples[k + 1]) if k + 1 < len(symbols) and symbols[k + 1] == ")" else None
            waves.append((kind, on, int(samples[k]), off))
    rows: list[dict[str, Any]] = []
    pending_p: tuple[int | None, int, int | None] | None = None
    for kind, on, peak, off in waves:
        if kind == "p":
            pending_p = (on, peak, off)
        elif kind == "N":
            row: dict[str, Any] = dict.fromkeys(FIDUCIALS)
            row.update(zip(_WAVE_COLUMNS["N"], (on, peak, off), strict=True))
            if pending_p is not None:
                row.update(zip(_WAVE_COLUMNS["p"], pending_p, strict=True))
            pending_p = None
            rows.append(row)
        else:  # T wave: belongs to the previous QRS if that beat has none yet
            pending_p = None
            if rows and rows[-1]["t_peak"] is None:
                rows[-1].update(zip(_WAVE_COLUMNS["t"], (on, peak, off), strict=True))
    frame = pd.DataFrame(rows, columns=list(FIDUCIALS))
    return frame.astype("Int64")


def _fiducial_positions(table: Any, column: str) -> np.ndarray:
    if column not in table:
        return np.zeros(0)
    values = pd.array(table[column], dtype="Float64")
    return np.sort(np.asarray(values.dropna(), dtype=np.float64))


def delineation(
    detected: Any,
    reference: Any,
    fs: float,
    tolerance: float = 0.15,
    *,
    span: Any = None,
    fiducials: Any = FIDUCIALS,
) -> pd.DataFrame:
    """Score a delineation against reference fiducials, per fiducial.

    For every fiducial column the detected and reference positions are matched one-to-one,
    closest first, within ``tolerance`` (:func:`match_peaks`), then pooled over all pairs of
    tables given.

    Parameters
    ----------
    detected, reference : DataFrame or mapping of arrays, or lists of them
        Fiducial tables (columns named as in :data:`FIDUCIALS`, missing values allowed), e.g.
        the output of :func:`ecgfast.delineate` and of :func:`fiducials_from_annotation`. Pass
        two equally long lists to pool several leads or records.
    fs : float
        Sampling rate in Hz.
    tolerance : float
        Matching window in seconds (150 ms in the evaluation protocol).
    span : (start, end) or list of them, optional
        Annotated span of each pair (sample indices, inclusive). Detections outside it that
        match nothing are not counted as false positives (the annotators did not look there);
        ``None`` counts every detection.
    fiducials : sequence of str
        Columns to score.

    Returns
    -------
    pandas.DataFrame
        Indexed by fiducial: ``n_ref, n_det, tp, fp, fn, se, ppv, f1`` and the errors
        (detected − reference, ms) of the matches: ``mean_ms, sd_ms, mae_ms``.
    """
    fs = check_fs(fs)
    check_positive(tolerance, name="tolerance")
    if isinstance(detected, (list, tuple)) != isinstance(reference, (list, tuple)):
        raise InvalidParameterError("pass either one table each or two lists of tables")
    dets = list(detected) if isinstance(detected, (list, tuple)) else [detected]
    refs = list(reference) if isinstance(reference, (list, tuple)) else [reference]
    if len(dets) != len(refs):
        raise InvalidParameterError(f"{len(dets)} detected tables but {len(refs)} reference tables")
    if span is None:
        spans: list[Any] = [None] * len(dets)
    elif len(dets) == 1 and np.ndim(span) == 1:
        spans = [span]
    else:
        spans = list(span)
        if len(spans) != len(dets):
            raise InvalidParameterError(f"{len(spans)} spans for {len(dets)} tables")
    rows = []
    for name in fiducials:
        if name not in FIDUCIALS:
            raise InvalidParameterError(f"unknown fiducial {name!r}; expected one of {FIDUCIALS}")
        n_ref = n_det = tp = fp = fn = 0
        errors: list[np.ndarray] = []
        for det_table, ref_table, sp in zip(dets, refs, spans, strict=True):
            det = _fiducial_positions(det_table, name)
            ref = _fiducial_positions(ref_table, name)
            if sp is not None:
                lo, hi = float(sp[0]), float(sp[1])
                ref = ref[(ref >= lo) & (ref <= hi)]
            matched, err_samples = _pair(det, ref, fs * tolerance)
            judged = matched.copy() if sp is not None else np.ones(det.size, dtype=bool)
            if sp is not None:  # unmatched detections outside the span are not judged
                judged |= (det >= lo) & (det <= hi)
            n_ref += ref.size
            n_det += int(judged.sum())
            tp += err_samples.size
            fp += int(judged.sum()) - err_samples.size
            fn += ref.size - err_samples.size
            errors.append(err_samples * 1000.0 / fs)
        err = np.concatenate(errors) if errors else np.zeros(0)
        nan = float("nan")
        rates = _detection_rates(tp, fp, fn)
        rows.append(
            {
                "fiducial": name,
                "n_ref": n_ref,
                "n_det": n_det,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "se": rates["sensitivity"],
                "ppv": rates["ppv"],
                "f1": rates["f1"],
                "mean_ms": float(err.mean()) if err.size else nan,
                "sd_ms": float(err.std(ddof=1)) if err.size > 1 else nan,
                "mae_ms": float(np.abs(err).mean()) if err.size else nan,
            }
        )
    return pd.DataFrame(rows).set_index("fiducial")


def _pair(det: np.ndarray, ref: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Closest-first one-to-one matching of two sorted position arrays within ``tol`` samples.

    Returns which detections are matched and detected − reference (samples) of every match.
    """
    pairs: list[tuple[float, int, int]] = []
    lo = np.searchsorted(ref, det - tol, side="left")
    hi = np.searchsorted(ref, det + tol, side="right")
    for i in np.flatnonzero(hi > lo):
        for j in range(lo[i], hi[i]):
            pairs.append((abs(det[i] - ref[j]), int(i), j))
    pairs.sort()
    used_d = np.zeros(det.size, dtype=bool)
    used_r = np.zeros(ref.size, dtype=bool)
    errors: list[float] = []
    for _, d, r in pairs:
        if not used_d[d] and not used_r[r]:
            used_d[d] = used_r[r] = True
            errors.append(det[d] - ref[r])
    return used_d, np.asarray(errors, dtype=np.float64)


# -- model metrics ----------------------------------------------------------------------------


def auroc(y: Any, score: Any) -> float:
    """Area under the ROC curve of a binary problem (Mann-Whitney U, ties averaged); NaN when
    ``y`` holds one class only."""
    from scipy.stats import rankdata

    pos = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _f1(tp: float, fp: float, fn: float) -> float:
    return float(2 * tp / (2 * tp + fp + fn)) if (2 * tp + fp + fn) else float("nan")


def classification(y_true: Any, y_prob: Any, classes: Any) -> dict[str, Any]:
    """Single-label classification metrics.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        True class indices.
    y_prob : array_like, shape (n, k)
        Class probabilities (or any scores: the prediction is the arg-max).
    classes : sequence of str
        The ``k`` class names.

    Returns
    -------
    dict
        ``accuracy``; ``macro_f1`` over the classes present in ``y_true`` or predicted;
        ``per_class_f1``; ``macro_auroc`` (one-vs-rest, over the classes present in ``y_true``);
        ``confusion`` (rows = truth, columns = prediction).
    """
    classes = tuple(str(c) for c in classes)
    y_true = np.asarray(y_true, dtype=np.int64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    k = len(classes)
    if y_prob.ndim != 2 or y_prob.shape != (y_true.size, k):
        raise InvalidParameterError(
            f"y_prob must have shape ({y_true.size}, {k}), got {y_prob.shape}"
        )
    if y_true.size and (y_true.min() < 0 or y_true.max() >= k):
        raise InvalidParameterError(f"y_true holds class indices outside 0..{k - 1}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_prob.argmax(axis=1)), 1)
    tp = np.diag(cm).astype(np.float64)
    f1 = {classes[c]: _f1(tp[c], cm[:, c].sum() - tp[c], cm[c, :].sum() - tp[c]) for c in range(k)}
    present = [c for c in range(k) if cm[c, :].sum() > 0 or cm[:, c].sum() > 0]
    aucs = [auroc(y_true == c, y_prob[:, c]) for c in range(k) if cm[c, :].sum() > 0]
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "macro_f1": float(np.mean([f1[classes[c]] for c in present])) if present else math.nan,
        "per_class_f1": f1,
        "macro_auroc": float(np.nanmean(aucs)) if aucs else math.nan,
        "confusion": cm.tolist(),
    }


#: The classes the inter-patient literature averages over (AAMI EC57; Q is reported apart).
SCORED_BEAT_CLASSES = ("N", "S", "V", "F")


def beat_classification(y_true: Any, y_pred: Any, classes: Any = SCORED_BEAT_CLASSES) -> dict:
    """AAMI beat-classification figures as the inter-patient literature reports them.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        True class indices into ``classes``.
    y_pred : array_like
        Predicted class indices ``(n,)`` or scores ``(n, k)`` (arg-max taken).
    classes : sequence of str
        Class names; ``N, S, V, F`` are scored, any other (``Q``) is reported apart.

    Returns
    -------
    dict
        ``per_class``: ``{class: {"se", "ppv", "f1", "support"}}`` (sensitivity, positive
        predictive value +P, F1; NaN where undefined, e.g. +P of a class never predicted);
        ``macro_f1``: mean F1 over N, S, V, F present in ``y_true`` (an absent class has no
        F1); ``accuracy``; ``kappa`` (Cohen's κ); ``j``: Se(S) + +P(S) + Se(V) + +P(V) and
        ``jkappa`` = κ / 2 + j / 8 (Mar et al., IEEE TBME 58:2168, 2011); ``confusion`` (rows
        = truth, columns = prediction, in ``classes`` order); ``classes``.

    Examples
    --------
    >>> from ecgfast.evaluate import beat_classification
    >>> m = beat_classification([0, 0, 1, 2, 3], [0, 1, 1, 2, 0])
    >>> round(m["per_class"]["S"]["ppv"], 2), m["per_class"]["F"]["se"]
    (0.5, 0.0)
    """
    classes = tuple(str(c) for c in classes)
    k = len(classes)
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    pred = np.asarray(y_pred)
    if pred.ndim == 2:
        if pred.shape != (y_true.size, k):
            raise InvalidParameterError(f"scores must have shape ({y_true.size}, {k})")
        pred = pred.argmax(axis=1)
    pred = np.asarray(pred, dtype=np.int64).ravel()
    if pred.shape != y_true.shape:
        raise InvalidParameterError("y_true and y_pred must have the same length")
    for name, v in (("y_true", y_true), ("y_pred", pred)):
        if v.size and (v.min() < 0 or v.max() >= k):
            raise InvalidParameterError(f"{name} holds class indices outside 0..{k - 1}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, pred), 1)
    per: dict[str, dict[str, float]] = {}
    for c, name in enumerate(classes):
        tp, fn, fp = (
            float(cm[c, c]),
            float(cm[c].sum() - cm[c, c]),
            float(cm[:, c].sum() - cm[c, c]),
        )
        se = tp / (tp + fn) if tp + fn else math.nan
        ppv = tp / (tp + fp) if tp + fp else math.nan
        per[name] = {"se": se, "ppv": ppv, "f1": _f1(tp, fp, fn), "support": int(tp + fn)}
    scored = [c for c in SCORED_BEAT_CLASSES if c in per and per[c]["support"] > 0]
    n = cm.sum()
    po = np.trace(cm) / n if n else math.nan
    pe = float((cm.sum(0) * cm.sum(1)).sum()) / n**2 if n else math.nan
    kappa = (po - pe) / (1 - pe) if n and pe < 1 else math.nan

    def part(c: str, key: str) -> float:
        v = per.get(c, {}).get(key, math.nan)
        return 0.0 if math.isnan(v) else v

    j = part("S", "se") + part("S", "ppv") + part("V", "se") + part("V", "ppv")
    return {
        "classes": list(classes),
        "per_class": per,
        "macro_f1": float(np.mean([per[c]["f1"] for c in scored])) if scored else math.nan,
        "accuracy": float(po),
        "kappa": float(kappa),
        "j": float(j),
        "jkappa": float(kappa / 2 + j / 8),
        "confusion": cm.tolist(),
    }


def decision_offsets(
    y_true: Any,
    y_prob: Any,
    classes: Any = SCORED_BEAT_CLASSES,
    *,
    grid: Any = None,
    passes: int = 3,
) -> np.ndarray:
    """Per-class offsets to the log-probabilities that maximise macro-F1 (over the scored
    classes of :func:`beat_classification`) on held-in data, for a decision rule chosen on
    training patients only: predict ``argmax(log p + offsets)``.

    The first class keeps offset 0; the others are set by coordinate ascent over ``grid``
    (default -4..4 in steps of 0.25), ``passes`` times; ties keep the offset nearest 0.

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
    y_prob : array_like, shape (n, k)
        Class probabilities (e.g. of the early-stopping patients).
    classes : sequence of str

    Returns
    -------
    ndarray, shape (k,)
        Add to ``log(y_prob)`` of new data before the arg-max.
    """
    y = np.asarray(y_true, dtype=np.int64).ravel()
    logp = np.log(np.clip(np.asarray(y_prob, dtype=np.float64), 1e-12, None))
    k = len(tuple(classes))
    if logp.ndim != 2 or logp.shape != (y.size, k) or y.size == 0:
        raise InvalidParameterError(f"y_prob must have shape ({y.size}, {k}) with n > 0")
    steps = np.arange(-4.0, 4.0 + 1e-9, 0.25) if grid is None else np.asarray(grid, float)
    steps = steps[np.argsort(np.abs(steps), kind="stable")]
    offsets = np.zeros(k)

    def score(b: np.ndarray) -> float:
        f1 = beat_classification(y, (logp + b).argmax(axis=1), classes)["macro_f1"]
        return -math.inf if math.isnan(f1) else f1

    best = score(offsets)
    for _ in range(check_int(passes, name="passes", low=1, high=100)):
        for c in range(1, k):
            for v in steps:
                trial = offsets.copy()
                trial[c] = v
                f = score(trial)
                if f > best + 1e-12:
                    best, offsets = f, trial
    return offsets


#: Default :func:`rhythm_gate` threshold: sinus rhythm with ectopic beats, bigeminy or
#: trigeminy stays near 0.01-0.06 of the RR, atrial fibrillation holds 0.15-0.4
#: (``ecgfast.beats``).
RHYTHM_GATE = 0.1


def apply_offsets(y_prob: Any, offsets: Any) -> np.ndarray:
    """Class probabilities with :func:`decision_offsets` applied: ``offsets`` added to the
    log-probabilities and each row renormalised (the arg-max is the decision the offsets were
    fitted for). Returns a new array."""
    prob = np.asarray(y_prob, dtype=np.float64)
    b = np.asarray(offsets, dtype=np.float64).ravel()
    if prob.ndim != 2 or b.shape != (prob.shape[1],):
        raise InvalidParameterError(
            f"offsets must have one value per class: y_prob {prob.shape}, offsets {b.shape}"
        )
    logits = np.log(np.clip(prob, 1e-12, None)) + b
    out = np.exp(logits - logits.max(axis=1, keepdims=True))
    return out / out.sum(axis=1, keepdims=True)


def in_atrial_fibrillation(
    rhythm_irregularity: Any,
    p_local: Any = None,
    *,
    threshold: float = RHYTHM_GATE,
    max_p_local: float = 0.5,
) -> np.ndarray:
    """Which beats sit in atrial fibrillation by the textbook definition: an irregularly
    irregular rhythm (``rhythm_irregularity`` above ``threshold``) without P waves (when
    ``p_local`` is given, at most ``max_p_local`` of the 11 beats around have one). The beats
    :func:`rhythm_gate` acts on.

    Parameters
    ----------
    rhythm_irregularity : array_like, shape (n,)
        Per beat (beat table column); NaN is never AF.
    p_local : array_like, shape (n,), optional
        Per beat, the fraction of the beats around it with a P wave; NaN does not veto.
    threshold : float
        > 0.
    max_p_local : float
        In [0, 1].

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    threshold = check_positive(threshold, name="threshold")
    if not 0 <= max_p_local <= 1:
        raise InvalidParameterError(f"max_p_local must be in [0, 1], got {max_p_local}")
    irr = np.asarray(rhythm_irregularity, dtype=np.float64).ravel()
    inside = irr > threshold  # NaN compares False
    if p_local is not None:
        p = np.asarray(p_local, dtype=np.float64).ravel()
        if p.shape != irr.shape:
            raise InvalidParameterError(
                f"rhythm_irregularity and p_local must have one value per beat; got "
                f"{irr.shape} and {p.shape}"
            )
        inside &= ~(p > max_p_local)
    return inside


def rhythm_gate(
    y_prob: Any,
    rhythm_irregularity: Any,
    p_local: Any = None,
    classes: Any = SCORED_BEAT_CLASSES,
    *,
    threshold: float = RHYTHM_GATE,
    max_p_local: float = 0.5,
    gated: str = "S",
    to: str = "N",
) -> np.ndarray:
    """Rule out the supraventricular class for beats inside atrial fibrillation.

    In atrial fibrillation there is no P wave to be premature, and the MIT-BIH / AAMI EC57
    convention labels its beats N (or V), not S: in MIT-BIH DS1, 16 of 944 S beats lie inside
    an annotated AF episode, against 3,421 N beats. A beat classifier that reads prematurity
    off the RR intervals calls the short cycles of AF supraventricular. This rule takes the
    textbook definition of AF (:func:`in_atrial_fibrillation`) — an irregularly irregular
    rhythm without P waves — and moves the
    probability of ``gated`` to ``to`` (a conducted beat in AF is labelled N; spreading it over
    all other classes instead turns such beats into V) wherever the beat table's
    ``rhythm_irregularity`` (irregularly irregular over the ±50 RR intervals around the beat:
    bigeminy and trigeminy stay low) exceeds ``threshold`` and, when ``p_local`` is given, at
    most ``max_p_local`` of the 11 beats around it have a P wave. Both thresholds were set from
    the rhythm's definition, not fitted to data.

    Parameters
    ----------
    y_prob : array_like, shape (n, k)
        Class probabilities (row sums are kept).
    rhythm_irregularity : array_like, shape (n,)
        Per beat, e.g. ``BeatSet.meta["rhythm_irregularity"]``; NaN leaves the beat as it is.
    p_local : array_like, shape (n,), optional
        Per beat, the fraction of the beats around it with a P wave (``BeatSet.meta["p_local"]``,
        :data:`ecgfast.beatdata.P_WAVE_FEATURES`); None: the rhythm alone decides.
    classes : sequence of str
        Class names of the columns; must contain ``gated``.
    threshold : float
        Irregularity above which ``gated`` is ruled out (> 0).
    max_p_local : float
        At most this fraction of the neighbours may have a P wave (in [0, 1]).
    gated : str
        The class ruled out.
    to : str
        The class that takes its probability.

    Returns
    -------
    ndarray, shape (n, k)
        A new array; ``y_prob`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgfast.evaluate import rhythm_gate
    >>> rhythm_gate(np.array([[0.4, 0.6, 0, 0], [0.4, 0.6, 0, 0]]), [0.02, 0.3]).round(2)
    array([[0.4, 0.6, 0. , 0. ],
           [1. , 0. , 0. , 0. ]])
    """
    names = tuple(classes)
    if gated not in names or to not in names or gated == to:
        raise InvalidParameterError(
            f"gated {gated!r} and to {to!r} must be two different classes of {names}"
        )
    inside = in_atrial_fibrillation(
        rhythm_irregularity, p_local, threshold=threshold, max_p_local=max_p_local
    )
    prob = np.array(y_prob, dtype=np.float64)  # a copy
    if prob.ndim != 2 or prob.shape != (inside.size, len(names)):
        raise InvalidParameterError(
            f"y_prob must be (n, {len(names)}) for the n = {inside.size} beats of "
            f"rhythm_irregularity; got {prob.shape}"
        )
    if not np.all(np.isfinite(prob)) or np.any(prob < 0):
        raise InvalidParameterError("y_prob must be finite and non-negative")
    g, t = names.index(gated), names.index(to)
    prob[inside, t] += prob[inside, g]
    prob[inside, g] = 0.0
    return prob


#: :func:`morphology_gate`: a beat's QRS shape counts as common in its record from this
#: ``shape_share`` on ...
MORPHOLOGY_GATE_COMMON = 0.4
#: ... and the beat as on time when the RR before it is at least this fraction of the local
#: mean RR.
MORPHOLOGY_GATE_ON_TIME = 0.95
#: The per-beat inputs of :func:`morphology_gate`, as named in a beat dataset's ``meta``.
MORPHOLOGY_GATE_INPUTS = ("shape_share", "pre_rr_local")


def morphology_gate(
    y_prob: Any,
    shape_share: Any,
    pre_rr_local: Any,
    classes: Any = SCORED_BEAT_CLASSES,
    *,
    pre_rr_record: Any = None,
    common: float = MORPHOLOGY_GATE_COMMON,
    on_time: float = MORPHOLOGY_GATE_ON_TIME,
    gated: str = "V",
    supraventricular: str | None = "S",
) -> np.ndarray:
    """Rule out the ventricular class for beats of a common shape that come on time, and the
    supraventricular class for beats of an uncommon shape.

    The reasoning of template-matching beat classifiers (e.g. Hamilton's OSEA): a patient's
    dominant beats are conducted beats, whatever their shape; an ectopic ventricular beat is
    rare in its record and usually premature. Beat classifiers trained on other patients call
    the wide or unusual sinus beats of a patient V (in MIT-BIH DS1: record 108's slurred QRS
    that flips polarity on MLII, 109's and 207's bundle branch blocks). Where a beat's
    ``shape_share`` (:func:`ecgfast.beatdata.shape_share`: how common its QRS shape is in the
    record, 1 for the most common shapes; with several leads the largest over them, since a
    sinus beat whose shape flips on one lead, as 108's on MLII, stays common on another while
    an ectopic focus changes every lead) is at least ``common`` and the RR before it is at
    least ``on_time`` of the local mean RR (``pre_rr_local``; premature is judged against the
    beats around, since the rate drifts over a long record), the probability of ``gated`` is
    set to 0 and the row is scaled back to its sum: the beat takes its next most probable
    class. NaN inputs leave a beat as it is.

    The mirror image for ``supraventricular`` (2026-12-05): a supraventricular ectopic beat
    reaches the ventricles through the normal conduction system, so its QRS has the shape of
    the record's conducted beats; where ``shape_share`` is below ``common``, the probability of
    ``supraventricular`` is set to 0 the same way. Classifiers call premature ventricular beats
    whose shape they do not recognise S (they come early, as S beats do); in DS1 about 230 V
    beats per seed were called S with a shape share below 0.4, against no S beat (BENCHMARKS.md,
    issue 14). Aberrantly conducted supraventricular beats (wide, uncommon) are the beats this
    rule can take from S; classifiers call most of them V already.

    On in the default experiment (``ecgfast beats``; ``--no-morphology-gate`` turns it off),
    with the shape share taken on MLII and V1: on DS1 folds it raised macro-F1 by 0.010-0.032
    per arm and V F1 by 0.05-0.11 (BENCHMARKS.md, issue 14; development figures). The V beats
    it can take are those of a common shape that are not premature (slow ventricular runs; in
    DS1 about 53 per seed of 3,788 V beats were lost, most of them 208's).

    Parameters
    ----------
    y_prob : array_like, shape (n, k)
        Class probabilities.
    shape_share : array_like, shape (n,)
        Per beat, e.g. ``BeatSet.meta["shape_share"]``.
    pre_rr_local : array_like, shape (n,)
        Per beat, the RR before it over the local mean RR (the beat table's column of this
        name; ``BeatSet.meta``).
    classes : sequence of str
        Class names of the columns; must contain ``gated``.
    pre_rr_record : array_like, shape (n,), optional
        The RR before each beat over the record's mean RR: when given, a beat must be on time
        against it too (a stricter rule: it keeps V for beats that come on time locally
        inside a fast stretch of the record).
    common, on_time : float
        Thresholds, in (0, 1] and (0, 2].
    gated : str
        The class ruled out for common, on-time beats.
    supraventricular : str or None
        The class ruled out for uncommon beats (None: not done; skipped when it is not one of
        ``classes``).

    Returns
    -------
    ndarray, shape (n, k)
        A new array; ``y_prob`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgfast.evaluate import morphology_gate
    >>> p = np.array([[0.3, 0.1, 0.6, 0.0], [0.3, 0.1, 0.6, 0.0], [0.1, 0.5, 0.4, 0.0]])
    >>> morphology_gate(p, [0.9, 0.9, 0.1], [1.0, 0.7, 0.7]).round(2)
    array([[0.75, 0.25, 0.  , 0.  ],
           [0.3 , 0.1 , 0.6 , 0.  ],
           [0.2 , 0.  , 0.8 , 0.  ]])
    """
    names = tuple(classes)
    if gated not in names:
        raise InvalidParameterError(f"gated {gated!r} must be one of the classes {names}")
    if not (0 < common <= 1 and 0 < on_time <= 2):
        raise InvalidParameterError(
            f"common must be in (0, 1] and on_time in (0, 2], got {common} and {on_time}"
        )
    share, local = (np.asarray(v, dtype=np.float64).ravel() for v in (shape_share, pre_rr_local))
    n = share.size
    if pre_rr_record is None:
        record = np.ones(n)
    else:
        record = np.asarray(pre_rr_record, dtype=np.float64).ravel()
    prob = np.array(y_prob, dtype=np.float64)  # a copy
    if local.size != n or record.size != n or prob.ndim != 2 or prob.shape != (n, len(names)):
        raise InvalidParameterError(
            f"y_prob must be (n, {len(names)}) and the per-beat inputs n long; got "
            f"{prob.shape}, {share.size}, {local.size}, {record.size}"
        )
    if not np.all(np.isfinite(prob)) or np.any(prob < 0):
        raise InvalidParameterError("y_prob must be finite and non-negative")
    if any(np.isinf(v).any() for v in (share, local, record)):
        raise InvalidParameterError(
            "shape_share and the RR ratios must not be infinite (NaN: unknown)"
        )
    with np.errstate(invalid="ignore"):
        inside = (share >= common) & (local >= on_time) & (record >= on_time)
        uncommon = share < common
    _rule_out(prob, inside, names.index(gated))
    if supraventricular is not None and supraventricular in names:
        _rule_out(prob, uncommon, names.index(supraventricular))
    return prob


def _rule_out(prob: np.ndarray, rows: np.ndarray, g: int) -> None:
    """In place: class ``g``'s probability of the ``rows`` (a mask) set to 0 and each row
    scaled back to its sum; a row whose whole probability was on ``g`` keeps it (nothing to
    move to)."""
    total = prob[rows].sum(axis=1)
    prob[rows, g] = 0.0
    rest = prob[rows].sum(axis=1)
    ok = rest > 0
    idx = np.flatnonzero(rows)
    prob[idx[ok]] *= (total[ok] / rest[ok])[:, None]
    prob[idx[~ok], g] = total[~ok]


def multilabel(y_true: Any, y_prob: Any, classes: Any, thresholds: Any = 0.5) -> dict[str, Any]:
    """Multi-label metrics: per-label AUROC and F1 at ``thresholds`` (one value, or one per
    label), their macro means over the labels with both positives and negatives, and the
    exact-match accuracy."""
    classes = tuple(str(c) for c in classes)
    y_true = np.asarray(y_true, dtype=np.float64) > 0.5
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_true.ndim != 2 or y_prob.shape != y_true.shape or y_true.shape[1] != len(classes):
        raise InvalidParameterError(
            f"y_true and y_prob must both have shape (n, {len(classes)}), got "
            f"{y_true.shape} and {y_prob.shape}"
        )
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (len(classes),))
    pred = y_prob >= thr
    per_auc, per_f1 = {}, {}
    for c, name in enumerate(classes):
        t, p = y_true[:, c], pred[:, c]
        per_auc[name] = auroc(t, y_prob[:, c])
        per_f1[name] = _f1(np.sum(t & p), np.sum(~t & p), np.sum(t & ~p))
    usable = [n for n in classes if per_auc[n] == per_auc[n]]
    return {
        "macro_auroc": float(np.mean([per_auc[n] for n in usable])) if usable else math.nan,
        "macro_f1": float(np.mean([per_f1[n] for n in usable])) if usable else math.nan,
        "per_label_auroc": per_auc,
        "per_label_f1": per_f1,
        "exact_match": float(np.mean(np.all(pred == y_true, axis=1))) if len(y_true) else math.nan,
        "thresholds": thr.tolist(),
    }


def regression(y_true: Any, y_pred: Any, names: Any) -> dict[str, Any]:
    """Mean absolute error per target (``mae``: name -> value, in the targets' units), its
    mean over targets (``mean_mae``) and the error's mean (``bias``) per target. Missing
    targets (NaN in ``y_true``: an interval that could not be measured) are left out."""
    names = tuple(str(n) for n in names)
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1, len(names))
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1, len(names))
    err = y_pred - y_true

    def mean_of(k: int, values: np.ndarray) -> float:
        known = values[np.isfinite(y_true[:, k])]
        return float(known.mean()) if len(known) else math.nan

    mae = {n: mean_of(k, np.abs(err[:, k])) for k, n in enumerate(names)}
    return {
        "mae": mae,
        "mean_mae": float(np.mean(list(mae.values()))) if mae else math.nan,
        "bias": {n: mean_of(k, err[:, k]) for k, n in enumerate(names)},
    }
