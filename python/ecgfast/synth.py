"""Synthetic 12-lead ECG with exact labels: :func:`synthesize` and :func:`synthesize_to`.

The generator (Rust core, ``rust/synth``) is the ECGSYN model of McSharry et al. (2003)
generalised to a 3-D cardiac dipole as in Sameni et al. (2007): Gaussian P, Q, R, S and two T
waves per beat, each with a 3-D amplitude, projected to the 12 standard leads with Dower's
matrix (III, aVR, aVL and aVF follow exactly from I and II). Wave timing comes from the requested
PR, QRS and QT, so the labels are exact. RR intervals follow McSharry's bimodal spectrum
(Mayer waves and respiratory sinus arrhythmia).

Fiducials (one meaning, shared with :func:`ecgfast.delineate`): a wave's onset/offset is where
its Gaussian falls to 5 % of its peak (``μ ∓ 2.448 σ``); QRS onset is the Q wave's onset, QRS
offset the S wave's offset, T offset the offset of the later T Gaussian; R peak is the centre of
the R wave, T peak the maximum of the T wave. PR = QRS onset − P onset, QRS = QRS offset − QRS
onset, QT = T offset − QRS onset. Record labels are medians over the record's beats (beats whose
R peak lies in the record, intervals whose two ends do); HR = 60 000 / median RR;
QTc (Bazett, Fridericia) = record QT / √RR, / ∛RR with the median RR in seconds.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from ._validate import check_float, check_int
from .beats import _frame as _beat_frame
from .beats import feature_columns
from .errors import InvalidParameterError

__all__ = [
    "AV_BLOCKS",
    "BEAT_CLASSES",
    "BEAT_SYMBOLS",
    "LEAD_NAMES",
    "MORPHOLOGIES",
    "POPULATIONS",
    "SNOMED",
    "SUPERCLASSES",
    "TERRITORIES",
    "SynthBatch",
    "synthesize",
    "synthesize_to",
]

LEAD_NAMES, _PARAM_ORDER, _LABELS, FIDUCIALS, BEAT_SYMBOLS = (
    tuple(_core.schema()[k]) for k in ("leads", "params", "labels", "fiducials", "beat_symbols")
)
#: AAMI EC57 class of each synthetic beat symbol.
BEAT_CLASSES = {
    "N": "N",
    "L": "N",
    "R": "N",
    "j": "N",
    "A": "S",
    "V": "V",
    "E": "V",
    "J": "S",
    "a": "S",
    "F": "F",
    "/": "Q",
}
#: SNOMED CT codes of the diagnoses a synthetic record can carry (the coding of the
#: PhysioNet/CinC 2021 data), by abbreviation.
SNOMED = {
    "NSR": 426783006,  # sinus rhythm
    "SB": 426177001,  # sinus bradycardia (sinus, HR < 60)
    "STach": 427084000,  # sinus tachycardia (sinus, HR > 100)
    "IAVB": 270492004,  # 1st degree AV block (PR > 200 ms)
    "PR": 10370003,  # pacing rhythm
    "AF": 164889003,  # atrial fibrillation
    "AFL": 164890007,  # atrial flutter
    "PAC": 284470004,  # premature atrial contraction
    "PVC": 427172004,  # premature ventricular contractions
    "PVT": 425856008,  # paroxysmal ventricular tachycardia (a run of >= 3 ventricular beats)
    "SVT": 426761007,  # supraventricular tachycardia (a run of >= 3 premature atrial beats)
    "JPC": 251164006,  # junctional premature complex
    "VBig": 11157007,  # ventricular bigeminy
    "VTrig": 251180001,  # ventricular trigeminy
    "FB": 13640000,  # fusion beats
    "LBBB": 164909002,  # left bundle branch block
    "RBBB": 59118001,  # right bundle branch block
    "SARR": 5609005,  # sinus arrest (a sinus pause in the record)
    "MoI": 54016002,  # Mobitz type I (Wenckebach) second-degree AV block
    "IIAVBII": 426183003,  # Mobitz type II second-degree AV block
    "CHB": 27885002,  # complete (third-degree) heart block
    "JE": 426995002,  # junctional escape
    "VEsR": 81898007,  # ventricular escape rhythm
    "STE": 164931005,  # ST elevation
    "STD": 429622005,  # ST depression
    "TInv": 59931005,  # T wave inversion
    "QAb": 164917005,  # Q wave abnormal
    "LVH": 164873001,  # left ventricular hypertrophy
    "LQRSV": 251146004,  # low QRS voltages
    "LAD": 39732003,  # left axis deviation
    "RAD": 47665007,  # right axis deviation
    "LQT": 111975006,  # prolonged QT (Fridericia QTc > 460 ms; narrow QRS, no PVC, not paced)
    "RVH": 89792004,  # right ventricular hypertrophy
    "LAnFB": 445118002,  # left anterior fascicular block
}
#: Record morphology options of ``synthesize(morphology=...)``.
MORPHOLOGIES = (
    "st_elevation",
    "st_depression",
    "t_inversion",
    "q_waves",
    "lvh",
    "low_voltage",
    "left_axis",
    "right_axis",
    "rvh",
    "lafb",
)
#: Territories in the order of the ``param_territory`` label (0 = none).
TERRITORIES = ("none", "anterior", "inferior", "lateral")
#: AV blocks in the order of the ``param_av_block`` label (0 = none).
AV_BLOCKS = ("none", "wenckebach", "mobitz2", "complete")
_BUNDLE_BRANCH_BLOCKS = ("lbbb", "rbbb")
#: PTB-XL diagnostic superclasses (Strodthoff et al. 2020), in column order.
SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
#: PVC patterns in the order of the ``param_pvc_pattern`` label.
PVC_PATTERNS = ("isolated", "couplets", "bigeminy", "trigeminy")

#: Every range parameter: (default (low, high), sampled uniformly per record, or None;
#: plausibility limits, outside which InvalidParameterError is raised). Intervals in ms, HR in
#: bpm; the noise sources' amplitudes in mV (mild, as in a decent resting recording).
PARAMETERS: dict[str, tuple[tuple[float, float] | None, tuple[float, float]]] = {
    "hr": ((50.0, 95.0), (20.0, 250.0)),
    "hrv": ((10.0, 50.0), (0.0, 300.0)),
    "pr": ((120.0, 200.0), (60.0, 400.0)),
    "qrs": ((70.0, 110.0), (40.0, 250.0)),
    "qt": (None, (150.0, 700.0)),
    "qtc": ((380.0, 440.0), (250.0, 700.0)),
    "baseline": ((0.0, 0.1), (0.0, 5.0)),
    "powerline": ((0.0, 0.02), (0.0, 5.0)),
    "emg": ((0.0, 0.02), (0.0, 5.0)),
    "motion": ((0.0, 0.1), (0.0, 10.0)),
    "pac": (None, (0.0, 0.5)),
    "pvc": (None, (0.0, 0.5)),
    "fusion": (None, (0.0, 0.5)),
    "pause": (None, (0.0, 0.5)),
    "vt": (None, (0.0, 0.5)),
    "svt": (None, (0.0, 0.5)),
    "junctional": (None, (0.0, 0.5)),
    "aberrant": (None, (0.0, 1.0)),
}
_ECTOPY = ("pac", "pvc", "fusion", "pause", "vt", "svt", "junctional", "aberrant")
_NOISE_SOURCES = ("baseline", "powerline", "emg", "motion")

#: Default ranges of the heart and interval parameters (realistic resting adults).
DEFAULTS: dict[str, tuple[float, float]] = {
    k: d
    for k, (d, _) in PARAMETERS.items()
    if d is not None and k not in _NOISE_SOURCES and k not in _ECTOPY
}
#: Default noise amplitudes in mV, sampled per record. The default has no powerline noise at
#: fs <= 120 Hz, where 60 Hz is at or above Nyquist (a 50 Hz hum can still be asked for
#: explicitly at 100 < fs <= 120 Hz).
DEFAULT_NOISE: dict[str, tuple[float, float]] = {
    k: d for k, (d, _) in PARAMETERS.items() if d is not None and k in _NOISE_SOURCES
}
#: Plausibility limits; values outside raise InvalidParameterError.
LIMITS: dict[str, tuple[float, float]] = {k: lim for k, (_, lim) in PARAMETERS.items()}

MAX_DURATION = 48 * 3600.0

#: Populations the dipole model's records are drawn from (``synthesize(population=...)``).
POPULATIONS = ("standard", "ludb")
#: Default interval and rate ranges that differ from :data:`DEFAULTS` by population: "ludb"
#: is fitted to LUDB's sinus records 1-100 as measured by ecgfast's delineator (median HR 62
#: bpm, QRS 88 ms, QT 408 ms; benches/realism.py).
POPULATION_DEFAULTS: dict[str, dict[str, tuple[float, float]]] = {
    "standard": {},
    "ludb": {"hr": (48.0, 85.0), "pr": (125.0, 200.0), "qrs": (80.0, 118.0), "qtc": (400.0, 460.0)},
}


@dataclass
class SynthBatch:
    """A batch of synthetic ECG records with their ground truth.

    Attributes
    ----------
    signals : ndarray, float32, shape (n, n_leads, n_samples)
        The ECG in mV.
    labels : DataFrame
        One row per record (index = record number in the stream): ``hr`` (bpm), ``rr_std``,
        ``pr``, ``qrs``, ``qt``, ``qtc_bazett``, ``qtc_fridericia`` (ms), ``n_beats``, then the
        sampled generator parameters (``param_*``; ``param_qtc`` is the Fridericia QTc the
        record's beats were generated with).
    beats : DataFrame
        One row per beat: ``record, beat, p_on, p_peak, p_off, qrs_on, r_peak, qrs_off, t_on,
        t_peak, t_off`` as sample indices (nullable Int64; <NA> where the point lies outside the
        record).
    fs : float
        Sampling rate in Hz.
    lead_names : tuple of str
    """

    signals: np.ndarray
    labels: pd.DataFrame
    beats: pd.DataFrame
    fs: float
    lead_names: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.signals.shape[0]

    def __repr__(self) -> str:
        n, leads, samples = self.signals.shape
        return (
            f"SynthBatch({n} records x {leads} leads x {samples} samples at {self.fs:g} Hz, "
            f"{len(self.beats)} beats)"
        )

    def plot(self, i: int = 0, **kwargs: Any):
        """Draw record ``i`` with its fiducials (see :func:`ecgfast.plot.ecg`)."""
        from .plot import ecg

        return ecg(self, i, **kwargs)


def _as_bounds(name: str, value: Any, n: int, limits: tuple[float, float]) -> np.ndarray:
    """Scalar -> fixed, (low, high) -> uniform range, array of length n -> per record."""
    lo_lim, hi_lim = limits
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a number, a (low, high) pair or an array")
    if isinstance(value, numbers.Real):
        out = np.full((n, 2), float(value))
    elif isinstance(value, tuple) and len(value) == 2:
        lo, hi = (float(v) for v in value)
        if not lo <= hi:
            raise InvalidParameterError(f"{name} range must have low <= high, got {value!r}")
        out = np.tile([lo, hi], (n, 1))
    else:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"{name} must be a number, a (low, high) tuple or an array of length n: {exc}"
            ) from exc
        if arr.ndim != 1 or arr.shape[0] != n:
            raise InvalidParameterError(
                f"{name} array must have length n={n}, got shape {arr.shape} "
                "(use a tuple for a (low, high) range)"
            )
        out = np.repeat(arr[:, None], 2, axis=1)
    if not np.all(np.isfinite(out)):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    if out.size and (out.min() < lo_lim or out.max() > hi_lim):
        raise InvalidParameterError(
            f"{name} must lie within [{lo_lim:g}, {hi_lim:g}], got {value!r}"
        )
    return out


def _noise_bounds(noise: Any, n: int, fs: float) -> tuple[dict[str, np.ndarray], float]:
    """Amplitude bounds per noise source and the powerline frequency (0: 50 or 60 at random).

    Powerline noise the sampling rate cannot carry is an error when asked for, and absent from
    the default (see :data:`DEFAULT_NOISE`): never dropped while the labels report it."""
    keys = tuple(DEFAULT_NOISE)
    freq = 0.0
    if noise is None or (isinstance(noise, str) and noise == "default"):
        spec: dict[str, Any] = dict(DEFAULT_NOISE)
    elif isinstance(noise, Mapping):
        unknown = set(noise) - set(keys) - {"powerline_freq"}
        if unknown:
            raise InvalidParameterError(
                f"unknown noise source(s) {sorted(unknown)}; use {', '.join(keys)}, powerline_freq"
            )
        spec = {k: noise.get(k, DEFAULT_NOISE[k]) for k in keys}
        freq = noise.get("powerline_freq", 0.0) or 0.0
        if freq not in (0.0, 50.0, 60.0, 50, 60):
            raise InvalidParameterError(f"powerline_freq must be 50 or 60 Hz, got {freq!r}")
    elif isinstance(noise, numbers.Real) and not isinstance(noise, bool):
        if not np.isfinite(float(noise)) or noise < 0:
            raise InvalidParameterError(f"noise scale must be finite and >= 0, got {noise!r}")
        spec = {k: (lo * noise, hi * noise) for k, (lo, hi) in DEFAULT_NOISE.items()}
    else:
        raise InvalidParameterError(
            "noise must be None (default), a scale factor (0 = clean) or a dict of "
            f"{', '.join(keys)} amplitudes in mV; got {noise!r}"
        )
    bounds = {k: _as_bounds(f"noise[{k!r}]", spec[k], n, LIMITS[k]) for k in keys}
    highest = float(freq) or 60.0  # random choice: 50 or 60 Hz
    if highest >= fs / 2 and bounds["powerline"].size and bounds["powerline"].max() > 0:
        if isinstance(noise, Mapping) and "powerline" in noise:
            raise InvalidParameterError(
                f"powerline noise at {highest:g} Hz cannot be represented at fs={fs:g} Hz "
                f"(Nyquist {fs / 2:g} Hz); set noise['powerline']=0"
                + (", or powerline_freq=50" if fs > 100 else "")
            )
        bounds["powerline"] = np.zeros_like(bounds["powerline"])  # the documented default
    return bounds, float(freq)


def _probability(name: str, value: Any, n: int) -> np.ndarray:
    """A probability: a number in [0, 1] or an array of length n, as fixed bounds."""
    if isinstance(value, tuple):
        raise InvalidParameterError(f"{name} is a probability: a number in [0, 1] or an array")
    return _as_bounds(name, value, n, (0.0, 1.0))


def _one_of(
    name: str, value: Any, default: str, options: tuple[str, ...], n: int
) -> dict[str, np.ndarray] | None:
    """Per-record probabilities of mutually exclusive named states (``options``; the rest is
    ``default``) from a name, ``{option: p}`` or None; None for any other kind of value."""
    zero = np.zeros((n, 2))
    names = ", ".join(f"'{o}'" for o in (default, *options))
    if value is None or (isinstance(value, str) and value == default):
        return dict.fromkeys(options, zero)
    if isinstance(value, str):
        if value not in options:
            example = ", ".join(f"'{o}': {v}" for o, v in zip(options, "pq", strict=False))
            raise InvalidParameterError(f"{name} must be {names} or {{{example}}}, got {value!r}")
        return {o: np.ones((n, 2)) if o == value else zero for o in options}
    if isinstance(value, Mapping):
        unknown = set(value) - {default, *options}
        if unknown:
            raise InvalidParameterError(f"unknown {name}(s) {sorted(unknown)}; use {names}")
        return {o: _probability(f"{name}[{o!r}]", value.get(o, 0.0), n) for o in options}
    return None


def _check_names(kind: str, given: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(given) - set(allowed)
    if unknown:
        raise InvalidParameterError(f"unknown {kind} {sorted(unknown)}; use {', '.join(allowed)}")


def _morphology_bounds(morphology: Any, n: int) -> dict[str, np.ndarray]:
    """Per-record probabilities of each morphology option (independent of one another)."""
    if morphology is None:
        return {k: np.zeros((n, 2)) for k in MORPHOLOGIES}
    if isinstance(morphology, str):
        morphology = [morphology]
    if isinstance(morphology, (list, tuple)) and all(isinstance(m, str) for m in morphology):
        morphology = dict.fromkeys(morphology, 1.0)
    if not isinstance(morphology, Mapping):
        raise InvalidParameterError(
            "morphology must be a name, a list of names or a dict of probabilities such as "
            f"{{'st_elevation': 0.1, 'lvh': 0.05}}; got {morphology!r}"
        )
    _check_names("morphology", morphology, MORPHOLOGIES)
    return {k: _probability(f"morphology[{k!r}]", morphology.get(k, 0.0), n) for k in MORPHOLOGIES}


def _pathology_bounds(rhythm: Any, ectopy: Any, conduction: Any, n: int) -> dict[str, Any]:
    """Bounds of the pathology parameters of the core (probabilities and rates per record)."""
    rhythms = _one_of("rhythm", rhythm, "sinus", ("af", "paced", "flutter"), n)
    if rhythms is None:  # a number or an array: the probability of atrial fibrillation
        zero = np.zeros((n, 2))
        rhythms = {"af": _probability("rhythm", rhythm, n), "paced": zero, "flutter": zero}
    if ectopy is None:
        ectopy = {}
    if not isinstance(ectopy, Mapping):
        raise InvalidParameterError(
            "ectopy must be a dict of per-beat rates, e.g. {'pvc': 0.05, 'pac': (0, 0.1)}; "
            f"got {ectopy!r}"
        )
    _check_names("ectopy", ectopy, _ECTOPY)
    rates = {k: _as_bounds(f"ectopy[{k!r}]", ectopy.get(k, 0.0), n, LIMITS[k]) for k in _ECTOPY}
    blocks = _conduction_bounds(conduction, n)
    return {
        "af": rhythms["af"],
        "pac_rate": rates["pac"],
        "pvc_rate": rates["pvc"],
        "fusion_rate": rates["fusion"],
        "lbbb": blocks["lbbb"],
        "rbbb": blocks["rbbb"],
        "paced": rhythms["paced"],
        "pause_rate": rates["pause"],
        "wenckebach": blocks["wenckebach"],
        "mobitz2": blocks["mobitz2"],
        "complete_avb": blocks["complete"],
        "vt_rate": rates["vt"],
        "flutter": rhythms["flutter"],
        "svt_rate": rates["svt"],
        "junctional_rate": rates["junctional"],
        "aberrant": rates["aberrant"],
    }


def _conduction_bounds(conduction: Any, n: int) -> dict[str, np.ndarray]:
    """Per-record probabilities of the bundle-branch blocks and, independently, of the AV
    blocks (each group mutually exclusive)."""
    av = AV_BLOCKS[1:]
    options = (*_BUNDLE_BRANCH_BLOCKS, *av)
    probs = _one_of("conduction", conduction, "normal", options, n)
    if probs is None:
        raise InvalidParameterError(
            f"conduction must be 'normal', one of {', '.join(repr(o) for o in options)}, or a "
            f"dict of probabilities such as {{'lbbb': 0.1, 'wenckebach': 0.05}}; got {conduction!r}"
        )
    for group, what in ((_BUNDLE_BRANCH_BLOCKS, "bundle-branch"), (av, "AV-block")):
        if n and np.any(sum(probs[o][:, 0] for o in group) > 1.0 + 1e-12):
            raise InvalidParameterError(
                f"conduction: the {what} probabilities ({', '.join(group)}) must sum to at most 1"
            )
    return probs


def _lead_indices(leads: Any) -> list[int]:
    if isinstance(leads, str):
        if leads == "12":
            return list(range(12))
        leads = [leads]
    try:
        names = list(leads)
    except TypeError as exc:
        raise InvalidParameterError(
            f"leads must be '12', a lead name or a list: {leads!r}"
        ) from exc
    if not names:
        raise InvalidParameterError("leads must not be empty")
    lookup = {name.lower(): i for i, name in enumerate(LEAD_NAMES)}
    out = []
    for name in names:
        if not isinstance(name, str) or name.lower() not in lookup:
            raise InvalidParameterError(
                f"unknown lead {name!r}; choose from {', '.join(LEAD_NAMES)}"
            )
        out.append(lookup[name.lower()])
    return out


def _check_timing(b: dict[str, np.ndarray], duration: float, given: dict[str, Any]) -> None:
    """Interval bounds that cannot make a beat (``given``: the values as the user passed them,
    for the messages)."""
    hr, pr, qrs, qt = (given[k] for k in ("hr", "pr", "qrs", "qt"))
    rr_min = 60.0 / b["hr"][:, 1]  # s, shortest mean RR of each record
    if np.any(duration < 60.0 / b["hr"][:, 0]):
        raise InvalidParameterError(
            f"duration={duration:g} s is shorter than one beat at the lowest heart rate"
        )
    if np.any(b["pr"][:, 0] <= b["qrs"][:, 1]):
        raise InvalidParameterError(
            "PR must be longer than QRS (PR = QRS onset - P onset includes the P wave): "
            f"got pr={pr!r}, qrs={qrs!r}"
        )
    if qt is not None:
        if np.any(b["qt"][:, 0] <= b["qrs"][:, 1] + 60.0):
            raise InvalidParameterError(
                f"QT must exceed QRS by at least 60 ms: got qt={qt!r}, qrs={qrs!r}"
            )
        if np.any(b["qt"][:, 1] / 1000.0 >= 0.9 * rr_min):
            raise InvalidParameterError(
                f"QT too long for the RR interval: qt={qt!r} ms at hr={hr!r} bpm "
                "(QT must stay below 90 % of the RR interval)"
            )
    if np.any(b["pr"][:, 1] / 1000.0 + 0.1 >= rr_min):
        raise InvalidParameterError(
            f"PR too long for the heart rate: pr={pr!r} ms at hr={hr!r} bpm"
        )


def _resolve(
    n: int,
    *,
    hr: Any,
    pr: Any,
    qrs: Any,
    qt: Any,
    qtc: Any,
    hrv: Any,
    fs: Any,
    duration: Any,
    noise: Any,
    rhythm: Any = None,
    ectopy: Any = None,
    conduction: Any = None,
    morphology: Any = None,
) -> tuple[np.ndarray, float, int]:
    """Validate everything and build the (n, n_params, 2) bounds array for the core.

    Scalars and ranges are checked even when ``n == 0`` (on one virtual record)."""
    from ._validate import check_fs

    n_out, n = n, max(n, 1)
    arrays = [v for v in (hr, pr, qrs, qt, qtc, hrv, rhythm) if isinstance(v, (np.ndarray, list))]
    if n_out == 0 and arrays:
        n = 0  # per-record arrays must then be empty
    fs = check_fs(fs)
    if fs < 100:
        raise InvalidParameterError(f"fs must be >= 100 Hz for synthesis, got {fs:g}")
    if isinstance(duration, bool) or not isinstance(duration, numbers.Real):
        raise InvalidParameterError(f"duration must be a number of seconds, got {duration!r}")
    duration = float(duration)
    if not np.isfinite(duration) or duration <= 0 or duration > MAX_DURATION:
        raise InvalidParameterError(
            f"duration must be in (0, {MAX_DURATION:g}] seconds, got {duration!r}"
        )
    b = {
        "hr": _as_bounds("hr", hr, n, LIMITS["hr"]),
        "hrv": _as_bounds("hrv", hrv, n, LIMITS["hrv"]),
        "pr": _as_bounds("pr", pr if pr is not None else DEFAULTS["pr"], n, LIMITS["pr"]),
        "qrs": _as_bounds("qrs", qrs if qrs is not None else DEFAULTS["qrs"], n, LIMITS["qrs"]),
        "qtc": _as_bounds("qtc", qtc if qtc is not None else DEFAULTS["qtc"], n, LIMITS["qtc"]),
    }
    b["qt"] = _as_bounds("qt", qt, n, LIMITS["qt"]) if qt is not None else np.full((n, 2), np.nan)
    noise_b, pl_freq = _noise_bounds(noise, n, fs)
    if n:
        _check_timing(b, duration, given={"hr": hr, "pr": pr, "qrs": qrs, "qt": qt})
    order = {
        "hr": b["hr"],
        "hrv": b["hrv"],
        "pr": b["pr"],
        "qrs": b["qrs"],
        "qt": b["qt"],
        "qtc": b["qtc"],
        "noise_baseline": noise_b["baseline"],
        "noise_powerline": noise_b["powerline"],
        "noise_emg": noise_b["emg"],
        "noise_motion": noise_b["motion"],
        "powerline_freq": np.full((n, 2), pl_freq),
        **_pathology_bounds(rhythm, ectopy, conduction, n),
        **_morphology_bounds(morphology, n),
    }
    bounds = np.stack([order[name] for name in _PARAM_ORDER], axis=1)[:n_out]
    n_samples = round(duration * fs)
    return np.ascontiguousarray(bounds), fs, n_samples


_AAMI = ("N", "S", "V", "F", "Q")
_SYMBOL_DTYPE = pd.CategoricalDtype(list(BEAT_SYMBOLS))
_AAMI_DTYPE = pd.CategoricalDtype(list(_AAMI))
_AAMI_CODE = np.array([_AAMI.index(BEAT_CLASSES[sym]) for sym in BEAT_SYMBOLS])


def _beats_frame(
    beats_arr: np.ndarray, features: np.ndarray, lead_names: Sequence[str]
) -> pd.DataFrame:
    """The beat table (:mod:`ecgfast.beats` columns) of synthetic beats: ``record``, ``beat``,
    ``symbol`` (MIT-BIH beat symbol) and ``aami`` (its AAMI class), ``sample`` (= the R
    peak), the exact fiducials (``<NA>`` outside the record) and the features from the exact
    wave times."""
    codes = beats_arr[:, -1]
    extra = {
        "record": beats_arr[:, 0].copy(),
        "beat": beats_arr[:, 1].copy(),
        # with a ready dtype: categories= would validate them on every call (~0.07 ms each)
        "symbol": pd.Categorical.from_codes(codes, dtype=_SYMBOL_DTYPE),
        "aami": pd.Categorical.from_codes(_AAMI_CODE[codes], dtype=_AAMI_DTYPE),
    }
    fiducials = beats_arr[:, 2 : 2 + len(FIDUCIALS)]
    return _beat_frame(fiducials[:, 4], fiducials, features, lead_names, extra)


def _morphology_findings(
    labels: Mapping[str, np.ndarray], paced: np.ndarray, n_ventricular: np.ndarray
) -> dict[str, np.ndarray]:
    """Per record, whether each morphology code of :data:`SNOMED` applies (in dx order)."""
    st = labels["param_st_shift"]
    axis = labels["param_axis_deviation"]
    return {
        "STE": st > 0,
        "STD": st < 0,
        "TInv": labels["param_t_inversion"] > 0,
        "QAb": labels["param_q_waves"] > 0,
        "LVH": labels["param_lvh"] > 0,
        "LQRSV": labels["param_low_voltage"] > 0,
        "LAD": axis == 1,
        "RAD": axis == 2,
        "RVH": labels["param_rvh"] > 0,
        "LAnFB": labels["param_lafb"] > 0,
        # a long QT of narrow-QRS beats (wide, paced or ventricular beats have long QTs anyway,
        # and the record QT is a median over all beats)
        "LQT": (labels["qtc_fridericia"] > 460)
        & (labels["qrs"] < 120)
        & ~paced
        & (n_ventricular == 0),
    }


def _superclasses(
    morph: dict[str, np.ndarray], paced: np.ndarray, conduction_disturbance: np.ndarray
) -> dict[str, np.ndarray]:
    """PTB-XL superclasses: injury (ST elevation) and Q waves are MI; ischaemia, T inversion
    and long QT are STTC; bundle-branch, fascicular and AV blocks CD; LVH and RVH HYP; NORM
    none of them."""
    out = {
        "MI": morph["STE"] | morph["QAb"],
        "STTC": morph["STD"] | morph["TInv"] | morph["LQT"],
        "CD": conduction_disturbance | morph["LAnFB"],
        "HYP": morph["LVH"] | morph["RVH"],
    }
    out["NORM"] = ~paced & ~out["MI"] & ~out["STTC"] & ~out["CD"] & ~out["HYP"]
    return out


def _runs(
    index: np.ndarray, rec: np.ndarray, symbol: np.ndarray, symbols: tuple[str, ...]
) -> np.ndarray:
    """Per record, the runs of three or more consecutive beats with one of ``symbols`` inside
    it: ``("V",)`` non-sustained ventricular tachycardia, ``("A", "a")`` supraventricular.
    ``index`` holds the record numbers, in order; ``rec`` and ``symbol`` each beat's record
    and symbol (index into :data:`BEAT_SYMBOLS`)."""
    out = np.zeros(len(index), dtype=np.int64)
    if not len(index) or not len(rec):
        return out
    v = np.isin(symbol, [BEAT_SYMBOLS.index(sym) for sym in symbols])
    follows_v = np.r_[False, v[:-1] & (rec[1:] == rec[:-1])]
    start = v & ~follows_v
    run = np.cumsum(start) * v  # run number of each V beat, 0 elsewhere
    length = np.bincount(run)[1:]
    long_run_records = rec[start][length >= 3]
    pos = np.searchsorted(index, long_run_records)
    np.add.at(out, pos, 1)
    return out


#: The rhythm and AV conduction a record's codes start with (:data:`SNOMED` abbreviations),
#: indexed by :func:`_rhythm_index`: fibrillation, flutter, paced, complete block (junctional or
#: ventricular escape), then the sinus rate class with its conduction.
_RHYTHMS: list[list[str]] = [
    ["AF"],
    ["AFL"],
    [],
    ["CHB", "JE"],
    ["CHB", "VEsR"],
    *(
        [rate, *conducted]
        for rate in ("NSR", "SB", "STach")
        for conducted in ([], ["IAVB"], ["MoI"], ["IIAVBII"])
    ),
]


def _rhythm_index(
    af: np.ndarray,
    flutter: np.ndarray,
    paced: np.ndarray,
    av_block: np.ndarray,
    n_escape: np.ndarray,
    rate: np.ndarray,
    pr: np.ndarray,
) -> np.ndarray:
    """Per record, its entry of :data:`_RHYTHMS` (``rate`` is the atrial rate: with AV block II
    the ventricles beat slower than the atria)."""
    sinus = np.select([rate < 60, rate > 100], [1, 2], 0)
    conducted = np.select(
        [(av_block == 0) & (pr > 200), av_block == 1, av_block == 2], [1, 2, 3], 0
    )
    return np.select(
        [af, flutter, paced, av_block == AV_BLOCKS.index("complete")],
        [0, 1, 2, 3 + (n_escape > 0)],
        5 + 4 * sinus + conducted,
    )


def _diagnoses(
    labels: Mapping[str, np.ndarray], records: pd.Index, record: np.ndarray, symbol: np.ndarray
) -> pd.DataFrame:
    """Per record (``records``: the record numbers, in order): counts of ectopic beats, ``dx``
    (SNOMED CT codes, comma-separated, the CinC 2021 coding) and the PTB-XL superclasses as 0/1
    columns. ``labels`` maps the label names to per-record arrays (plain arrays: reading 26
    DataFrame columns costs ~0.3 ms per batch); ``record`` and ``symbol`` are each beat's record
    and symbol (index into :data:`BEAT_SYMBOLS`)."""
    index = records.to_numpy()
    counts = np.zeros((len(index), len(BEAT_SYMBOLS)), dtype=np.int64)
    if len(index) and len(record):
        pos = np.minimum(np.searchsorted(index, record), len(index) - 1)
        known = index[pos] == record
        np.add.at(counts, (pos[known], symbol[known]), 1)
    column = {sym: counts[:, k] for k, sym in enumerate(BEAT_SYMBOLS)}
    n_pac, n_pvc, n_fusion = column["A"] + column["a"], column["V"], column["F"]
    n_vt = _runs(index, record, symbol, ("V",))
    n_svt = _runs(index, record, symbol, ("A", "a"))
    out: dict[str, Any] = {
        "n_pac": n_pac,
        "n_pvc": n_pvc,
        "n_fusion": n_fusion,
        "n_paced": column["/"],
        "n_vt_runs": n_vt,
        "n_svt_runs": n_svt,
        "n_junctional": column["J"],
        "n_aberrant": column["a"],
    }
    af = labels["param_af"] > 0
    flutter = labels["param_flutter"] > 0
    paced = labels["param_paced"] > 0
    conduction = labels["param_conduction"]
    pattern = labels["param_pvc_pattern"]
    n_pauses = labels["n_pauses"]
    hr, pr = labels["hr"], labels["pr"]
    sinus_rate = labels["param_hr"]
    av_block = labels["param_av_block"].astype(np.int64)
    bigeminy, trigeminy = PVC_PATTERNS.index("bigeminy"), PVC_PATTERNS.index("trigeminy")
    morph = _morphology_findings(labels, paced, n_pvc + n_fusion)
    # after the rhythm, in this order: (abbreviation, present per record)
    findings = [
        ("PR", paced),
        ("PAC", n_pac > 0),
        ("SVT", n_svt > 0),
        ("JPC", column["J"] > 0),
        ("PVC", n_pvc > 0),
        ("VBig", (n_pvc > 0) & (pattern == bigeminy)),
        ("VTrig", (n_pvc > 0) & (pattern == trigeminy)),
        ("PVT", n_vt > 0),
        ("FB", n_fusion > 0),
        ("SARR", n_pauses > 0),
        ("LBBB", conduction == 1),
        ("RBBB", conduction == 2),
        *morph.items(),
    ]
    # Records with the same rhythm and findings have the same codes: build each distinct
    # string once (a batch holds few distinct ones) and look the others up.
    rate = np.where((av_block == 0) & (n_svt == 0), hr, sinus_rate)
    rhythm = _rhythm_index(af, flutter, paced, av_block, column["E"], rate, pr)
    present = np.column_stack([p for _, p in findings])
    bits = present @ (1 << np.arange(present.shape[1], dtype=np.int64))
    _, first, inverse = np.unique(
        rhythm * (1 << present.shape[1]) + bits, return_index=True, return_inverse=True
    )
    finding_codes = [str(SNOMED[name]) for name, _ in findings]
    distinct = [
        ",".join(
            [str(SNOMED[d]) for d in _RHYTHMS[r]]
            + [code for code, p in zip(finding_codes, row, strict=True) if p]
        )
        # plain Python values: indexing numpy arrays element by element costs ~0.1 us each
        for r, row in zip(rhythm[first].tolist(), present[first].tolist(), strict=True)
    ]
    codes = [distinct[k] for k in inverse.ravel()]
    out["dx"] = codes
    superclass = _superclasses(morph, paced, (conduction > 0) | (av_block > 0))
    for name in SUPERCLASSES:
        out[name] = superclass.get(name, np.zeros(len(index), dtype=bool)).astype(np.int64)
    return pd.DataFrame(out, index=records)  # built once: column inserts cost ~0.3 ms each


def synthesize(
    n: int,
    *,
    hr: Any = None,
    pr: Any = None,
    qrs: Any = None,
    qt: Any = None,
    qtc: Any = None,
    hrv: Any = DEFAULTS["hrv"],
    fs: float = 500.0,
    duration: float = 10.0,
    leads: str | Sequence[str] | None = None,
    noise: Any = None,
    seed: int = 0,
    start: int = 0,
    method: str = "dipole",
    rhythm: Any = None,
    ectopy: Any = None,
    conduction: Any = None,
    morphology: Any = None,
    population: str = "standard",
    hearts: Any = None,
    heart_jitter: float = 1.0,
) -> SynthBatch:
    """Generate ``n`` labelled synthetic ECG records.

    Every parameter takes a scalar (fixed for all records), a ``(low, high)`` tuple (uniform per
    record) or an array of length ``n`` (one value per record).

    Parameters
    ----------
    n : int
        Number of records (0 allowed).
    hr : float, tuple or array
        Mean heart rate in bpm (default 50-95; 48-85 with ``population="ludb"``).
    pr, qrs : float, tuple or array, optional
        PR interval and QRS duration in ms (defaults 120-200 and 70-110; 125-200 and 80-118
        with ``population="ludb"``). PR must exceed QRS.
    qt : float, tuple or array, optional
        QT in ms, fixed for every beat. If None, each beat's QT follows its preceding RR through
        Fridericia's formula with a per-record ``qtc``.
    qtc : float, tuple or array, optional
        Fridericia-corrected QT in ms used when ``qt`` is None (default 380-440; 400-460 with
        ``population="ludb"``).
    hrv : float, tuple or array
        Standard deviation of the RR process in ms (default 10-50); 0 gives a regular rhythm.
    fs : float
        Sampling rate in Hz (>= 100).
    duration : float
        Record length in seconds.
    leads : "12", str or list of str, optional
        Output leads in order: ``"12"`` for I, II, III, aVR, aVL, aVF, V1-V6 (the default of
        ``method="dipole"``), one name such as ``"II"``, or a list of names.
    noise : None, float or dict
        None: mild default noise. A float scales the defaults (0 = clean). A dict sets amplitudes
        in mV per source (``baseline``, ``powerline``, ``emg``, ``motion``; each a scalar, range
        or array) and optionally ``powerline_freq`` (50 or 60; default: random per record).
    seed : int
        Seed of the record stream.
    start : int
        Index of the first record: ``synthesize(m, seed=s, start=k)`` returns records
        ``k .. k+m-1`` of the stream; record ``i`` depends only on ``(seed, i)``, so results are
        identical for any thread count and batch split.
    method : {"dipole", "ecgsyn", "deepfake"}
        ``"dipole"`` (default): the 12-lead dipole model above. ``"ecgsyn"``: McSharry's
        classic single-lead ECGSYN ODE with its published wave parameters (one lead named
        ``"ECG"``, scaled to [-0.4, 1.2] mV as ECGSYN does; ``leads`` must be left None or be
        ``"ECG"``); ``pr``, ``qrs``, ``qt`` and ``qtc`` are then fixed by the model and must be
        left None, and the labels are measured from the model's phase. ``"deepfake"``: the
        deepfake-ecg GAN (Pulse2Pulse) as published, 10 s at 500 Hz, 12 leads (its 8 and the
        4 derived), labelled by ecgfast's delineator (``labelled``, ``unlabelled_reason``);
        needs torch and ``deepfake-ecg``; only ``leads``, ``seed`` and ``start`` apply
        (:mod:`ecgfast.deepfake`).
    rhythm : None, "sinus", "af", "paced", float or dict
        Sinus rhythm (default), atrial fibrillation (no P waves, 4-9 Hz fibrillatory waves,
        irregular Gamma-distributed RR intervals with CV 0.18-0.35), ventricular pacing (every
        dominant beat paced at the record's mean rate: spike, wide QRS from the right-
        ventricular apex, discordant T; half the records track the P wave), or probabilities
        per record (a number for AF, ``{"af": p, "paced": q}``, or an array of length n).
        ``"flutter"``: typical atrial flutter (no P waves; a sawtooth of F waves at 250-350 per
        minute, negative in II, III and aVF; AV conduction 2:1 (50 % of records), 3:1, 4:1 or
        variable 2-4:1, so a regular or regularly irregular rhythm; label ``param_flutter`` = the
        ratio, 1 for variable; dx AFL; no premature atrial beats, fusion or pauses). Drawn from
        its own stream after AF and pacing: a record drawn in both stays in AF or paced.
    ectopy : dict, optional
        Per-beat rates (scalar, ``(low, high)`` or array, each in [0, 0.5]; ``"aberrant"`` in
        [0, 1]): ``"pac"``, the
        probability that a dominant beat is followed by a premature atrial beat (early, other
        P wave, normal QRS, sinus node reset); ``"pvc"``, that it is followed by a ventricular
        ectopic event (early, no P, wide QRS of one of 1-3 foci with a discordant T,
        compensatory pause), whose pattern is drawn per record (isolated 60 %, couplets 15 %,
        bigeminy 15 %, trigeminy 10 %; an episode lasts 4-20 cycles); ``"fusion"``, that a sinus
        beat fuses with a ventricular focus; ``"pause"``, that a sinus beat is followed by a
        sinus pause (sinus arrest: neither P nor QRS for 2-6 s, at least 1.5 RR). No premature
        atrial beats in AF; no pauses in AF or paced records; ``"vt"``, that a dominant beat
        is followed by a run of non-sustained ventricular tachycardia (3-10 beats of the
        record's first focus at a steady 120-200 bpm, then a compensatory pause; counted in
        ``n_vt_runs``, dx PVT; not with AV block); ``"svt"``, that it is followed by a run of
        supraventricular (atrial) tachycardia (3-15 premature atrial beats with the record's
        ectopic P wave at a steady 150-220 bpm, then the sinus node reset; ``n_svt_runs``, dx
        SVT); ``"junctional"``, that it is followed by a premature junctional beat (symbol
        ``J``, AAMI S: early, no visible P, the sinus QRS; ``n_junctional``, dx JPC);
        ``"aberrant"``, the fraction of premature atrial beats (single or in runs) conducted
        with right-bundle-branch-block aberrancy (symbol ``a``, AAMI S: rSR' in V1, QRS
        >= 120 ms; ``n_aberrant``; none in records with a bundle-branch block). The three are
        drawn from their own stream and, like premature atrial beats, never occur in AF,
        flutter, paced records or with AV block.
    conduction : None, "normal", "lbbb", "rbbb", "wenckebach", "mobitz2", "complete" or dict
        Bundle-branch block of every sinus beat (QRS 120-170 ms with the lead-specific shape,
        discordant T); second-degree AV block, Mobitz I (``"wenckebach"``: cycles of 3-6 P
        waves whose PR lengthens by decreasing steps until one P is not conducted) or Mobitz II
        (``"mobitz2"``: constant PR, 2:1 conduction or single P waves blocked at random); or
        third-degree block (``"complete"``: P waves at the sinus rate and an independent
        junctional (40-60 bpm, symbol ``j``) or ventricular (20-40 bpm, wide, ``E``) escape
        rhythm). Or probabilities per record, e.g. ``{"lbbb": p, "rbbb": q, "wenckebach": r}``:
        the bundle-branch blocks exclude each other, the AV blocks exclude each other, and the
        two groups are drawn independently. AV-block records have no ectopic beats or pauses
        and are never in AF or paced; their blocked P waves are counted in ``n_blocked_p``.
    morphology : None, str, list of str or dict
        Record morphology, each option with its own probability per record (a name or a list
        of names means probability 1; a dict maps names to probabilities, scalars or arrays):
        ``"st_elevation"`` (0.1-0.3 mV at J+60 ms in the leads facing an anterior, inferior or
        lateral territory, reciprocal depression opposite), ``"st_depression"`` (0.05-0.2 mV,
        lateral or inferior), ``"t_inversion"`` (T turned negative in the territory's leads),
        ``"q_waves"`` (old infarction: 40-60 ms Q waves in the territory's leads, R reduced),
        ``"lvh"`` (QRS forces × 1.8-2.6, strain T in half the records), ``"low_voltage"``
        (QRS and T × 0.3-0.5), ``"left_axis"`` (-75..-35 deg), ``"right_axis"`` (100-150 deg),
        ``"rvh"`` (right-ventricular hypertrophy: R force right and anterior, tall R in V1,
        right strain in half the records), ``"lafb"`` (left anterior fascicular block: axis
        -80..-45 deg, qR in aVL, rS in II/III/aVF; wins over RVH).
        One territory per record serves its ST change, T inversion and Q waves. See
        :data:`MORPHOLOGIES`; labels ``param_st_shift`` (mV), ``param_territory``
        (:data:`TERRITORIES`), ``param_t_inversion``, ``param_q_waves``, ``param_lvh``,
        ``param_low_voltage``, ``param_axis_deviation`` (0 none, 1 left, 2 right), ``param_rvh``,
        ``param_lafb``.
    population : {"standard", "ludb"}
        Whose hearts the dipole model's records resemble. ``"standard"`` (default): the wave
        ranges synthetic pretraining was developed with. ``"ludb"``: waves and intervals fitted
        to the median beats of LUDB's sinus records 1-100 (lead II, then I, II, V1-V6): an
        atrial repolarisation (Ta) wave that depresses the PR and early ST segments, a small U
        wave, the atria's own lead field (P waves in V3-V6 a third as tall relative to their
        QRS as one dipole would give), forward septal forces (V1's r wave), mostly small S
        waves, slight ST elevation in V1-V3 (early repolarisation), P waves about half as tall,
        a wider QRS-T angle, an axis that keeps leads I and II upright, and the interval
        defaults above. A classifier two-sample test tells these records from real ones less
        often (lead II CNN AUC 0.82 against 0.94, features 0.71 against 0.85; BENCHMARKS.md),
        but pretraining on them did not transfer better to MIT-BIH beats, which is why it is
        not the default. Labels and fiducials mean the same in both (Ta, U and the ST lift are
        not labelled waves).
    hearts : {"ludb"} or array_like, shape (n_hearts, len(ecgfast.hearts.HEART_PARAMS)), optional
        Hearts fitted to real records (:mod:`ecgfast.hearts`): each record's sinus beat takes
        the shape of a heart of this bank (drawn per record), turned and varied a little
        (``heart_jitter``), at the record's own intervals and size; the rest of the record
        (rhythm, respiration, noise, pathology) is as without. ``"ludb"``: the bank fitted to
        LUDB's sinus records 1-100 (:func:`ecgfast.hearts.load_hearts`); an array: a bank of
        your own (:func:`ecgfast.hearts.fit_hearts`). Default: the population's drawn hearts.
        Its own P, Ta, U and early-repolarisation waves replace the population's, and every
        lead gets a gain that gives its QRS the typical size of raw 12-lead records
        (:data:`ecgfast.hearts.LEAD_SIZE`; geometric mean 1.28 x ``param_r_amplitude`` mV).
        Eight-lead realism against held-out LUDB records: features AUC 0.73-0.84, CNN
        0.67-0.76, against 0.89-0.95 without a bank (BENCHMARKS.md).
    heart_jitter : float
        How much a record's heart differs from the bank's, as a multiple of the default spread
        (a rotation of the whole heart by ~8 degrees, each wave's size by ~12 %, its width by
        ~6 %); 0 repeats the bank's hearts exactly (up to size and respiration).

    Returns
    -------
    SynthBatch
        ``signals`` (float32 mV), ``labels``, ``beats``, ``fs``, ``lead_names``. Beats carry
        their ``symbol`` (MIT-BIH: N, L, R, A, V, F, /, j, E) and ``aami`` class; labels carry the
        pathology parameters (``param_af``, ``param_conduction`` 0/1/2 = normal/LBBB/RBBB,
        ``param_pac_rate``, ``param_pvc_rate``, ``param_fusion_rate``, ``param_pvc_pattern``
        (index into :data:`PVC_PATTERNS`), ``param_pvc_foci``, ``param_paced``,
        ``param_pause_rate``, ``param_av_block``: index into :data:`AV_BLOCKS`), the counts
        ``n_pauses`` (pauses overlapping the record), ``n_pac``,
        ``n_pvc``, ``n_fusion``, ``n_paced``, ``n_blocked_p``, ``dx`` (SNOMED CT codes, see
        :data:`SNOMED`: the rhythm — NSR, SB below 60 bpm, STach above 100, AF, PR for pacing —
        then IAVB for PR > 200 ms, each ectopy and block present, SARR for a pause) and the PTB-XL
        superclasses ``NORM MI STTC CD HYP`` (0/1).

    Raises
    ------
    InvalidParameterError
        For any bad parameter, before any work starts.

    Examples
    --------
    >>> import ecgfast
    >>> batch = ecgfast.synthesize(4, hr=(60, 100), seed=1)
    >>> batch.signals.shape
    (4, 12, 5000)
    >>> list(batch.labels.columns[:7])
    ['hr', 'rr_std', 'pr', 'qrs', 'qt', 'qtc_bazett', 'qtc_fridericia']
    """
    n = check_int(n, name="n", low=0, high=2**40)
    seed = check_int(seed, name="seed", low=0, high=2**64 - 1)
    start = check_int(start, name="start", low=0, high=2**62)
    given = {
        "hr": hr,
        "pr": pr,
        "qrs": qrs,
        "qt": qt,
        "qtc": qtc,
        "hrv": hrv,
        "fs": fs,
        "duration": duration,
        "noise": noise,
        "rhythm": rhythm,
        "ectopy": ectopy,
        "conduction": conduction,
        "morphology": morphology,
    }
    bank, heart_jitter = _heart_options(method, population, hearts, heart_jitter)
    for key, value in {"hr": DEFAULTS["hr"], **POPULATION_DEFAULTS[population]}.items():
        if given[key] is None:
            given[key] = value
    lead_idx = _method_leads(method, leads, given)
    if method == "deepfake":
        return _deepfake(n, seed, start, lead_idx, given)
    bounds, fs, n_samples = _resolve(n, **given)
    names = ("ECG",) if method == "ecgsyn" else tuple(LEAD_NAMES[i] for i in lead_idx)
    if n == 0:
        signals = np.zeros((0, len(lead_idx), n_samples), dtype=np.float32)
        beats_arr = np.zeros((0, 3 + len(FIDUCIALS)), dtype=np.int64)
        labels_arr = np.zeros((0, len(_LABELS)))
        features = np.zeros((0, len(feature_columns(names))))
    else:
        signals, beats_arr, labels_arr, features = _core.synthesize(
            bounds, fs, n_samples, lead_idx, seed, start, method, population, bank, heart_jitter
        )
    # one float block, then the count as integers
    labels = pd.DataFrame(
        labels_arr, columns=list(_LABELS), index=pd.RangeIndex(start, start + n, name="record")
    )
    labels["n_beats"] = labels_arr[:, _LABELS.index("n_beats")].astype(np.int64)
    beats = _beats_frame(beats_arr, features, names)
    columns = dict(zip(_LABELS, labels_arr.T, strict=True))
    diagnoses = _diagnoses(columns, labels.index, beats_arr[:, 0], beats_arr[:, -1])
    labels = pd.concat([labels, diagnoses], axis=1)
    params = {**given, "fs": fs, "leads": list(names), "seed": seed, "start": start}
    if population != "standard":
        params["population"] = population
    if hearts is not None:
        params["hearts"] = hearts if isinstance(hearts, str) else bank
        params["heart_jitter"] = heart_jitter
    return SynthBatch(signals, labels, beats, fs, names, params)


def _heart_options(
    method: str, population: str, hearts: Any, heart_jitter: Any
) -> tuple[np.ndarray | None, float]:
    """``synthesize``'s options for the shape of the hearts, checked: the heart bank as float64
    (None: the population's drawn hearts) and the jitter."""
    if population not in POPULATIONS:
        raise InvalidParameterError(
            f"population must be one of {', '.join(POPULATIONS)}, got {population!r}"
        )
    if population != "standard" and method != "dipole":
        raise InvalidParameterError(
            f"population={population!r} shapes the dipole model's waves; method={method!r} "
            "has its own"
        )
    heart_jitter = check_float(heart_jitter, name="heart_jitter", low=0.0, high=10.0)
    return _heart_bank(hearts, method), heart_jitter


def _heart_bank(hearts: Any, method: str) -> np.ndarray | None:
    """``synthesize(hearts=...)`` as a checked float64 bank (None: no bank)."""
    if hearts is None:
        return None
    if method != "dipole":
        raise InvalidParameterError(
            f"hearts shape the dipole model's waves; method={method!r} has its own"
        )
    from .hearts import _shipped_bank, check_hearts

    if isinstance(hearts, str):
        return _shipped_bank(hearts)  # checked, C-contiguous, read-only
    return np.ascontiguousarray(check_hearts(hearts))


METHODS = ("dipole", "ecgsyn", "deepfake")


def _deepfake(
    n: int, seed: int, start: int, lead_idx: list[int], given: dict[str, Any]
) -> SynthBatch:
    """``method="deepfake"``: the GAN's records with ecgfast's own labels (ecgfast.deepfake)."""
    from . import deepfake

    n = check_int(n, name="n", low=0, high=2**40)
    seed = check_int(seed, name="seed", low=0, high=2**63 - 1)
    start = check_int(start, name="start", low=0, high=2**62)
    signals, labels, beats = deepfake.generate(n, seed=seed, start=start, lead_idx=lead_idx)
    names = tuple(LEAD_NAMES[i] for i in lead_idx)
    params = {
        "method": "deepfake",
        "fs": deepfake.FS,
        "duration": deepfake.N_SAMPLES / deepfake.FS,
        "leads": list(names),
        "seed": seed,
        "start": start,
    }
    return SynthBatch(signals, labels, beats, deepfake.FS, names, params)


def _method_leads(method: str, leads: Any, given: dict[str, Any]) -> list[int]:
    """Lead indices for ``method``; what the classic ECGSYN or the GAN cannot honour is an
    error."""
    if method not in METHODS:
        raise InvalidParameterError(
            f"method must be one of {', '.join(repr(m) for m in METHODS)}, got {method!r}"
        )
    if method == "dipole":
        return _lead_indices("12" if leads is None else leads)
    if method == "deepfake":
        defaults = {"hr": DEFAULTS["hr"], "hrv": DEFAULTS["hrv"], "fs": 500.0, "duration": 10.0}
        fixed = [
            k
            for k, v in given.items()
            if (v is not None and k not in defaults) or (k in defaults and v != defaults[k])
        ]
        if fixed:
            raise InvalidParameterError(
                "method='deepfake' runs the deepfake-ecg GAN as published (10 s at 500 Hz, "
                f"its own rhythm and waves); {', '.join(fixed)} cannot be set"
            )
        return _lead_indices("12" if leads is None else leads)
    fixed = [k for k in ("pr", "qrs", "qt", "qtc") if given[k] is not None]
    if fixed:
        raise InvalidParameterError(
            f"method='ecgsyn' uses McSharry's fixed wave parameters; {', '.join(fixed)} "
            "cannot be set (use method='dipole')"
        )
    if any(given[k] is not None for k in ("rhythm", "ectopy", "conduction", "morphology")):
        raise InvalidParameterError(
            "method='ecgsyn' makes sinus rhythm only; rhythm, ectopy, conduction and morphology "
            "need method='dipole'"
        )
    if leads is not None and leads != "ECG":
        raise InvalidParameterError(
            f"method='ecgsyn' makes a single lead named 'ECG', so leads={leads!r} cannot be "
            "honoured; leave leads unset or use method='dipole' for 12 leads"
        )
    return [1]


# ----------------------------------------------------------------------------------------------
# Streaming to disk (the shard format lives in ecgfast.shards)


def synthesize_to(
    out_dir: str | Any,
    n: int,
    *,
    shard_size: int = 10_000,
    progress: bool = True,
    overwrite: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """Generate ``n`` records straight to disk in shards, with flat memory use.

    Each shard holds ``shard_size`` consecutive records of the stream: ``shard-XXXXX.signals.npy``
    (float32 ``(m, n_leads, n_samples)``, memory-mappable with ``np.load(..., mmap_mode="r")``),
    ``shard-XXXXX.labels.parquet`` and ``shard-XXXXX.beats.parquet`` (the tables of
    :class:`SynthBatch`). ``manifest.json`` records every parameter, the seed, the shard layout
    and the ecgfast version.

    The run resumes after an interruption: shards are written under temporary names, renamed
    when complete and then committed (``shard-XXXXX.done.json``), and a second call with the
    same arguments only makes the shards not committed. Records are identical to
    ``synthesize(n, **params)`` whatever the shard size. :func:`ecgfast.distributed.synthesize_to`
    writes the same format from a Dask or Ray cluster (either can finish what the other began);
    the format is described in :mod:`ecgfast.shards`.

    Parameters
    ----------
    out_dir : path
        Output folder (created if needed).
    n : int
        Number of records.
    shard_size : int
        Records per shard.
    progress : bool
        Show a tqdm progress bar.
    overwrite : bool
        Replace an existing dataset made with different parameters (otherwise that raises).
    **params
        Any parameter of :func:`synthesize` (``hr``, ``pr``, ``qrs``, ``qt``, ``qtc``, ``hrv``,
        ``fs``, ``duration``, ``leads``, ``noise``, ``seed``). Per-record arrays are not accepted
        here; use scalars or ``(low, high)`` ranges.

    Returns
    -------
    dict
        The manifest.
    """
    from tqdm.auto import tqdm

    from . import shards

    out, manifest, todo = shards.prepare(out_dir, n, shard_size, overwrite, params)
    left = sum(s["stop"] - s["start"] for s in todo)
    bar = tqdm(
        total=manifest["n_records"],
        initial=manifest["n_records"] - left,
        unit="rec",
        desc="synthesizing",
        disable=not progress,
    )
    # A few shards in flight on the same core pool: while one shard waits for the disk (fsync,
    # Parquet), another is generated. Records do not depend on the order.
    from concurrent.futures import ThreadPoolExecutor

    from ._threads import get_num_threads

    in_flight = max(1, min(4, get_num_threads(), len(todo)))
    pool = ThreadPoolExecutor(in_flight)
    try:
        jobs = [
            pool.submit(shards.write_shard, out, s, params, on_records=bar.update) for s in todo
        ]
        for job in jobs:
            job.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on Ctrl-C: finish the running shards
        bar.close()
    shards.sweep_temporaries(out)
    return manifest
