"""How far synthetic ECG is from real ECG: a classifier two-sample test (Lopez-Paz & Oquab,
ICLR 2017). A classifier is trained to tell real from synthetic records; its cross-validated
ROC AUC measures the difference (0.5: indistinguishable, 1.0: always told apart).

Two classifiers, on the same records prepared the same way (one lead or several, a common rate
and length, the same band-pass):

- ``"features"``: interpretable per-record features (rhythm, intervals, amplitudes and their
  beat-to-beat variability, morphology stability, spectrum, amplitude distribution) and an
  L2-penalised logistic regression (:func:`logistic_regression`, numpy only); the features
  that best separate the two sides, each by its own AUC, say what gives the synthetic
  records away;
- ``"cnn"``: a small 1-D CNN on the signal itself (needs torch), trained through
  :func:`ecgfast.torch.fit` with early stopping on an inner split of the training folds.

Folds are stratified and seeded; figures are mean ± sd over the folds.

What gives a generator away can be narrowed down with views of the records (``view=``):
``"median_beat"`` replaces every record by its median beat repeated every second, so rhythm,
noise and beat-to-beat variation are gone and only the shape of the beat is left;
``"median_beat_unpaired"`` also pairs every lead with the other leads of another record of the
same side, so that only each lead's own shape is left. :func:`realism_breakdown` runs the test
in every view and lead by lead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validate import check_fs, check_int
from .errors import InvalidParameterError, InvalidSignalError

__all__ = [
    "FEATURE_NAMES",
    "VIEWS",
    "logistic_regression",
    "median_beat_records",
    "realism",
    "realism_breakdown",
    "record_features",
]

#: What :func:`realism` compares: the records themselves, their median beats, or their median
#: beats with each lead taken from another record of the same side.
VIEWS = ("signal", "median_beat", "median_beat_unpaired")

#: Columns of :func:`record_features`, in order.
FEATURE_NAMES = (
    "hr",
    "rr_cv",
    "rr_rmssd_rel",
    "pr",
    "qrs",
    "qt",
    "p_found",
    "r_amplitude",
    "t_amplitude",
    "qrs_peak_to_peak",
    "r_amplitude_cv",
    "t_amplitude_cv",
    "beat_correlation",
    "beat_residual",
    "power_below_0.5",
    "power_0.5_5",
    "power_5_15",
    "power_15_40",
    "power_above_40",
    "spectral_entropy",
    "skewness",
    "kurtosis",
    "flat_fraction",
    "signal_sd",
)


def _records_array(x: Any, name: str) -> np.ndarray:
    """``x`` as finite float64 (n_records, n_leads, n_samples); one lead may be given as
    (n_records, n_samples)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3 or min(arr.shape) < 1:
        raise InvalidSignalError(
            f"{name} must be (n_records, n_samples) or (n_records, n_leads, n_samples), got "
            f"{np.shape(x)}"
        )
    if not np.all(np.isfinite(arr)):
        raise InvalidSignalError(f"NaN or infinity in {name}")
    return arr


def _prepare(x: Any, fs: float, out_fs: float, length: float) -> np.ndarray:
    """(records, leads, samples) float64 at ``out_fs``, cut to ``length`` seconds (one lead:
    (records, samples) given, one lead returned); NaN/inf and too short records are errors."""
    from .preprocessing import resample

    arr = _records_array(x, "records")
    n = round(length * out_fs)
    flat = resample(arr.reshape(-1, arr.shape[-1]), fs, out_fs)
    if flat.shape[1] < n:
        raise InvalidSignalError(
            f"records of {flat.shape[1] / out_fs:.1f} s are shorter than length={length:g} s"
        )
    return np.ascontiguousarray(flat[:, :n].reshape(arr.shape[0], arr.shape[1], n))


