"""Hearts fitted to real records: the shape of a real sinus beat in the dipole model's own waves.

The dipole model (``synthesize(method="dipole")``) draws each record's heart, its P, Q, R, S
and T waves and their directions, from hand-set ranges. Those ranges give every lead realistic
intervals and amplitudes, yet a classifier that sees all eight independent leads tells the
records from real ones by the beat's shape (``ecgfast.realism``, BENCHMARKS.md). A *heart
bank* instead holds shapes fitted to real records: :func:`fit_hearts` fits each record's
eight-lead median beat with the generator's own waves (one P wave with its atrial
repolarisation, Q, R, S and three more QRS forces, early repolarisation, two T waves and a U
wave), each a Gaussian in time with a 3-D amplitude seen through Dower's lead field, and
``synthesize(hearts=bank)`` gives each record a heart of the bank, turned and varied a little,
at the record's own intervals (PR, QRS and QT still come from the parameter ranges, so every
label and fiducial stays exact) and with its rhythm, respiration and noise.

``hearts="ludb"`` is the bank shipped with the package (:func:`load_hearts`): fitted to the
sinus-rhythm records 1-100 of the Lobachevsky University Electrocardiography Database (LUDB;
Kalyakulina et al., IEEE Access 2020; PhysioNet, Open Data Commons Attribution License 1.0).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from . import _core
from ._validate import check_fs, check_int
from .errors import InvalidParameterError

__all__ = [
    "BANKS",
    "DOWER",
    "EIGHT_LEADS",
    "HEART_PARAMS",
    "LEAD_GAIN_RANGE",
    "LEAD_SIZE",
    "LEAD_SIZE_LOG_SD",
    "SIZE_PER_R_AMP",
    "VECTORS",
    "HeartFit",
    "check_hearts",
    "fit_hearts",
    "heart_beat",
    "load_hearts",
    "median_beats",
    "read_bank",
    "write_bank",
]

#: Columns of a heart bank, in order (widths and positions of the QRS waves are fractions of
#: the QRS duration; ``p_duration`` in s; amplitude vectors ``*_x, *_y, *_z`` in Frank axes,
#: X left, Y inferior, Z posterior, with the R vector of unit length).
HEART_PARAMS: tuple[str, ...] = tuple(_core.schema()["heart_params"])
#: The amplitude vectors of a heart, in column order.
VECTORS = ("p", "q", "r", "s", "f1", "f2", "f3", "j", "t1", "t2")
_FIRST_VECTOR = HEART_PARAMS.index("p_x")
#: Banks shipped with the package (``synthesize(hearts=name)``).
BANKS = ("ludb",)
#: The leads a heart is fitted to: the eight independent leads of the 12-lead ECG.
EIGHT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

_CONSTANTS = _core.heart_constants()
#: Dower (1980) transform from Frank X, Y, Z to :data:`EIGHT_LEADS` (the generator's).
DOWER = np.array(_CONSTANTS["dower"]).reshape(8, 3)
#: A record with a heart of a bank gets per-lead gains that give its QRS these peak-to-peak
#: sizes in :data:`EIGHT_LEADS`, relative to their geometric mean (times a random factor per
#: lead, log-sd half of :data:`LEAD_SIZE_LOG_SD`), and a geometric mean of
#: :data:`SIZE_PER_R_AMP` times the record's ``param_r_amplitude`` mV: the median beats of the
#: 48 raw 12-lead records of the CinC 2021 sample (LUDB, which banks are fitted to, scales every
#: lead to 1 mV, so a bank cannot say how large a heart's leads are; benches/lead_sizes.py).
LEAD_SIZE = tuple(_CONSTANTS["lead_size"])
LEAD_SIZE_LOG_SD = tuple(_CONSTANTS["lead_size_log_sd"])
SIZE_PER_R_AMP = _CONSTANTS["size_per_r_amp"][0]
#: The lead gains are bounded to this range (they apply to ectopic and paced beats too).
LEAD_GAIN_RANGE = tuple(_CONSTANTS["lead_gain_range"])
#: A wave's onset/offset is where its Gaussian falls to this fraction of its peak.
_C = float(np.sqrt(2 * np.log(1 / _CONSTANTS["edge_fraction"][0])))
_TA_DELAY, _TA_SIGMA, _U_DELAY, _U_SIGMA = _CONSTANTS["ta_u"]
#: The plausible range of each scalar column of a bank, as the core checks it.
_SCALAR_LIMITS = dict(
    zip(
        HEART_PARAMS[:_FIRST_VECTOR],
        np.reshape(_CONSTANTS["scalar_limits"], (-1, 2)).tolist(),
        strict=True,
    )
)

#: The timing parameters :func:`fit_hearts` fits besides the heart's own columns, and all of
#: them with their bounds and starting values: a time shift of the whole beat (s), QRS, PR, QT
#: (s), then the heart's scalar columns.
_TIMING = ("shift", "qrs", "pr", "qt")
_FIT_NAMES = _TIMING + HEART_PARAMS[:_FIRST_VECTOR]
_FIT_BOUNDS = {
    "shift": (-0.02, 0.02, 0.0),
    "qrs": (0.06, 0.16, 0.095),
    "pr": (0.10, 0.28, 0.16),
    "qt": (0.28, 0.52, 0.38),
    "onset_fraction": (0.30, 0.65, 0.48),
    "q_sigma": (0.05, 0.15, 0.085),
    "r_sigma": (0.06, 0.15, 0.095),
    "s_sigma": (0.05, 0.15, 0.10),
    "f1_sigma": (0.04, 0.12, 0.07),
    "f1_position": (0.0, 1.0, 0.25),
    "f2_sigma": (0.04, 0.12, 0.07),
    "f2_position": (0.0, 1.0, 0.5),
    "f3_sigma": (0.04, 0.12, 0.07),
    "f3_position": (0.0, 1.0, 0.75),
    "p_duration": (0.06, 0.13, 0.10),
    "ta_ratio": (0.0, 0.8, 0.35),
    "atrial_gain": (0.2, 1.2, 0.45),
    "tpe_fraction": (0.15, 0.30, 0.23),
    "u_ratio": (0.0, 0.3, 0.1),
}


def _gauss(t: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - mu) / sigma) ** 2)


def _time_courses(p: dict[str, float], t: np.ndarray) -> np.ndarray:
    """The waves' time courses (samples x 10, :data:`VECTORS` order) of a beat with R at t = 0,
    as the generator places them (rust/synth/mod.rs: ``apply_heart``, ``t_waves_after``)."""
    qrs = p["qrs"]
    on, off = -p["onset_fraction"] * qrs, (1 - p["onset_fraction"]) * qrs
    pd = min(p["p_duration"], 0.75 * p["pr"])
    p_mu = on - p["pr"] + pd / 2
    cols = [_gauss(t, p_mu, pd / (2 * _C)) - p["ta_ratio"] * _gauss(t, p_mu + _TA_DELAY, _TA_SIGMA)]
    sq, sr, ss = (p[k] * qrs for k in ("q_sigma", "r_sigma", "s_sigma"))
    cols += [_gauss(t, on + _C * sq, sq), _gauss(t, 0.0, sr), _gauss(t, off - _C * ss, ss)]
    for f in ("f1", "f2", "f3"):
        s = p[f"{f}_sigma"] * qrs
        lo, hi = on + _C * s, off - _C * s
        cols.append(_gauss(t, lo + p[f"{f}_position"] * max(hi - lo, 0.0), s))
    qt = p["qt"]
    room = max(qt - qrs - 0.02, 0.02)
    s2 = min(p["tpe_fraction"] * qt / _C, room / (_C + 1.4 + 1.4 * _C))
    mu2 = on + qt - _C * s2
    s1, mu1 = 1.4 * s2, mu2 - 1.4 * s2
    t_peak = mu2 - 0.3 * s2  # close to the peak of T1 + T2 the generator finds by search
    span = max(t_peak - off, 0.08)
    cols.append(_gauss(t, off + 0.45 * span, 0.35 * span))
    cols.append(_gauss(t, mu1, s1))
    cols.append(_gauss(t, mu2, s2) + p["u_ratio"] * _gauss(t, mu2 + _C * s2 + _U_DELAY, _U_SIGMA))
    return np.stack(cols, axis=1)


def _lead_fields(atrial_gain: float) -> np.ndarray:
    """Per wave (:data:`VECTORS`), the 8 x 3 lead field: the atria's for P, Dower's else."""
    g = atrial_gain
    atria = DOWER * np.array([1, 1, 1, 0.8 + 0.2 * g, g, g, g, g])[:, None]
    return np.stack([atria] + [DOWER] * (len(VECTORS) - 1))


def _design(p: dict[str, float], t: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Rows (lead, time), columns (wave, axis): the beat is this times the amplitudes."""
    b = _time_courses(p, t - p.get("shift", 0.0))
    m = np.einsum("l,tk,klj->ltkj", gains, b, _lead_fields(p["atrial_gain"]))
    return m.reshape(len(gains) * len(t), -1)


