"""Beats of annotated WFDB records (MIT-BIH style) as arrays for beat classifiers, built with
ecgfast's own kernels: band-pass, the beat table (RR features), per-record amplitude
normalisation, windows that may hold the neighbouring beats.

No torch here: :class:`ecgfast.torch.MITBIHBeats` wraps :func:`read_beats` as a Dataset.

What a beat classifier is given (the AAMI EC57 conventions, de Chazal et al. 2004):

- the signal around the beat, band-passed (0.5-40 Hz, zero phase) and divided per record and
  lead by the median QRS peak-to-peak amplitude of the record's beats, so amplitude keeps its
  meaning within a patient (a ventricular beat is larger than the patient's normal beats) while
  the gain of a patient's recording does not matter;
- the rhythm: RR features of the beat table (:mod:`ecgfast.beats`), above all the ratio of the
  RR before the beat to the local and the record median RR — prematurity is what defines a
  supraventricular ectopic beat;
- beats either at the annotated positions or where :func:`ecgfast.detect_rpeaks` finds them
  (the end-to-end path), detected beats taking the class of the annotation within 150 ms.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._data import wfdb_records
from ._validate import check_fs, check_positive
from .beats import beat_table
from .errors import InvalidParameterError
from .evaluate import QRS_SYMBOLS
from .filters import bandpass
from .preprocessing import _checked_shape_leads, _extra_shape_leads, _first_precordial, resample

__all__ = [
    "AAMI_CLASSES",
    "AAMI_MAP",
    "BEAT_FEATURES",
    "DS1",
    "DS2",
    "NEIGHBOUR_FEATURES",
    "PACED",
    "PRETRAIN_MIX",
    "PRETRAIN_MIXES",
    "PRETRAIN_MIX_BROAD",
    "P_WAVE_FEATURES",
    "TEMPLATE_FEATURES",
    "BeatSet",
    "p_wave_features",
    "patient_of",
    "read_beats",
    "shape_share",
    "synthetic_beats",
    "window_bounds",
]

#: AAMI EC57 beat classes, in label order.
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
#: MIT-BIH beat symbol -> AAMI class (non-beat symbols are not beats).
AAMI_MAP = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
#: de Chazal et al. (2004) inter-patient split (paced records 102, 104, 107, 217 excluded).
DS1 = (
    "101",
    "106",
    "108",
    "109",
    "112",
    "114",
    "115",
    "116",
    "118",
    "119",
    "122",
    "124",
    "201",
    "203",
    "205",
    "207",
    "208",
    "209",
    "215",
    "220",
    "223",
    "230",
)
DS2 = (
    "100",
    "103",
    "105",
    "111",
    "113",
    "117",
    "121",
    "123",
    "200",
    "202",
    "210",
    "212",
    "213",
    "214",
    "219",
    "221",
    "222",
    "228",
    "231",
    "232",
    "233",
    "234",
)
PACED = ("102", "104", "107", "217")
#: Records of the same patient (MIT-BIH 201 and 202 come from one man).
SAME_PATIENT = {"202": "201"}


def patient_of(record: str) -> str:
    return SAME_PATIENT.get(str(record), str(record))


#: Default features given beside the signal: RR intervals (s) and their ratios (see
#: :mod:`ecgfast.beats`), and the beat's QRS width (s).
BEAT_FEATURES = (
    "pre_rr",
    "post_rr",
    "local_rr",
    "pre_rr_local",
    "post_rr_local",
    "pre_post_rr",
    "pre_rr_record",
    "local_rr_record",
    "pre_rr_centred",
    "rr_irregularity",
    "qrs",
)
#: Optional P-wave features derived from the beat table's fiducials (not in the default):
#: ``p_present`` (1 where the delineator found a P wave), ``p_local`` (the fraction of the 11
#: beats centred on this one with a P wave: near 0 in atrial fibrillation) and ``pr_deviation``
#: (PR minus the record's median PR, s; 0 without a P wave). A premature atrial beat often has
#: no P wave the delineator accepts, or one at an unusual PR.
P_WAVE_FEATURES = ("p_present", "p_local", "pr_deviation")
#: Optional morphology features relative to the patient's own beats (not in the default),
#: measured on the first lead against the record's median beat (the median over the record's
#: windows, as the ``template`` channel), in units of that median beat's QRS peak-to-peak
#: amplitude: ``template_correlation`` (Pearson correlation of the QRS, R ± 100 ms, with the
#: median beat's), ``template_qrs_peak`` and ``template_qrs_rms`` (largest and RMS difference
#: from the median beat over the QRS), ``template_rms`` (RMS difference over the whole window)
#: and ``qrs_record`` (the beat's QRS width over the record's median QRS width). A ventricular
#: beat differs from the patient's usual beat whatever the patient's usual beat looks like.
TEMPLATE_FEATURES = (
    "template_correlation",
    "template_qrs_peak",
    "template_qrs_rms",
    "template_rms",
    "qrs_record",
)
#: Optional morphology features against the beat's neighbours (not in the default): the
#: Pearson correlation of the QRS (R ± 100 ms, first lead) with that of the previous, next,
#: second previous and second next beat of the recording (1 where there is none). A beat like
#: its neighbours belongs to the rhythm around it even where the patient's morphology drifts
#: away from the record's median beat; an ectopic beat differs from both neighbours, and in
#: bigeminy it matches the beats two away.
NEIGHBOUR_FEATURES = (
    "neighbour_correlation_prev",
    "neighbour_correlation_next",
    "neighbour_correlation_prev2",
    "neighbour_correlation_next2",
)
#: Feature columns in ms (given to models in s).
_MS = {"pre_rr", "post_rr", "local_rr", "record_rr", "centred_rr", "pr", "qrs", "qt"}
_RR = ("pre_rr", "post_rr", "local_rr", "record_rr", "centred_rr")
BEAT_SOURCES = ("annotations", "detected")
RECORD_NORMALIZATIONS = ("record", None)


def window_bounds(window: Any, fs: float) -> tuple[int, int]:
    """(samples before the R peak, samples from it on) of a window given in seconds as a
    length (centred) or as ``(before, after)``."""
    if isinstance(window, (int, float)) and not isinstance(window, bool):
        n = round(check_positive(window, name="window") * fs)
        return n // 2, n - n // 2
    try:
        before, after = (float(v) for v in window)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"window must be seconds or (before, after) seconds, got {window!r}"
        ) from None
    if not (before >= 0 and after > 0 and np.isfinite(before + after)):
        raise InvalidParameterError(f"window (before, after) must be >= 0 and > 0, got {window}")
    return round(before * fs), round(after * fs)


@dataclass
class BeatSet:
    """Beats as arrays.

    Attributes
    ----------
    x : ndarray, float32, (n_beats, n_leads, n_samples)
    features : ndarray, float32, (n_beats, n_features)
        The columns ``feature_names`` (ms columns in s; the first/last beat's missing RR filled
        with the record's mean RR, missing ratios with 1).
    labels : ndarray, int64
        Index into ``classes``.
    meta : DataFrame
        One row per beat: ``record, patient, sample`` (at ``fs``), ``symbol``, ``label``,
        ``annotated_sample`` (for detected beats), the beat table's ``rhythm_irregularity`` and
        ``p_local`` (:data:`P_WAVE_FEATURES`), for :func:`ecgfast.evaluate.rhythm_gate`, and
        ``shape_share`` (:func:`shape_share`, the largest over ``shape_leads``, by default
        the leads read: a shape common on any lead), ``pre_rr_local``, ``pre_rr_record``
        (NaN where unknown) for :func:`ecgfast.evaluate.morphology_gate`.
    skipped : list of (path, reason)
        Records (or beats of them) left out, with the reason; never silently.
    detection : DataFrame
        Per record, for detected beats: annotated beats, detected, matched, missed, extra.
    shape_leads : tuple of str or None
        The leads ``shape_share`` was measured on (None: ``leads``).
    """

    x: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    meta: pd.DataFrame
    feature_names: tuple[str, ...]
    classes: tuple[str, ...]
    fs: float
    leads: tuple[str, ...]
    window: tuple[int, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    detection: pd.DataFrame | None = None
    shape_leads: tuple[str, ...] | None = None


def _skip(skipped: list[tuple[str, str]], path: Any, why: str) -> None:
    skipped.append((str(path), why))
    warnings.warn(f"skipped {path}: {why}", stacklevel=4)


def _channels(names: list[str], leads: Sequence[str], path: Any) -> list[int] | str:
    """Channel index per wanted lead (``"V"`` = the first precordial lead), or why not."""
    out = []
    for lead in leads:
        if lead == "V":
            first = _first_precordial(names)
            hits = [] if first is None else [first]
        else:
            hits = [i for i, n in enumerate(names) if n == lead]
        if not hits:
            return f"no lead {lead!r} (has {names})"
        out.append(hits[0])
    return out


def _lead_signals(record: Any, leads: Sequence[str], path: Any) -> np.ndarray | str:
    """The wanted leads of a ``wfdb.Record`` as float64 (leads, samples), or why not."""
    chans = _channels(list(record.sig_name), leads, path)
    if isinstance(chans, str):
        return chans
    return np.asarray(record.p_signal[:, chans], dtype=np.float64).T


def _read_wfdb(path: str | Path) -> tuple[str, Any, Any]:
    """A WFDB record given by its path with or without ``.hea``: (path without extension, the
    ``wfdb.Record``, its ``atr`` annotation or None when it has none). An unreadable record is
    an :class:`~ecgfast.InvalidParameterError`."""
    import wfdb

    path = str(path)
    path = str(Path(path).with_suffix("")) if path.endswith(".hea") else path
    try:
        record = wfdb.rdrecord(path)
    except Exception as exc:  # a missing or unreadable record: a clean error
        raise InvalidParameterError(f"cannot read WFDB record {path}: {exc}") from exc
    ann = wfdb.rdann(path, "atr") if Path(path + ".atr").exists() else None
    return path, record, ann


def _beat_annotations(ann: Any) -> tuple[np.ndarray, np.ndarray]:
    """(samples, symbols) of the beat annotations (:data:`QRS_SYMBOLS`) of a ``wfdb``
    annotation."""
    sym = np.asarray(ann.symbol)
    is_beat = np.isin(sym, list(QRS_SYMBOLS))
    return np.asarray(ann.sample)[is_beat], sym[is_beat]


def _fill_gaps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN/inf replaced by linear interpolation per lead (so filters do not spread them) and
    the mask of samples that were missing in any lead."""
    bad = ~np.isfinite(x)
    if not bad.any():
        return x, np.zeros(x.shape[-1], dtype=bool)
    out = x.copy()
    idx = np.arange(x.shape[-1])
    for lead in range(x.shape[0]):
        ok = ~bad[lead]
        out[lead] = np.interp(idx, idx[ok], x[lead, ok]) if ok.any() else 0.0
    return out, bad.any(axis=0)


def _match(detected: np.ndarray, annotated: np.ndarray, tol: int) -> np.ndarray:
    """For each detected beat, the index of the annotated beat within ``tol`` samples that
    is nearest (each annotated beat used once), or -1."""
    out = np.full(detected.size, -1, dtype=np.int64)
    if annotated.size == 0 or detected.size == 0:
        return out
    j = np.clip(np.searchsorted(annotated, detected), 1, annotated.size - 1)
    left, right = annotated[j - 1], annotated[j]
    nearest = np.where(np.abs(detected - left) <= np.abs(detected - right), j - 1, j)
    if annotated.size == 1:
        nearest = np.zeros(detected.size, dtype=np.int64)
    close = np.abs(annotated[nearest] - detected) <= tol
    used: set[int] = set()
    for i in np.argsort(np.abs(annotated[nearest] - detected), kind="stable"):
        k = int(nearest[i])
        if close[i] and k not in used:
            used.add(k)
            out[i] = k
    return out


def _feature_matrix(
    table: pd.DataFrame, names: Sequence[str], template: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """Selected beat-table columns (ms -> s): missing RR -> the record's mean RR, missing
    intervals and irregularity -> the record's median, missing ratios -> 1; P-wave features
    from the table, :data:`TEMPLATE_FEATURES` from ``template`` (:func:`_template_features`)."""
    cols = []
    record_rr = float(np.nanmean(table["record_rr"])) if len(table) else np.nan
    present = _has_p_wave(table)
    for name in names:
        if name in P_WAVE_FEATURES:
            cols.append(_p_wave_feature(table, name, present))
            continue
        if name in TEMPLATE_FEATURES or name in NEIGHBOUR_FEATURES:
            if template is None:
                raise InvalidParameterError(f"{name} needs the beats' windows")
            cols.append(template[name])
            continue
        v = table[name].to_numpy(dtype=np.float64, na_value=np.nan).copy()
        if name in _RR:
            v[~np.isfinite(v)] = record_rr
        elif name in _MS or name in ("rr_irregularity", "rhythm_irregularity"):
            med = np.nanmedian(v) if np.isfinite(v).any() else 0.0
            v[~np.isfinite(v)] = med
        else:
            v[~np.isfinite(v)] = 1.0
        cols.append(v / 1000.0 if name in _MS else v)
    if not cols:
        return np.zeros((len(table), 0), dtype=np.float32)
    return np.stack(cols, axis=1).astype(np.float32)


def _check_features(features: Sequence[str]) -> None:
    from .beats import FEATURES

    known = (*FEATURES, *P_WAVE_FEATURES, *TEMPLATE_FEATURES, *NEIGHBOUR_FEATURES)
    unknown = [f for f in features if f not in known]
    if unknown:
        raise InvalidParameterError(f"unknown features {unknown}; choose from {known}")


def _template_features(
    windows: np.ndarray, before: int, fs: float, qrs_ms: np.ndarray, ref: np.ndarray
) -> dict[str, np.ndarray]:
    """:data:`TEMPLATE_FEATURES` of one record's windows (beats, leads, samples; R at sample
    ``before``) and its beats' QRS widths (ms, NaN where not measured), against the usual
    beat ``ref``: (beats, leads, samples), one per beat, or (1, leads, samples) for all."""
    w = windows[:, 0].astype(np.float64)
    m = ref[:, 0].astype(np.float64)
    half = max(1, round(0.1 * fs))
    q = slice(max(0, before - half), min(w.shape[1], before + half + 1))
    scale = np.ptp(m[:, q], axis=1)
    fallback = float(np.std(w)) + 1e-9
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback)
    diff = (w - m) / scale[:, None]
    wq = w[:, q] - w[:, q].mean(axis=1, keepdims=True)
    mq = m[:, q] - m[:, q].mean(axis=1, keepdims=True)
    denom = np.linalg.norm(wq, axis=1) * np.linalg.norm(mq, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, (wq * mq).sum(axis=1) / np.where(denom > 0, denom, 1.0), 1.0)
    qrs = np.asarray(qrs_ms, dtype=np.float64)
    typical = np.nanmedian(qrs) if np.isfinite(qrs).any() else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = qrs / typical
    rel[~np.isfinite(rel)] = 1.0
    return {
        "template_correlation": corr,
        "template_qrs_peak": np.abs(diff[:, q]).max(axis=1),
        "template_qrs_rms": np.sqrt(np.mean(diff[:, q] ** 2, axis=1)),
        "template_rms": np.sqrt(np.mean(diff**2, axis=1)),
        "qrs_record": rel,
    }


def _neighbour_features(x: np.ndarray, pos: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """:data:`NEIGHBOUR_FEATURES` of every beat at ``pos`` of one recording's first lead ``x``
    (band-passed): QRS correlation with the beats 1 and 2 before and after (1.0 where there is
    no such beat or a flat QRS)."""
    half = max(1, round(0.1 * fs))
    at = np.clip(pos[:, None] + np.arange(-half, half + 1)[None, :], 0, x.size - 1)
    seg = x[at].astype(np.float64)
    seg -= seg.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(seg, axis=1)
    n = pos.size
    out = {}
    for name, k in zip(NEIGHBOUR_FEATURES, (-1, 1, -2, 2), strict=True):
        corr = np.ones(n)
        i = np.arange(max(0, -k), min(n, n - k))
        den = norm[i] * norm[i + k]
        num = (seg[i] * seg[i + k]).sum(axis=1)
        corr[i] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
        out[name] = corr
    return out


#: Dominant-beat template: beats within this many seconds of a template's centre ...
DOMINANT_SPAN = 60.0
#: ... one template every this many seconds, each beat compared with the nearest one ...
DOMINANT_HOP = 30.0
#: ... made of the beats that are not premature (pre-RR at least this fraction of the mean
#: of the previous beats' RR): the beats conducted from the dominant pacemaker.
DOMINANT_MIN_PRE_RR = 0.9
#: Fewest beats a template is made of (else every beat of the span, else the record's).
DOMINANT_MIN_BEATS = 8


def _dominant_beats(
    windows: np.ndarray, pos: np.ndarray, pre_rr_local: np.ndarray, fs: float
) -> np.ndarray:
    """Per beat, the record's dominant beat around it (beats, leads, samples): the median of
    the non-premature beats within :data:`DOMINANT_SPAN` s of the nearest template centre
    (every :data:`DOMINANT_HOP` s). It follows slow changes of the dominant morphology
    (posture, electrode position, axis shifts) that the record's one median beat cannot,
    while the premature beats of bigeminy or runs stay out of it."""
    pos = np.asarray(pos, dtype=np.float64)
    ok = np.asarray(pre_rr_local, dtype=np.float64) >= DOMINANT_MIN_PRE_RR
    hop, span = DOMINANT_HOP * fs, DOMINANT_SPAN * fs
    centre_of = np.round(pos / hop).astype(np.int64)
    record = None
    templates: dict[int, np.ndarray] = {}
    for c in np.unique(centre_of):
        near = np.abs(pos - c * hop) <= span
        pool = near & ok
        if pool.sum() < DOMINANT_MIN_BEATS:
            pool = near
        if pool.sum() < DOMINANT_MIN_BEATS:
            if record is None:
                record = np.median(windows, axis=0)
            templates[int(c)] = record
        else:
            templates[int(c)] = np.median(windows[pool], axis=0)
    return np.stack([templates[int(c)] for c in centre_of])


def _has_p_wave(table: pd.DataFrame) -> np.ndarray:
    """1.0 for the beats where the delineator found a P wave, else 0.0."""
    return table["p_peak"].notna().to_numpy(dtype=np.float64)


def p_wave_features(table: pd.DataFrame) -> pd.DataFrame:
    """The :data:`P_WAVE_FEATURES` of one record's beats.

    Parameters
    ----------
    table : DataFrame
        One record's :func:`ecgfast.beat_table`, beats in time order.

    Returns
    -------
    DataFrame
        ``p_present`` (1.0 where the delineator found a P wave), ``p_local`` (the fraction of
        the 11 beats around with one; :func:`ecgfast.evaluate.rhythm_gate` reads it) and
        ``pr_deviation`` (PR minus the record's median PR, s; 0 without a P wave), on
        ``table``'s index.
    """
    present = _has_p_wave(table)
    return pd.DataFrame(
        {name: _p_wave_feature(table, name, present) for name in P_WAVE_FEATURES},
        index=table.index,
    )


def _p_wave_feature(table: pd.DataFrame, name: str, present: np.ndarray) -> np.ndarray:
    """One of :data:`P_WAVE_FEATURES` for the beats of one record, in their order."""
    if name == "p_present":
        return present
    if name == "p_local":
        return (
            pd.Series(present).rolling(11, center=True, min_periods=1).mean().to_numpy(np.float64)
        )
    pr = table["pr"].to_numpy(dtype=np.float64, na_value=np.nan)
    med = np.nanmedian(pr) if np.isfinite(pr).any() else 0.0
    dev = (pr - med) / 1000.0
    dev[~np.isfinite(dev)] = 0.0
    return dev


@dataclass(frozen=True)
class _Options:
    leads: tuple[str, ...]
    fs: float | None
    window: Any
    band: tuple[float, float] | None
    normalize: str | None
    features: tuple[str, ...]
    beats: str
    classes: tuple[str, ...]
    tolerance: float
    template: bool | str = False
    shape_leads: tuple[str, ...] | None = None

    @property
    def extra_shape_leads(self) -> tuple[str, ...]:
        """Leads read for :func:`shape_share` only (in ``shape_leads``, not in ``leads``)."""
        return _extra_shape_leads(self.shape_leads, self.leads)


def _template_kind(template: Any) -> bool | str:
    """``template`` of :func:`read_beats`, checked: False (no template channel), True (the
    record's median beat; also ``"record"``) or ``"dominant"`` (:func:`_dominant_beats`)."""
    if template is None or template is False:
        return False
    if template is True or template == "record":
        return True
    if template == "dominant":
        return "dominant"
    raise InvalidParameterError(
        f"template must be True/'record', 'dominant' or False, got {template!r}"
    )


def _read_record(root: Path, rec: str, opt: _Options, skipped: list) -> dict[str, Any] | None:
    """Windows, features and meta of one record file (None when nothing usable; reported)."""
    import wfdb

    path = root / rec
    try:
        record = wfdb.rdrecord(str(path))
        ann = wfdb.rdann(str(path), "atr")
    except Exception as exc:  # unreadable record: report it, build from the others
        _skip(skipped, path, f"{type(exc).__name__}: {exc}")
        return None
    raw = _lead_signals(record, opt.leads, path)
    if isinstance(raw, str):
        _skip(skipped, path, raw)
        return None
    shape_raw = None
    if opt.extra_shape_leads:
        names = list(record.sig_name)
        # the shape leads the record has; without any, the shape share reads the model leads
        have = [v for v in opt.extra_shape_leads if isinstance(_channels(names, [v], path), list)]
        if len(have) < len(opt.extra_shape_leads):
            lacking = [v for v in opt.extra_shape_leads if v not in have]
            used = [v for v in opt.shape_leads or () if v in opt.leads or v in have]
            warnings.warn(
                f"{path}: no lead {lacking} (has {names}): its shape_share is measured on "
                f"{used or list(opt.leads)}",
                stacklevel=4,
            )
        if have:
            extra = _lead_signals(record, have, path)
            shape_raw = None if isinstance(extra, str) else extra
    got = beat_inputs(
        raw, float(record.fs), opt, *_beat_annotations(ann), skipped, path, shape_raw=shape_raw
    )
    if got is not None:
        got["meta"].insert(0, "record", rec)
        got["meta"].insert(1, "patient", patient_of(rec))
        if got["detection"] is not None:
            got["detection"]["record"] = rec
    return got


def _positions(
    x: np.ndarray, fs: float, src_fs: float, opt: _Options, samples: Any, symbols: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any] | None]:
    """Beat positions at ``fs``, their symbols, the annotated sample each stands for, and the
    detection counts (for detected beats)."""
    ann_pos = np.round(np.asarray(samples, dtype=np.float64) * fs / src_fs).astype(np.int64)
    ann_pos = np.clip(ann_pos, 0, x.shape[-1] - 1)
    ann_sym = np.asarray(symbols, dtype=object) if symbols is not None else None
    ann_pos, first = np.unique(ann_pos, return_index=True)
    ann_sym = None if ann_sym is None else ann_sym[first].astype(str)
    if opt.beats != "detected":
        sym = ann_sym if ann_sym is not None else np.full(ann_pos.size, "")
        return ann_pos, sym, ann_pos, None
    from .detect import detect_rpeaks

    other = x[1:] if x.shape[0] > 1 else None  # the other leads confirm close pairs
    pos = np.asarray(detect_rpeaks(x[0], fs, other_leads=other), dtype=np.int64)
    if ann_sym is None:
        return pos, np.full(pos.size, ""), np.full(pos.size, -1), None
    k = _match(pos, ann_pos, round(opt.tolerance * fs))
    counts = {
        "annotated": int(ann_pos.size),
        "detected": int(pos.size),
        "matched": int((k >= 0).sum()),
        "missed": int(ann_pos.size - (k >= 0).sum()),
        "extra": int((k < 0).sum()),
    }
    sym = np.where(k >= 0, ann_sym[np.maximum(k, 0)], "")
    return pos, sym, np.where(k >= 0, ann_pos[np.maximum(k, 0)], -1), counts


def _with_template(
    x: np.ndarray,
    windows: np.ndarray,
    table: pd.DataFrame,
    idx: np.ndarray,
    pos: np.ndarray,
    before: int,
    fs: float,
    opt: _Options,
) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """``windows`` of the beats ``idx`` with the template channels of ``opt.template`` (beat
    minus the record's median beat, or minus the dominant beat around it), and the
    :data:`TEMPLATE_FEATURES` against the same reference and the :data:`NEIGHBOUR_FEATURES`
    (from the band-passed recording ``x`` and every beat position ``pos``) when
    ``opt.features`` asks for them."""
    wants_features = any(name in TEMPLATE_FEATURES for name in opt.features)
    neighbours = None
    if any(name in NEIGHBOUR_FEATURES for name in opt.features):
        neighbours = {k: v[idx] for k, v in _neighbour_features(x[0], pos, fs).items()}
    if not (opt.template or wants_features):
        return windows, neighbours
    # the usual beat, computed once for the channel and the features
    if opt.template == "dominant":
        pre = table["pre_rr_local"].to_numpy(dtype=np.float64, na_value=np.nan)[idx]
        ref = _dominant_beats(windows, pos[idx], pre, fs)
    else:
        ref = np.median(windows, axis=0)[None]
    template = neighbours
    if wants_features:
        qrs = table["qrs"].to_numpy(dtype=np.float64, na_value=np.nan)[idx]
        template = {**_template_features(windows, before, fs, qrs, ref), **(neighbours or {})}
    if opt.template:
        windows = np.concatenate([windows, windows - ref], axis=1)
    return windows, template


def beat_inputs(
    raw: np.ndarray,
    src_fs: float,
    opt: _Options,
    samples: Any,
    symbols: Any = None,
    skipped: list | None = None,
    path: Any = "signal",
    *,
    shape_raw: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """The model inputs of one recording ``raw`` (leads, samples) at ``src_fs``: windows
    ``x``, ``features``, ``meta`` (sample, annotated_sample, symbol, label), detection counts.

    ``samples``/``symbols`` are the annotated beats (symbols None: unlabelled, every beat is
    kept with label -1). ``shape_raw``: the leads ``opt.extra_shape_leads`` of the same
    recording, read for the ``shape_share`` column only (None: the shape share reads the
    model leads among ``opt.shape_leads``, or all of them). Used by :func:`read_beats` and by
    :class:`ecgfast.Preprocessing`, so a trained model sees new recordings exactly as it was
    trained.
    """
    skipped = [] if skipped is None else skipped
    fs = opt.fs or src_fs
    x, missing = _conditioned(raw, src_fs, fs, opt.band)
    pos, beat_sym, annotated_sample, counts = _positions(x, fs, src_fs, opt, samples, symbols)
    if pos.size < 2:
        _skip(skipped, path, f"{pos.size} beats: too few for RR features")
        return None
    table = beat_table(x, fs, rpeaks=pos, leads=list(opt.leads))
    before, after = window_bounds(opt.window, fs)
    if symbols is None:
        keep_class = np.ones(pos.size, dtype=bool)
        labels = np.full(pos.size, -1)
    else:
        cls = np.array([AAMI_MAP.get(s, "") for s in beat_sym])
        keep_class = np.isin(cls, opt.classes)
        labels = np.array([opt.classes.index(c) if c in opt.classes else -1 for c in cls])
    fits = (pos - before >= 0) & (pos + after <= x.shape[-1])
    # windows within 2 s of a missing stretch are left out: the filters' response to the
    # interpolated gap reaches that far
    margin = round(2.0 * fs) if opt.band is not None else round(0.1 * fs)
    bad = np.concatenate([[0], np.cumsum(missing)])
    lo = np.clip(pos - before - margin, 0, x.shape[-1])
    hi = np.clip(pos + after + margin, 0, x.shape[-1])
    clean = bad[hi] - bad[lo] == 0
    keep = keep_class & fits & clean
    n_nan = int(np.sum(keep_class & fits & ~clean))
    if n_nan:
        _skip(skipped, path, f"{n_nan} beats left out: their window holds missing (NaN) samples")
    if not keep.any():
        _skip(skipped, path, "no usable beat of the wanted classes")
        return None
    idx = np.flatnonzero(keep)
    offsets = np.arange(-before, after)
    windows = np.transpose(x[:, pos[idx, None] + offsets[None, :]], (1, 0, 2))
    if opt.normalize == "record":
        windows = windows / _record_scale(table, x, opt.leads)[None, :, None]
    windows, template = _with_template(x, windows, table, idx, pos, before, fs, opt)
    meta = pd.DataFrame(
        {
            "sample": pos[idx],
            "annotated_sample": annotated_sample[idx],
            "symbol": beat_sym[idx],
            "label": labels[idx],
            # for decision rules that need the rhythm (evaluate.rhythm_gate), whatever the
            # features given to the model
            "rhythm_irregularity": table["rhythm_irregularity"].to_numpy(dtype=np.float64)[idx],
            "p_local": _p_wave_feature(table, "p_local", _has_p_wave(table))[idx],
            # for evaluate.morphology_gate
            "shape_share": _shape_shares(
                windows, pos[idx, None] + offsets[None, :], before, fs, opt, shape_raw, src_fs
            ),
            **{
                c: table[c].to_numpy(dtype=np.float64, na_value=np.nan)[idx]
                for c in ("pre_rr_local", "pre_rr_record")
            },
        }
    )
    return {
        "x": windows.astype(np.float32),
        "features": _feature_matrix(table.iloc[idx], opt.features, template),
        "meta": meta,
        "detection": counts,
        "fs": fs,
    }


def _conditioned(
    raw: np.ndarray, src_fs: float, fs: float, band: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` gap-filled, resampled to ``fs`` and band-passed, and the mask (at ``fs``) of
    the samples that were missing in any lead."""
    filled, missing = _fill_gaps(raw)
    x = resample(filled, src_fs, fs)
    if fs != src_fs:
        at = np.flatnonzero(missing)
        missing = np.zeros(x.shape[-1], dtype=bool)
        missing[np.clip(np.round(at * fs / src_fs).astype(np.int64), 0, x.shape[-1] - 1)] = True
    if band is not None:
        x = bandpass(x, fs, band[0], min(band[1], 0.45 * fs))
    return x, missing


def _shape_shares(
    windows: np.ndarray,
    at: np.ndarray,
    before: int,
    fs: float,
    opt: _Options,
    shape_raw: np.ndarray | None,
    src_fs: float,
) -> np.ndarray:
    """Per beat the largest :func:`shape_share` over the shape leads: the model leads among
    ``opt.shape_leads`` (all of them when it is None, or when the extra leads are not given)
    and the extra leads ``shape_raw``, conditioned as the model leads and cut at ``at``
    (beats, samples)."""
    names = opt.leads if opt.shape_leads is None else opt.shape_leads
    own = [j for j, v in enumerate(opt.leads) if v in names]
    if shape_raw is None and not own:  # the extra leads are missing: the model leads
        own = list(range(len(opt.leads)))
    shares = [shape_share(windows[:, j], before, fs) for j in own]
    if shape_raw is not None:
        extra, _ = _conditioned(shape_raw, src_fs, opt.fs or src_fs, opt.band)
        shares += [shape_share(lead[at], before, fs) for lead in extra]
    return np.max(shares, axis=0)


def shape_share(windows: np.ndarray, before: int, fs: float, *, n_ref: int = 300) -> np.ndarray:
    """How common each beat's QRS shape is in its recording, relative to the most common
    shapes: per beat, the share of the recording's beats (at most ``n_ref``, evenly spaced)
    whose QRS (R ± 100 ms) correlates above 0.9 with its own, divided by the 95th percentile
    of that share over the recording's beats (about 1 for the dominant beats, near 0 for a
    rare ectopic beat; :func:`ecgfast.evaluate.morphology_gate`).

    ``windows``: (beats, samples) of one lead of one recording, R at sample ``before``, at
    ``fs``. A flat QRS correlates with nothing. Windows that are not 2-D or not finite, ``fs``
    that is not a positive rate, ``before`` outside the windows or ``n_ref`` < 1 raise
    :class:`ecgfast.errors.InvalidParameterError`."""
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 2:
        raise InvalidParameterError(f"windows must be (beats, samples), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise InvalidParameterError("windows must be finite (no NaN or inf)")
    check_fs(fs)
    if not 0 <= before < max(w.shape[1], 1) or int(n_ref) < 1:
        raise InvalidParameterError(
            f"before must index the windows' {w.shape[1]} samples and n_ref be >= 1, got "
            f"{before} and {n_ref}"
        )
    share = _similar_share(w, before, fs, n_ref)
    if share.size == 0:
        return share
    top = float(np.quantile(share, 0.95))
    return share / top if top > 0 else share


def _similar_share(windows: np.ndarray, before: int, fs: float, n_ref: int) -> np.ndarray:
    """:func:`shape_share` before its division by the recording's 95th percentile: the share
    of the (at most ``n_ref``, evenly spaced) beats whose QRS correlates above 0.9 with each
    beat's."""
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 2 or len(w) == 0:
        return np.zeros(len(w), dtype=np.float64)
    half = max(1, round(0.1 * fs))
    s = w[:, max(0, before - half) : before + half + 1]
    s = s - s.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(s, axis=1, keepdims=True)
    s = np.divide(s, norm, out=np.zeros_like(s), where=norm > 0)
    ref = s[np.unique(np.linspace(0, len(s) - 1, min(n_ref, len(s))).round().astype(np.int64))]
    share = np.empty(len(s))
    for a in range(0, len(s), 8192):  # memory flat in the record's length (Holter records)
        share[a : a + 8192] = ((s[a : a + 8192] @ ref.T) > 0.9).mean(axis=1)
    return share


def _record_scale(table: pd.DataFrame, x: np.ndarray, leads: Sequence[str]) -> np.ndarray:
    """Per lead: the median QRS peak-to-peak amplitude of the record's beats (its SD if none)."""
    scale = np.ones(len(leads))
    for j, lead in enumerate(leads):
        pp = table[f"qrs_peak_to_peak_{lead}"].to_numpy(dtype=np.float64)
        med = np.nanmedian(pp) if np.isfinite(pp).any() else np.nan
        scale[j] = med if np.isfinite(med) and med > 0 else (x[j].std() + 1e-6)
    return scale


def read_beats(
    root: str | Path,
    records: Sequence[str] | None = None,
    *,
    leads: Sequence[str] = ("MLII",),
    fs: float | None = None,
    window: Any = (0.25, 0.45),
    band: tuple[float, float] | None = (0.5, 40.0),
    normalize: str | None = "record",
    features: Sequence[str] = BEAT_FEATURES,
    beats: str = "annotations",
    classes: Sequence[str] = AAMI_CLASSES,
    tolerance: float = 0.15,
    exclude: Sequence[str] = (),
    template: bool | str = False,
    shape_leads: Sequence[str] | None = None,
) -> BeatSet:
    """Read the annotated beats of WFDB records into arrays.

    Parameters
    ----------
    root : path
        Folder with ``.hea``, ``.dat``, ``.atr`` files.
    records : sequence of str, optional
        Record names (default: all in ``root``); missing records are an error.
    leads : sequence of str
        Leads by name (``"MLII"``; ``"V"`` = the record's first precordial lead, V1 in most
        MIT-BIH records). A record without them is skipped and reported.
    fs : float, optional
        Resample to this rate first (default: keep the record's).
    window : float or (before, after)
        Seconds around the beat position: a length (centred) or the time before and after it;
        ``(1.0, 1.2)`` holds the neighbouring beats too.
    band : (low, high) Hz or None
        Zero-phase Butterworth band-pass (order 2) before cutting; None keeps the raw signal.
    normalize : {"record", None}
        ``"record"``: each lead divided by the record's median QRS peak-to-peak amplitude.
    features : sequence of str
        Beat-table columns given beside the signal (:data:`BEAT_FEATURES` by default; any of
        :data:`ecgfast.beats.FEATURES`, :data:`P_WAVE_FEATURES`,
        :data:`TEMPLATE_FEATURES` and :data:`NEIGHBOUR_FEATURES`).
    beats : {"annotations", "detected"}
        Beat positions from the annotation file, or from :func:`ecgfast.detect_rpeaks` on
        the first lead (with the other ``leads`` as ``other_leads``, which drops P and T
        waves that mimic a QRS on the first), each detected beat taking the class of the
        annotated beat within
        ``tolerance`` seconds (unmatched detections are left out and counted in
        ``detection``).
    classes : sequence of str
        AAMI classes kept, in label order (e.g. ``("N", "S", "V", "F")`` leaves Q out).
    exclude : sequence of str
        Records that must not be read (e.g. the paced ones); asking for one is an error.
    template : bool or {"record", "dominant"}
        Also give, per lead, the beat minus the patient's usual beat (a channel each): how the
        beat differs from it, whatever the patient's morphology. True or ``"record"``: the
        record's median beat. ``"dominant"``: the dominant beat around each beat, which
        follows slow changes of morphology (:func:`_dominant_beats`: the median of the
        non-premature beats within a minute). :data:`TEMPLATE_FEATURES` use the same
        reference.
    shape_leads : sequence of str, optional
        Leads the ``meta`` column ``shape_share`` (:func:`shape_share`, for
        :func:`ecgfast.evaluate.morphology_gate`) is measured on, the largest taken; they may
        include leads the models do not read (read for this column only; a record without
        them has its shape share measured on ``leads``, with a warning). Default: ``leads``.

    Returns
    -------
    BeatSet
    """
    root = Path(root)
    names = wfdb_records(root, records)
    bad = sorted(set(names) & set(map(str, exclude)))
    if bad:
        raise InvalidParameterError(f"records {bad} are excluded here (e.g. paced records)")
    _check_features(features)
    if beats not in BEAT_SOURCES:
        raise InvalidParameterError(f"beats must be one of {BEAT_SOURCES}, got {beats!r}")
    if normalize not in RECORD_NORMALIZATIONS:
        raise InvalidParameterError(f"normalize must be one of {RECORD_NORMALIZATIONS}")
    classes = tuple(classes)
    if not classes or any(c not in AAMI_CLASSES for c in classes):
        raise InvalidParameterError(f"classes must be a subset of {AAMI_CLASSES}")
    leads = tuple(str(v) for v in ([leads] if isinstance(leads, str) else leads))
    if not leads or len(set(leads)) != len(leads):
        raise InvalidParameterError("leads must be distinct lead names")
    if band is not None:
        band = (float(band[0]), float(band[1]))
    opt = _Options(
        leads,
        None if fs is None else check_positive(fs, name="fs"),
        window,
        band,
        normalize,
        tuple(features),
        beats,
        classes,
        check_positive(tolerance, name="tolerance"),
        _template_kind(template),
        _checked_shape_leads(shape_leads),
    )
    window_bounds(window, 100.0)  # validate early
    skipped: list[tuple[str, str]] = []
    parts = [p for rec in names if (p := _read_record(root, rec, opt, skipped)) is not None]
    if not parts:
        raise InvalidParameterError(f"no usable beats in {root} for records {names}")
    rates = {p["fs"] for p in parts}
    if len(rates) > 1:
        raise InvalidParameterError(f"records have different rates {sorted(rates)}; pass fs=")
    out_fs = rates.pop()
    detection = None
    if beats == "detected":
        detection = pd.DataFrame([p["detection"] for p in parts]).set_index("record")
    return _assemble(parts, opt, float(out_fs), skipped, detection)


def _assemble(
    parts: list[dict[str, Any]],
    opt: _Options,
    fs: float,
    skipped: list[tuple[str, str]],
    detection: pd.DataFrame | None = None,
) -> BeatSet:
    """One BeatSet from the per-record parts of :func:`beat_inputs`."""
    return BeatSet(
        x=np.concatenate([p["x"] for p in parts]),
        features=np.concatenate([p["features"] for p in parts]),
        labels=np.concatenate([p["meta"]["label"].to_numpy(dtype=np.int64) for p in parts]),
        meta=pd.concat([p["meta"] for p in parts], ignore_index=True),
        feature_names=opt.features,
        classes=opt.classes,
        fs=fs,
        leads=opt.leads,
        window=window_bounds(opt.window, fs),
        skipped=skipped,
        detection=detection,
        shape_leads=opt.shape_leads,
    )


#: The default pathology mix of :func:`synthetic_beats`: per record, atrial fibrillation with
#: probability 0.15, bundle-branch block 0.08 + 0.08, and per-beat ectopic rates drawn
#: uniformly (premature atrial up to 0.15, ventricular up to 0.15, fusion up to 0.04).
PRETRAIN_MIX: dict[str, Any] = {
    "hr": (45.0, 120.0),
    "rhythm": {"af": 0.15},
    "conduction": {"lbbb": 0.08, "rbbb": 0.08},
    "ectopy": {"pac": (0.0, 0.15), "pvc": (0.0, 0.15), "fusion": (0.0, 0.04)},
}
#: A broader mix (2026-12-03): the default's AF, blocks and ectopy, plus atrial flutter, runs of
#: supraventricular and ventricular tachycardia, premature junctional beats, aberrant
#: conduction of premature atrial beats, and morphology that changes what a normal beat looks
#: like (axis deviation, low voltage, LVH, T inversion, Q waves; 5 % each).
PRETRAIN_MIX_BROAD: dict[str, Any] = {
    "hr": (45.0, 120.0),
    "rhythm": {"af": 0.12, "flutter": 0.04},
    "conduction": {"lbbb": 0.08, "rbbb": 0.08},
    "ectopy": {
        "pac": (0.0, 0.15),
        "pvc": (0.0, 0.15),
        "fusion": (0.0, 0.04),
        "svt": (0.0, 0.02),
        "junctional": (0.0, 0.03),
        "aberrant": (0.0, 0.3),
        "vt": (0.0, 0.01),
    },
    "morphology": {
        k: 0.05 for k in ("left_axis", "right_axis", "low_voltage", "lvh", "t_inversion", "q_waves")
    },
}
#: Named pretraining mixes (``BeatExperiment.pretrain_mix``, ``ecgfast beats --pretrain-mix``).
PRETRAIN_MIXES: dict[str, dict[str, Any]] = {"default": PRETRAIN_MIX, "broad": PRETRAIN_MIX_BROAD}


def synthetic_beats(
    n_records: int,
    *,
    seed: int = 0,
    start: int = 0,
    duration: float = 60.0,
    fs: float = 360.0,
    lead: str = "II",
    window: Any = (0.25, 0.45),
    band: tuple[float, float] | None = (0.5, 40.0),
    normalize: str | None = "record",
    features: Sequence[str] = BEAT_FEATURES,
    classes: Sequence[str] = ("N", "S", "V", "F"),
    template: bool | str = False,
    chunk: int = 32,
    progress: bool = False,
    **synth_params: Any,
) -> BeatSet:
    """Labelled beats of synthetic records with pathology (:func:`ecgfast.synthesize`), built
    by exactly the pipeline of :func:`read_beats` (band-pass, beat table, record
    normalisation, windows, RR features), so that a model pretrained on them sees what it
    will see on real records. Beat classes come from the generator (N, L, R -> N; A -> S;
    V -> V; F -> F); beat positions are the exact R peaks.

    Parameters
    ----------
    n_records : int
        Synthetic records (patients): record ``i`` depends only on ``(seed, i)``.
    start : int
        Index of the first record (e.g. validation records after the training ones).
    duration, fs, lead
        Record length (s), sampling rate (Hz) and the one lead generated (e.g. ``"II"``,
        which stands for MIT-BIH's MLII).
    window, band, normalize, features, classes, template
        As :func:`read_beats`.
    chunk : int
        Records generated per core call (memory).
    progress : bool
        tqdm progress bar.
    **synth_params
        Parameters of :func:`ecgfast.synthesize`, over :data:`PRETRAIN_MIX`.

    Returns
    -------
    BeatSet
        ``meta["record"]`` is ``"syn<i>"``.
    """
    from tqdm.auto import tqdm

    from ._validate import check_int
    from .synth import synthesize

    n_records = check_int(n_records, name="n_records", low=1, high=10**8)
    chunk = check_int(chunk, name="chunk", low=1, high=10**5)
    params = {**PRETRAIN_MIX, **synth_params}
    _check_features(features)
    opt = _Options(
        (str(lead),),
        None,
        window,
        band,
        normalize,
        tuple(features),
        "annotations",
        tuple(classes),
        0.15,
        _template_kind(template),
    )
    window_bounds(window, fs)
    skipped: list[tuple[str, str]] = []
    parts = []
    bar = tqdm(total=n_records, desc="synthetic beats", unit="rec", disable=not progress)
    for lo in range(0, n_records, chunk):
        hi = min(n_records, lo + chunk)
        b = synthesize(
            hi - lo, seed=seed, start=start + lo, fs=fs, duration=duration, leads=lead, **params
        )
        for rec, beats in b.beats.groupby("record", sort=True):
            raw = b.signals[int(rec) - start - lo].astype(np.float64)
            got = beat_inputs(
                raw,
                b.fs,
                opt,
                beats["sample"].to_numpy(),
                beats["symbol"].astype(str).to_numpy(),
                skipped,
                f"synthetic record {rec}",
            )
            if got is not None:
                got["meta"].insert(0, "record", f"syn{rec}")
                got["meta"].insert(1, "patient", f"syn{rec}")
                parts.append(got)
        bar.update(hi - lo)
    bar.close()
    if not parts:
        raise InvalidParameterError("no synthetic beat fits the window; use longer records")
    return _assemble(parts, opt, float(fs), skipped)