def _beat_stats(x: np.ndarray, fs: float) -> list[float]:
    """Rhythm, interval, amplitude and morphology features of one record."""
    from .beats import beat_table

    t = beat_table(x, fs)
    r = t["sample"].to_numpy(dtype=np.int64)
    rr = np.diff(r) / fs
    nan = math.nan
    if rr.size < 2:
        return [nan] * 14
    hr = 60.0 / np.median(rr)
    rr_cv = rr.std() / rr.mean()
    rmssd = math.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean() if rr.size > 2 else nan

    def med(col: str) -> float:
        v = t[col].to_numpy(dtype=np.float64, na_value=np.nan)
        return float(np.nanmedian(v)) if np.isfinite(v).any() else nan

    def cv(col: str) -> float:
        v = t[col].to_numpy(dtype=np.float64, na_value=np.nan)
        v = v[np.isfinite(v)]
        return float(v.std() / (abs(v.mean()) + 1e-6)) if v.size > 1 else nan

    lead = t.columns[-1].rsplit("_", 1)[-1]
    before, after = round(0.25 * fs), round(0.45 * fs)
    ok = r[(r - before >= 0) & (r + after <= x.size)]
    if ok.size >= 2:
        beats = np.stack([x[k - before : k + after] for k in ok])
        beats = beats - beats.mean(axis=1, keepdims=True)
        mean = beats.mean(axis=0)
        corr = [np.corrcoef(b, mean)[0, 1] for b in beats]
        correlation = float(np.median(corr))
        residual = float(np.sqrt(np.mean((beats - mean) ** 2)) / (mean.std() + 1e-9))
    else:
        correlation = residual = nan
    return [
        hr,
        rr_cv,
        rmssd,
        med("pr"),
        med("qrs"),
        med("qt"),
        float(t["p_peak"].notna().mean()),
        med(f"r_amplitude_{lead}"),
        med(f"t_amplitude_{lead}"),
        med(f"qrs_peak_to_peak_{lead}"),
        cv(f"r_amplitude_{lead}"),
        cv(f"t_amplitude_{lead}"),
        correlation,
        residual,
    ]


def _signal_stats(x: np.ndarray, fs: float) -> list[float]:
    """Spectrum and amplitude-distribution features of one record."""
    from scipy import signal, stats

    f, p = signal.welch(x - x.mean(), fs=fs, nperseg=min(x.size, round(2 * fs)))
    total = p.sum() + 1e-20
    edges = (0.0, 0.5, 5.0, 15.0, 40.0, np.inf)
    bands = [float(p[(f >= lo) & (f < hi)].sum() / total) for lo, hi in itertools.pairwise(edges)]
    q = p / total
    entropy = float(-(q * np.log(q + 1e-20)).sum() / math.log(q.size))
    centred = x - np.median(x)
    sd = float(x.std())
    return [
        *bands,
        entropy,
        float(stats.skew(x)),
        float(stats.kurtosis(x)),
        float(np.mean(np.abs(centred) < 0.02 * (np.ptp(x) + 1e-9))),
        sd,
    ]


def record_features(x: Any, fs: float) -> np.ndarray:
    """The :data:`FEATURE_NAMES` features of each record of ``x`` (n_records, n_samples) in mV
    at ``fs`` Hz (NaN where a feature is undefined, e.g. no P wave found)."""
    fs = check_fs(fs)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise InvalidSignalError(f"x must be (n_records, n_samples), got shape {arr.shape}")
    return np.array([_beat_stats(r, fs) + _signal_stats(r, fs) for r in arr], dtype=np.float64)


def median_beat_records(
    x: Any,
    fs: float,
    *,
    lead: int = 0,
    before: float = 0.25,
    after: float = 0.45,
    period: float = 1.0,
) -> np.ndarray:
    """Each record replaced by its median beat, repeated every ``period`` seconds.

    What is left is the shape of the record's typical beat in every lead: the rhythm, the
    noise and the beat-to-beat variation are gone. Used by :func:`realism` (``view=
    "median_beat"``) to tell whether a generator is given away by its beats' shape or by the
    rest.

    Parameters
    ----------
    x : array_like, (n_records, n_samples) or (n_records, n_leads, n_samples)
        Records in mV (band-pass them first: the median beat keeps any baseline offset).
    fs : float
        Sampling rate in Hz.
    lead : int
        The lead whose R peaks (:func:`ecgfast.detect_rpeaks`) align the beats of all leads.
    before, after : float
        The beat window around each R peak, in seconds. At heart rates above
        ``60 / (before + after)`` bpm the window also holds parts of the neighbouring beats.
    period : float
        Seconds between the repeated beats (at least ``before + after``); the gaps are zero.

    Returns
    -------
    ndarray, float64, the shape of ``x``
        The first beat's R peak lies at ``before`` seconds. Each lead's median beat has the
        straight line between its first and last 10 ms subtracted, so it starts and ends at 0.

    Raises
    ------
    InvalidSignalError
        NaN/inf, wrong shape, or a record with no whole beat window (too short, or no beat
        found in ``lead``).
    InvalidParameterError
        ``lead`` out of range, non-positive windows, or ``period < before + after``.
    """
    from .detect import detect_rpeaks

    fs = check_fs(fs)
    one_lead = np.ndim(x) == 2
    arr = _records_array(x, "x")
    lead = check_int(lead, name="lead", low=0, high=arr.shape[1] - 1)
    if not (before > 0 and after > 0 and period >= before + after):
        raise InvalidParameterError(
            f"need before > 0, after > 0 and period >= before + after; got before={before}, "
            f"after={after}, period={period}"
        )
    n0, n1, step = round(before * fs), round(after * fs), round(period * fs)
    edge = max(1, round(0.01 * fs))
    out = np.zeros_like(arr)
    ramp = np.linspace(0.0, 1.0, n0 + n1)
    peaks = detect_rpeaks(np.ascontiguousarray(arr[:, lead]), fs)
    for k, r in enumerate(peaks):
        r = r[(r >= n0) & (r + n1 <= arr.shape[-1])]
        if r.size == 0:
            raise InvalidSignalError(
                f"record {k} has no beat whose {before + after:g}-s window fits in it"
            )
        med = np.median(np.stack([arr[k, :, i - n0 : i + n1] for i in r]), axis=0)
        first, last = med[:, :edge].mean(axis=1), med[:, -edge:].mean(axis=1)
        med -= first[:, None] + (last - first)[:, None] * ramp
        for start in range(0, arr.shape[-1] - (n0 + n1) + 1, step):
            out[k, :, start : start + n0 + n1] = med
    return out[:, 0] if one_lead else out