def heart_beat(
    heart: Any,
    fs: float,
    *,
    qrs: float = 0.095,
    pr: float = 0.16,
    qt: float = 0.40,
    before: float = 0.3,
    after: float = 0.5,
) -> np.ndarray:
    """One heart's noise-free beat in :data:`EIGHT_LEADS`, with R (unit vector) at ``before``.

    Parameters
    ----------
    heart : array_like, shape (len(HEART_PARAMS),)
        A row of a bank.
    fs : float
        Sampling rate, Hz.
    qrs, pr, qt : float
        The beat's intervals, s.
    before, after : float
        The window around R, s.

    Returns
    -------
    ndarray, shape (8, samples)
        Through Dower's lead field, without the lead gains (:data:`LEAD_SIZE`), jitter or
        respiration the generator adds: each lead has the shape of a synthetic record's, not
        its size.
    """
    fs = check_fs(fs)
    h = check_hearts(np.asarray(heart, dtype=np.float64)[None])[0]
    p = dict(zip(HEART_PARAMS, h, strict=True)) | {"qrs": qrs, "pr": pr, "qt": qt}
    t = np.arange(-round(before * fs), round(after * fs)) / fs
    amps = h[_FIRST_VECTOR:]
    return (_design(p, t, np.ones(8)) @ amps).reshape(8, -1)