def _unpair_leads(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every lead after the first taken from a random other arrangement of the records
    (independent permutations), so that the leads of a record no longer belong together."""
    out = x.copy()
    for j in range(1, x.shape[1]):
        out[:, j] = x[rng.permutation(len(x)), j]
    return out


def _folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Stratified fold index of every item, seeded."""
    rng = np.random.default_rng(seed)
    fold = np.empty(y.size, dtype=np.int64)
    for c in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold[idx] = np.arange(idx.size) % k
    return fold


def logistic_regression(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """L2-penalised logistic regression by Newton's method on standardised ``x``: returns the
    weights with the intercept last (not penalised). ``l2`` = 1 / C of scikit-learn."""
    a = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _feature_test(
    feats: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int, names: Sequence[str]
) -> dict[str, Any]:
    from .evaluate import auroc

    aucs, score = [], np.zeros(y.size)
    for j in range(k):
        tr, te = fold != j, fold == j
        med = np.nanmedian(feats[tr], axis=0)
        med = np.where(np.isfinite(med), med, 0.0)
        a, b = (np.where(np.isfinite(v), v, med) for v in (feats[tr], feats[te]))
        mean, sd = a.mean(axis=0), a.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        w = logistic_regression((a - mean) / sd, y[tr].astype(np.float64))
        score[te] = ((b - mean) / sd) @ w[:-1] + w[-1]
        aucs.append(auroc(y[te], score[te]))

    def median(v: np.ndarray) -> float | None:
        return float(np.nanmedian(v)) if np.isfinite(v).any() else None

    single: dict[str, dict[str, Any]] = {}
    own_auc: dict[str, float] = {}
    for i, name in enumerate(names):
        v = feats[:, i]
        ok = np.isfinite(v)
        own_auc[name] = auroc(y[ok], v[ok]) if len(set(y[ok])) == 2 else math.nan
        single[name] = {
            "auc": own_auc[name],
            "real_median": median(v[y == 0]),
            "synthetic_median": median(v[y == 1]),
        }

    def distance(name: str) -> float:
        auc = own_auc[name]
        return abs(auc - 0.5) if math.isfinite(auc) else -1.0

    ranked = sorted(names, key=distance, reverse=True)
    return {
        "auc": float(np.mean(aucs)),
        "auc_sd": float(np.std(aucs, ddof=1)),
        "fold_aucs": [float(a) for a in aucs],
        "features": single,
        "giveaways": ranked[:8],
    }


def _cnn_test(
    x: np.ndarray, y: np.ndarray, fold: np.ndarray, k: int, seed: int, epochs: int
) -> dict[str, Any]:
    import torch

    from .evaluate import auroc
    from .torch import create_model, fit, predict
    from .torch.tasks import Task

    class _Items(torch.utils.data.Dataset):
        def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
            self.x, self.y = x.astype(np.float32), y.astype(np.int64)

        def __len__(self) -> int:
            return len(self.x)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.from_numpy(self.x[i]), torch.tensor(self.y[i])

    task = Task.classification(("real", "synthetic"))
    aucs = []
    for j in range(k):
        tr = np.flatnonzero(fold != j)
        inner = _folds(y[tr], 5, seed + j) == 0  # early stopping on an inner fifth
        torch.manual_seed(seed + j)
        model = create_model("resnet1d", x.shape[1], 2, width=16)
        fit(
            model,
            _Items(x[tr[~inner]], y[tr[~inner]]),
            _Items(x[tr[inner]], y[tr[inner]]),
            task,
            epochs=epochs,
            batch_size=8,  # small sets: enough steps for batch-norm statistics to settle
            lr=3e-3,
            patience=epochs,  # the whole one-cycle schedule: its peak rate can look like a plateau
            seed=seed + j,
            progress=False,
        )
        te = fold == j
        _, prob = predict(model, _Items(x[te], y[te]), task)
        aucs.append(auroc(y[te], prob[:, 1]))
    return {
        "auc": float(np.mean(aucs)),
        "auc_sd": float(np.std(aucs, ddof=1)),
        "fold_aucs": [float(a) for a in aucs],
    }


def realism(
    real: Any,
    synthetic: Any,
    fs: float,
    *,
    synthetic_fs: float | None = None,
    out_fs: float = 250.0,
    length: float = 10.0,
    band: tuple[float, float] | None = (0.5, 40.0),
    classifiers: Sequence[str] = ("features",),
    folds: int = 5,
    seed: int = 0,
    epochs: int = 30,
    lead_names: Sequence[str] | None = None,
    normalize: str | None = None,
    view: str = "signal",
) -> dict[str, Any]:
    """Classifier two-sample test of synthetic against real ECG records (one lead or several).

    Parameters
    ----------
    real, synthetic : array_like, (n_records, n_samples) or (n_records, n_leads, n_samples)
        In mV: one lead per record (e.g. lead II of real sinus-rhythm records and of a
        generator's output), or the same leads in the same order on both sides (e.g. the
        eight independent leads I, II, V1-V6). With several leads the features are computed
        per lead (named ``feature[lead]``) and the CNN sees every lead as a channel.
    fs : float
        Rate of ``real`` (and of ``synthetic`` unless ``synthetic_fs``).
    out_fs, length : float
        Both sides are resampled to ``out_fs`` and cut to the first ``length`` seconds.
    band : (low, high) or None
        Zero-phase band-pass applied to both sides (ecgfast's filters), so that differences
        of recording bandwidth alone do not decide the test.
    classifiers : sequence of {"features", "cnn"}
    folds : int
        Stratified cross-validation folds (seeded by ``seed``).
    epochs : int
        Most epochs of the CNN (early stopping on an inner split of the training folds).
    lead_names : sequence of str, optional
        Names of the leads, for the feature names (default ``0, 1, ...``).
    normalize : {None, "peak_to_peak"}
        ``"peak_to_peak"``: every record's every lead divided by its peak-to-peak amplitude
        (after resampling, before the band-pass), on both sides. Use it when the real records
        were stored that way, so that absolute amplitude, which they no longer carry, does not
        decide the test: the LUDB copy here has every lead of every record scaled to exactly
        1 mV peak to peak.
    view : {"signal", "median_beat", "median_beat_unpaired"}
        What is compared (after resampling, normalisation and band-pass): the records;
        every record's median beat repeated every second (:func:`median_beat_records`,
        aligned on lead II's R peaks if ``lead_names`` has II, else on the first lead's), so
        only the beat's shape is left; or those median beats with every lead after the first
        taken from another record of the same side (seeded), so that only each lead's own
        shape is left and not how the leads of one heart go together.

    Returns
    -------
    dict
        ``n_real``, ``n_synthetic``, ``view`` and per classifier ``auc`` (mean over folds),
        ``auc_sd``, ``fold_aucs``; for ``"features"`` also ``features`` (each feature's own
        AUC and the medians of both sides) and ``giveaways`` (the features furthest from AUC
        0.5).
    """
    fs = check_fs(fs)
    folds = check_int(folds, name="folds", low=2, high=100)
    unknown = set(classifiers) - {"features", "cnn"}
    if unknown or not classifiers:
        raise InvalidParameterError(f"classifiers must be among 'features', 'cnn'; got {unknown}")
    if normalize not in (None, "peak_to_peak"):
        raise InvalidParameterError(f"normalize must be None or 'peak_to_peak', got {normalize!r}")
    if view not in VIEWS:
        raise InvalidParameterError(f"view must be one of {VIEWS}, got {view!r}")
    a = _prepare(real, fs, out_fs, length)
    b = _prepare(synthetic, synthetic_fs or fs, out_fs, length)
    if normalize == "peak_to_peak":
        a, b = (v / np.maximum(np.ptp(v, axis=-1, keepdims=True), 1e-12) for v in (a, b))
    if a.shape[1] != b.shape[1]:
        raise InvalidSignalError(
            f"real records have {a.shape[1]} lead(s), synthetic ones {b.shape[1]}: give both "
            "sides the same leads in the same order"
        )
    n_leads = a.shape[1]
    leads = [str(i) for i in range(n_leads)] if lead_names is None else list(lead_names)
    if len(leads) != n_leads:
        raise InvalidParameterError(f"lead_names has {len(leads)} names for {n_leads} leads")
    if min(len(a), len(b)) < folds:
        raise InvalidParameterError(f"need at least {folds} records on each side")
    x = np.concatenate([a, b])
    if band is not None:
        from .filters import bandpass

        x = bandpass(x, out_fs, band[0], min(band[1], 0.45 * out_fs))
    if view != "signal":
        x = median_beat_records(x, out_fs, lead=leads.index("II") if "II" in leads else 0)
        if view == "median_beat_unpaired":
            rng = np.random.default_rng(seed)
            x = np.concatenate([_unpair_leads(x[: len(a)], rng), _unpair_leads(x[len(a) :], rng)])
    y = np.r_[np.zeros(len(a), dtype=np.int64), np.ones(len(b), dtype=np.int64)]
    fold = _folds(y, folds, seed)
    out: dict[str, Any] = {
        "n_real": len(a),
        "n_synthetic": len(b),
        "fs": out_fs,
        "leads": leads,
        "normalize": normalize,
        "view": view,
    }
    if "features" in classifiers:
        if n_leads == 1:
            feats, names = record_features(x[:, 0], out_fs), list(FEATURE_NAMES)
        else:
            feats = np.hstack([record_features(x[:, j], out_fs) for j in range(n_leads)])
            names = [f"{f}[{lead}]" for lead in leads for f in FEATURE_NAMES]
        out["features"] = _feature_test(feats, y, fold, folds, names)
    if "cnn" in classifiers:
        out["cnn"] = _cnn_test(x, y, fold, folds, seed, epochs)
    return out


def realism_breakdown(
    real: Any,
    synthetic: Any,
    fs: float,
    *,
    lead_names: Sequence[str] | None = None,
    classifiers: Sequence[str] = ("features",),
    progress: bool = True,
    **kwargs: Any,
) -> Any:
    """:func:`realism` in every view, and lead by lead: what gives the synthetic side away.

    For several leads the rows are every :data:`VIEWS` entry on all leads, then ``"signal"``
    and ``"median_beat"`` on each lead alone; for one lead, ``"signal"`` and
    ``"median_beat"``. Reading it: if the median beats are told apart as well as the records,
    the beat's shape gives the generator away, not its rhythm or noise; if unpairing the leads
    lowers the AUC, how the leads of one heart go together does; the leads alone say which
    leads' shapes are furthest from real.

    Parameters
    ----------
    real, synthetic, fs, lead_names, classifiers
        As for :func:`realism`.
    progress : bool
        A tqdm progress bar over the tests.
    **kwargs
        Passed to :func:`realism` (``seed``, ``normalize``, ``out_fs``, ``epochs``...).

    Returns
    -------
    pandas.DataFrame
        One row per test: ``view``, ``lead`` (``"all"`` or the lead's name) and per
        classifier ``<classifier>_auc`` and ``<classifier>_sd`` (mean and sd over the folds).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    if "view" in kwargs:
        raise InvalidParameterError("realism_breakdown runs every view: do not pass view")
    a, b = np.asarray(real), np.asarray(synthetic)
    several = a.ndim == 3 and a.shape[1] > 1
    names = None if lead_names is None else list(lead_names)
    n_leads = a.shape[1] if several else 1
    if names is not None and len(names) != n_leads:
        raise InvalidParameterError(f"lead_names has {len(names)} names for {n_leads} leads")
    names_all = names or [str(i) for i in range(n_leads)]
    runs: list[tuple[str, str, Any, Any, list[str] | None]] = [
        (view, "all", a, b, names) for view in (VIEWS if several else VIEWS[:2])
    ]
    if several:
        runs += [
            (view, names_all[j], a[:, [j]], b[:, [j]], [names_all[j]])
            for view in VIEWS[:2]
            for j in range(n_leads)
        ]
    rows = []
    for view, lead, ra, rb, ln in tqdm(runs, desc="realism", disable=not progress):
        res = realism(ra, rb, fs, lead_names=ln, classifiers=classifiers, view=view, **kwargs)
        row: dict[str, Any] = {"view": view, "lead": lead}
        for c in classifiers:
            row[f"{c}_auc"], row[f"{c}_sd"] = res[c]["auc"], res[c]["auc_sd"]
        rows.append(row)
    return pd.DataFrame(rows)