def check_hearts(hearts: Any) -> np.ndarray:
    """``hearts`` as a float64 bank (n_hearts, len(HEART_PARAMS)); InvalidParameterError if it
    cannot be one (shape, NaN/inf, a column out of its range, a zero R vector)."""
    h = np.asarray(hearts)
    if h.dtype.kind not in "fiu":
        raise InvalidParameterError(f"hearts must be a numeric array, got dtype {h.dtype}")
    h = np.array(h, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != len(HEART_PARAMS) or h.shape[0] == 0:
        raise InvalidParameterError(
            f"hearts must have shape (n_hearts >= 1, {len(HEART_PARAMS)}) "
            f"(columns ecgfast.hearts.HEART_PARAMS), got {h.shape}"
        )
    bad = ~np.isfinite(h)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InvalidParameterError(f"heart {i}: {HEART_PARAMS[j]} is not finite")
    for j, (name, (lo, hi)) in enumerate(_SCALAR_LIMITS.items()):
        out = (h[:, j] < lo) | (h[:, j] > hi)
        if out.any():
            i = int(np.argmax(out))
            raise InvalidParameterError(f"heart {i}: {name} must be in [{lo}, {hi}], got {h[i, j]}")
    r = HEART_PARAMS.index("r_x")
    if (np.linalg.norm(h[:, r : r + 3], axis=1) < 1e-6).any():
        raise InvalidParameterError("a heart's R wave amplitude vector is zero")
    return h


def load_hearts(name: str = "ludb") -> np.ndarray:
    """A heart bank shipped with the package (:data:`BANKS`), (n_hearts, len(HEART_PARAMS)).

    ``"ludb"``: fitted by :func:`fit_hearts` to the 89 sinus-rhythm records among LUDB 1-100,
    86 kept by :meth:`HeartFit.bank` (Kalyakulina et al. 2020, PhysioNet; ODC Attribution
    License 1.0), with ``python benches/fit_hearts.py --records 1-100``."""
    return _shipped_bank(name).copy()


@functools.cache
def _shipped_bank(name: str) -> np.ndarray:
    """A shipped bank, read and checked once per process (``synthesize(hearts=name)`` and
    ``synthesize_to``, which calls it chunk by chunk, use it as it is); read-only."""
    if name not in BANKS:
        raise InvalidParameterError(
            f"hearts must be one of {', '.join(BANKS)} or an array, got {name!r}"
        )
    path = resources.files("ecgfast") / "data" / f"hearts_{name}.csv"
    with resources.as_file(path) as f:
        bank = read_bank(f)[0]
    bank.setflags(write=False)
    return bank


def median_beats(
    records: Any, fs: float, leads: Sequence[str], *, before: float = 0.3, after: float = 0.5
) -> np.ndarray:
    """The eight-lead median beats :func:`fit_hearts` fits: band-passed 0.5-40 Hz, aligned on
    lead II's R peaks, (n_records, 8, samples) in :data:`EIGHT_LEADS` order, R at ``before``."""
    from .filters import bandpass
    from .realism import _records_array, median_beat_records

    fs = check_fs(fs)
    x = _records_array(records, "records")
    leads = [str(name) for name in leads]
    if len(leads) != x.shape[1]:
        raise InvalidParameterError(
            f"leads names {len(leads)} leads, the records have {x.shape[1]}"
        )
    missing = [name for name in EIGHT_LEADS if name not in leads]
    if missing:
        raise InvalidParameterError(f"fitting a heart needs leads {', '.join(missing)} too")
    x = x[:, [leads.index(name) for name in EIGHT_LEADS]]
    x = np.asarray(bandpass(x, fs), dtype=np.float64)
    period = before + after
    beats = median_beat_records(x, fs, lead=1, before=before, after=after, period=period)
    return beats[:, :, : round(period * fs)]


#: Ridge on each wave amplitude in the fit, as a fraction of the wave's energy.
_RIDGE = 0.01


def _solve(p: dict[str, float], t: np.ndarray, beat: np.ndarray, rounds: int = 3):
    """Amplitudes (10 x 3) and positive per-lead gains that best explain ``beat`` given the
    timing ``p``: alternating least squares (the gains absorb each lead's unknown size, as in
    LUDB, whose leads are each scaled to 1 mV)."""
    gains = np.ones(len(beat))
    for last in [False] * rounds + [True]:
        m = _design(p, t, gains)
        # normal equations (20x faster than lstsq here) with a ridge on each amplitude relative
        # to its wave's own energy: without it overlapping QRS waves can take large amplitudes
        # that cancel, a fit no small variation of the heart survives
        mtm = m.T @ m
        ridge = np.diag(_RIDGE * np.diag(mtm) + 1e-9 * np.trace(mtm) / len(mtm))
        amps = np.linalg.solve(mtm + ridge, m.T @ beat.ravel())
        fitted = (m @ amps).reshape(beat.shape)
        if last:
            break
        unit = fitted / gains[:, None]
        gains = (unit * beat).sum(1) / np.maximum((unit**2).sum(1), 1e-12)
        # positive: a lead that Dower's matrix would show upside down (as with swapped
        # electrodes) is left to the amplitudes to explain, not flipped by its gain
        gains = np.maximum(gains, 0.05 * max(float(gains.max()), 1e-12))
    return amps.reshape(len(VECTORS), 3), gains, fitted


def _fit_one(
    full: np.ndarray, fs: float, before: int
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """One median beat: (the fitted timing parameters, the heart row, variance explained, the
    fitted beat at the full rate)."""
    from scipy.optimize import least_squares

    step = max(1, int(fs // 250))  # 250 Hz is plenty for the fit
    beat = full[:, ::step]
    t = (np.arange(beat.shape[1]) * step - before) / fs
    lo, hi, x0 = (np.array([_FIT_BOUNDS[k][i] for k in _FIT_NAMES]) for i in range(3))

    def residual(x: np.ndarray) -> np.ndarray:
        return (_solve(dict(zip(_FIT_NAMES, x, strict=True)), t, beat)[2] - beat).ravel()

    x = least_squares(residual, x0, bounds=(lo, hi), max_nfev=150, diff_step=1e-3).x
    p = dict(zip(_FIT_NAMES, x, strict=True))
    amps, gains, fitted = _solve(p, t, beat)
    t_full = (np.arange(full.shape[1]) - before) / fs
    fitted_full = (_design(p, t_full, gains) @ amps.ravel()).reshape(full.shape)
    amps = amps / max(float(np.linalg.norm(amps[VECTORS.index("r")])), 1e-12)
    row = np.r_[[p[k] for k in HEART_PARAMS[:_FIRST_VECTOR]], amps.ravel()]
    explained = 1 - float(((fitted - beat) ** 2).sum() / (beat**2).sum())
    return x[: len(_TIMING)], row, explained, fitted_full


@dataclass
class HeartFit:
    """What :func:`fit_hearts` returns.

    Attributes
    ----------
    hearts : ndarray, shape (n_records, len(HEART_PARAMS))
        The bank (``synthesize(hearts=fit.hearts)``).
    explained : ndarray, shape (n_records,)
        Share of each median beat's variance the fitted heart explains.
    intervals : ndarray, shape (n_records, 3)
        Each heart's own QRS, PR and QT (s) as fitted (the bank leaves them to the generator's
        parameter ranges).
    beats : ndarray, shape (n_records, 8, samples)
        The median beats that were fitted (:func:`median_beats`; R at 0.3 s).
    fitted : ndarray, shape (n_records, 8, samples)
        The fitted hearts' beats, each lead at the size of the real one (its gain).

    Use :meth:`bank` for the hearts to synthesize with: it leaves out hearts with a lead the
    fit shows upside down.
    """

    hearts: np.ndarray
    explained: np.ndarray
    intervals: np.ndarray
    beats: np.ndarray
    fitted: np.ndarray

    @property
    def lead_correlation(self) -> np.ndarray:
        """(n_records, 8): correlation of each lead's fitted beat with the real one."""
        a = self.fitted - self.fitted.mean(-1, keepdims=True)
        b = self.beats - self.beats.mean(-1, keepdims=True)
        norm = np.sqrt((a**2).sum(-1) * (b**2).sum(-1))
        return (a * b).sum(-1) / np.maximum(norm, 1e-12)

    def bank(self, min_lead_correlation: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The hearts whose every lead's fitted beat correlates with the real one above
        ``min_lead_correlation``, and which records they are (a boolean mask). A heart Dower's
        matrix shows upside down in a lead (a lead nearly perpendicular to it, where the
        real lead field differs most from Dower's) would give records with that lead
        inverted at full size once the lead gains apply."""
        keep = np.asarray((self.lead_correlation > min_lead_correlation).all(axis=1))
        return self.hearts[keep], keep


def fit_hearts(
    records: Any,
    fs: float,
    leads: Sequence[str] = EIGHT_LEADS,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> HeartFit:
    """Fit a heart bank to real sinus-rhythm records.

    Each record's eight-lead median beat (:func:`median_beats`) is fitted with the dipole
    model's waves through Dower's lead field and a gain per lead: the timing of the waves by
    non-linear least squares (scipy), their 3-D amplitudes by linear least squares inside it.
    About 3-7 s per record on one core.

    Parameters
    ----------
    records : array_like, shape (n_records, n_leads, n_samples)
        Real ECG in mV, at least a few beats each, with every lead of :data:`EIGHT_LEADS`.
    fs : float
        Sampling rate, Hz.
    leads : sequence of str
        The names of the records' leads (default the eight, in order).
    workers : int, optional
        Processes to fit in (default: the CPUs, at most the records).
    progress : bool
        Show a progress bar.

    Returns
    -------
    HeartFit

    Examples
    --------
    >>> fit = ecgfast.hearts.fit_hearts(x, 500.0, leads=names)  # doctest: +SKIP
    >>> bank, kept = fit.bank()  # doctest: +SKIP
    >>> batch = ecgfast.synthesize(100, hearts=bank)  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    fs = check_fs(fs)
    beats = median_beats(records, fs, leads)
    n = len(beats)
    workers = check_int(workers or min(os.cpu_count() or 1, n), name="workers", low=1, high=1024)
    before = round(0.3 * fs)
    args = (beats, [fs] * n, [before] * n)
    with ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        fits = pool.map(_fit_one, *args) if pool is not None else map(_fit_one, *args)
        bar = tqdm(fits, total=n, desc="fitting hearts", unit="heart", disable=not progress)
        results = list(bar)
    timing = np.array([r[0] for r in results])
    return HeartFit(
        hearts=check_hearts(np.array([r[1] for r in results])),
        explained=np.array([r[2] for r in results]),
        intervals=timing[:, [1, 2, 3]],
        beats=beats,
        fitted=np.array([r[3] for r in results]),
    )


def write_bank(
    path: Any,
    hearts: Any,
    *,
    source: str,
    records: Sequence[Any] = (),
    notes: Sequence[str] = (),
) -> None:
    """Write a heart bank as CSV: comment lines (``source``, ``notes`` such as the data's
    licence, the records it was fitted to, the columns), then one heart per line;
    :func:`read_bank` reads it."""
    h = check_hearts(hearts)
    header = [
        f"ecgfast heart bank (ecgfast.hearts.fit_hearts): {source}",
        *notes,
        "records: " + ",".join(str(r) for r in records),
        "columns: " + ",".join(HEART_PARAMS),
    ]
    np.savetxt(path, h, delimiter=",", fmt="%.9g", header="\n".join(header))


def read_bank(path: Any) -> tuple[np.ndarray, list[str]]:
    """A bank written by :func:`write_bank`: (hearts, the records it was fitted to)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    records: list[str] = []
    for line in text.splitlines():
        if line.startswith("# records:"):
            records = [r for r in line.split(":", 1)[1].strip().split(",") if r]
    bank = np.loadtxt(io.StringIO(text), delimiter=",", comments="#", dtype=np.float64, ndmin=2)
    return check_hearts(bank), records
