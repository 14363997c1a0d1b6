"""Realism of synthetic ECG against real sinus-rhythm records (issue 15): a classifier two-sample
test (:func:`ecgfast.evaluate.realism`) of each generator's lead II against LUDB lead II (or of
the eight independent leads I, II, V1-V6 against LUDB's, ``--leads 8``), with
interpretable features + logistic regression and with a small CNN (5-fold CV ROC AUC; 0.5 =
indistinguishable). Generators side by side, each making as many 10-s records as there are
real ones:

- ecgfast (``synthesize``, dipole model, default parameters: sinus rhythm, default noise);
- ecgfast-ludb (``population="ludb"``: waves fitted to LUDB's median beats);
- ecgfast-hearts (``population="ludb", hearts="ludb"``: each record's heart from the bank
  fitted to LUDB 1-100, or from ``--hearts-bank`` fitted by benches/fit_hearts.py to records
  held out from the real side);
- ecgfast-ludb-mix (``population="ludb"`` with the diagnoses of the real records: LUDB's
  sinus-rhythm records are not healthy hearts, 96 % of those here carry another diagnosis
  (LVH 66 %, ischaemia 39 %, left axis 38 %, RBBB 25 %, ...); :func:`ludb_mix` turns the
  real records' label prevalences into ``synthesize`` options);
- NeuroKit2 ``ecg_simulate`` (ECGSYN, heart rate drawn in 50-110 bpm, its default noise);
- the deepfake-ecg GAN (Pulse2Pulse, 8 leads, 500 Hz, output x 6000 uV; lead II = channel 1);
- ludb-shapes (not a generator: an upper bound): the median beats of other LUDB records
  (``--shape-records``, held out from the real side ``--real-records``) repeated at the beat
  times of ``population="ludb"`` records, with their noise: real hearts' shapes with ecgfast's
  rhythm and noise (:func:`make_ludb_shapes`); ludb-shapes-fitted: the same median beats fitted
  by ecgfast's kind of heart first (ten Gaussian waves with 3-D amplitudes through a lead field
  of the heart's own, :func:`fit_waves`).

    python benches/realism.py [--ludb ../shared/data/ludb] [--out runs/realism]
                              [--generators ecgfast,neurokit2,deepfake] [--classifiers features,cnn]
                              [--leads II|8] [--normalize peak_to_peak|none]
                              [--seeds 0,1] [--breakdown]
                              [--real-records 51-100 --shape-records 1-50]
                              [--hearts-bank runs/hearts_1-50.csv]

The LUDB copy here stores every lead of every record scaled to exactly 1 mV peak to peak, so
absolute amplitude says nothing about the real side; by default both sides are brought to the
same scale (``--normalize peak_to_peak``), and ``none`` repeats the raw comparison.

Prints a table, writes ``realism.json``, ``realism_examples.png`` (one record per source) and
``realism_beats.png``: where the median beats of real and synthetic records differ (their
10/50/90 % bands and each time point's own AUC, first lead). With ``--breakdown`` it runs
:func:`ecgfast.evaluate.realism_breakdown` instead (the records, their median beats, the median
beats with unpaired leads, and each lead alone) and writes ``breakdown.csv`` / ``breakdown.md``.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from tqdm.auto import tqdm

import ecgfast
from ecgfast.deepfake import GAN_LEADS as EIGHT  # the eight independent leads, GAN order
from ecgfast.evaluate import realism, realism_breakdown
from ecgfast.hearts import read_bank
from ecgfast.realism import median_beat_records

FS = 500.0
SECONDS = 10.0


def sinus_ids(root: Path) -> list[str]:
    """IDs of the LUDB records present whose rhythm is sinus (rhythm, brady-, tachycardia,
    arrhythmia)."""
    table = pd.read_csv(root / "ludb.csv")
    sinus = table[table["Rhythms"].str.strip().str.startswith("Sinus")]
    return [str(i) for i in sinus["ID"] if (root / "data" / f"{i}.hea").exists()]


def record_range(spec: str | None) -> range | None:
    """``"51-100"`` -> ``range(51, 101)``; None -> None (every record)."""
    if spec is None:
        return None
    lo, _, hi = spec.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def ludb_sinus(
    root: Path, leads: tuple[str, ...] = ("II",), records: range | None = None
) -> np.ndarray:
    """``leads`` of the LUDB records of :func:`sinus_ids` (those numbered in ``records``, or
    all), 10 s at 500 Hz, mV: (records, leads, samples)."""
    out = []
    for rid in sinus_ids(root):
        if records is not None and int(rid) not in records:
            continue
        rec = wfdb.rdrecord(str(root / "data" / rid))
        names = [n.lower() for n in rec.sig_name]
        out.append(rec.p_signal[:, [names.index(lead.lower()) for lead in leads]].T)
    return np.array(out)


def make_ecgfast(
    n: int, seed: int, leads: tuple[str, ...], population: str = "standard", **options
) -> np.ndarray:
    return ecgfast.synthesize(
        n, fs=FS, duration=SECONDS, leads=list(leads), seed=seed, population=population, **options
    ).signals


def make_ecgfast_ludb(n: int, seed: int, leads: tuple[str, ...]) -> np.ndarray:
    return make_ecgfast(n, seed, leads, population="ludb")


def make_ecgfast_hearts(
    n: int, seed: int, leads: tuple[str, ...], hearts: str | np.ndarray = "ludb"
) -> np.ndarray:
    """``population="ludb"`` records whose hearts come from a bank fitted to real records (the
    shipped one, or ``--hearts-bank``)."""
    return make_ecgfast(n, seed, leads, population="ludb", hearts=hearts)


def ludb_mix(root: Path) -> dict:
    """``synthesize`` options whose pathology matches the diagnoses of the LUDB sinus records
    of :func:`ludb_sinus` (``ecgfast.diagnoses.ludb_diagnoses``), label by label:

    - RBBB -> ``conduction={"rbbb": p}``; LAFB -> ``lafb``; LAD without LAFB -> ``left_axis``;
    - LVH -> ``lvh`` at half its prevalence (the generator's LVH is textbook voltage, QRS
      forces x 1.8-2.6, strain in half; LUDB's label covers milder hearts);
    - ischaemia (ISC) -> ``st_depression`` at half; non-specific ST-T (NSSTT) ->
      ``t_inversion``; STEMI (acute and old infarction) -> ``st_elevation`` and ``q_waves`` at
      half each;
    - extrasystoles (EXTRA, 7 %) left out: ``synthesize`` draws an ectopy rate for every
      record, not for a few, and ectopic beats in most records made their RR variability twice
      LUDB's;
    - pacing left out: the generator's spikes, unfiltered, then set every paced record's
      peak-to-peak scale;
    - AF: none in sinus records.

    The halvings and the choice to leave pacing out were made on these records (lead II and
    8 leads, seeds 0-3); the other LUDB records are the check."""
    from ecgfast.diagnoses import ludb_diagnoses

    ids = {f"data/{i}" for i in sinus_ids(root)}
    labels = ludb_diagnoses(root)
    labels = labels[labels["record"].isin(ids)].drop(columns="record").astype(float)
    p = {k: float(v) for k, v in labels.mean().items()}
    return {
        "conduction": {"rbbb": p["RBBB"]},
        "morphology": {
            "lvh": p["LVH"] / 2,
            "left_axis": max(p["LAD"] - p["LAFB"], 0.0),
            "lafb": p["LAFB"],
            "st_depression": p["ISC"] / 2,
            "t_inversion": p["NSSTT"],
            "st_elevation": p["STEMI"] / 2,
            "q_waves": p["STEMI"] / 2,
        },
    }


def make_ecgfast_ludb_mix(
    n: int, seed: int, leads: tuple[str, ...], mix: dict | None = None
) -> np.ndarray:
    mix = ludb_mix(Path(__file__).resolve().parents[2] / "shared/data/ludb") if mix is None else mix
    return make_ecgfast(n, seed, leads, population="ludb", **mix)


def ludb_shape_bank(root: Path, leads: tuple[str, ...], records: range) -> np.ndarray:
    """The median beats (0.5-40 Hz, 0.3 s before and 0.5 s after lead II's R peak, or the first
    lead's) of the LUDB sinus records numbered in ``records``: (records, leads, 400)."""
    x = ecgfast.bandpass(ludb_sinus(root, leads, records), FS)
    align = leads.index("II") if "II" in leads else 0
    beats = median_beat_records(x, FS, lead=align, before=0.3, after=0.5, period=0.8)
    return beats[:, :, : round(0.8 * FS)]


#: Initial centres (s from R) and widths of the waves :func:`fit_waves` fits: two for P, five
#: for the QRS, three for ST-T.
WAVES_MU = (-0.2, -0.15, -0.04, -0.02, 0.0, 0.02, 0.04, 0.15, 0.25, 0.32)
WAVES_SIGMA = (0.02, 0.02, 0.008, 0.008, 0.008, 0.008, 0.01, 0.04, 0.04, 0.03)


def fit_waves(beat: np.ndarray, before: int) -> tuple[np.ndarray, float]:
    """``beat`` (leads, samples; R at sample ``before``) as ecgfast's kind of heart: ten
    Gaussian waves, each with one time course and a 3-D amplitude, seen by the leads through a
    lead field of the heart's own (its three largest singular components). Returns the fitted
    beat and the share of the beat's variance it explains."""
    from scipy.optimize import least_squares

    t = (np.arange(beat.shape[-1]) - before) / FS
    u, sv, vt = np.linalg.svd(beat, full_matrices=False)
    comps = (sv[:3, None] * vt[:3]).T  # samples x 3

    def waves(p: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((t[:, None] - p[:10]) / np.exp(p[10:])) ** 2)

    def residual(p: np.ndarray) -> np.ndarray:
        g = waves(p)
        return (g @ np.linalg.lstsq(g, comps, rcond=None)[0] - comps).ravel()

    lo = np.r_[np.full(10, -0.3), np.full(10, np.log(0.003))]
    hi = np.r_[np.full(10, 0.5), np.full(10, np.log(0.12))]
    p0 = np.r_[WAVES_MU, np.log(WAVES_SIGMA)]
    g = waves(least_squares(residual, p0, bounds=(lo, hi)).x)
    fitted = u[:, :3] @ (g @ np.linalg.lstsq(g, comps, rcond=None)[0]).T
    return fitted, float(1 - ((fitted - beat) ** 2).sum() / (beat**2).sum())


def make_ludb_shapes(n: int, seed: int, leads: tuple[str, ...], bank: np.ndarray) -> np.ndarray:
    """Real hearts' shapes with ecgfast's rhythm and noise: each record repeats the median beat
    of a random record of ``bank`` (:func:`ludb_shape_bank`) at the R peaks of
    ``population="ludb"`` records of the same seed, plus their noise (noisy minus noise-free,
    exact: the noise is additive), scaled per lead by the ratio of the real beat's peak-to-peak
    to the synthetic heart's, so that noise keeps its size relative to the heart. No beat-to-
    beat variation of shape: an upper bound of what hearts fitted to real records could give."""
    kw = dict(seed=seed, duration=SECONDS, fs=FS, population="ludb", leads=list(leads))
    made = ecgfast.synthesize(n, **kw)
    noisy = made.signals.astype(np.float64)
    clean = ecgfast.synthesize(n, noise=0.0, **kw).signals.astype(np.float64)
    rng = np.random.default_rng(seed)
    out = np.zeros_like(noisy)
    before, width = round(0.3 * FS), bank.shape[-1]
    table = made.beats
    for k in range(n):
        beat = bank[rng.integers(len(bank))]
        peaks = table.loc[table["record"] == k, "r_peak"].dropna().to_numpy(dtype=np.int64)
        for p in peaks[peaks >= 0]:
            lo = p - before
            a, b = max(lo, 0), min(lo + width, out.shape[-1])
            out[k, :, a:b] += beat[:, a - lo : b - lo]
        size = np.ptp(beat, axis=-1, keepdims=True) / np.maximum(
            np.ptp(clean[k], axis=-1, keepdims=True), 1e-9
        )
        out[k] += size * (noisy[k] - clean[k])
    return out


def make_neurokit2(n: int, seed: int, leads: tuple[str, ...]) -> np.ndarray:
    import neurokit2 as nk

    rng = np.random.default_rng(seed)
    several = leads != ("II",)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            x = nk.ecg_simulate(
                duration=int(SECONDS),
                sampling_rate=int(FS),
                heart_rate=float(rng.uniform(50, 110)),
                method="multileads" if several else "ecgsyn",
                random_state=int(seed * 100_000 + i),
            )
            if several:
                out.append(x[list(leads)].to_numpy().T[:, : int(FS * SECONDS)])
            else:
                out.append(np.asarray(x)[None, : int(FS * SECONDS)])
    return np.array(out)


def make_deepfake(n: int, seed: int, leads: tuple[str, ...]) -> np.ndarray:
    import torch
    from deepfakeecg import Generator

    root = Path(__import__("deepfakeecg").__file__).parent
    net = Generator()
    state = torch.load(root / "checkpoints" / "g_stat.pt", map_location="cpu")
    net.load_state_dict(state["stat_dict"])
    net.eval()
    torch.manual_seed(seed)
    out = []
    with torch.no_grad():
        for lo in range(0, n, 16):
            noise = torch.empty(min(16, n - lo), 8, 5000).uniform_(-1, 1)
            x = (net(noise) * 6000 / 1000).numpy()  # uV -> mV, leads I, II, V1-V6
            out.append(x[:, [EIGHT.index(lead) for lead in leads]])
    return np.concatenate(out)


GENERATORS = {
    "ecgfast": make_ecgfast,
    "ecgfast-ludb": make_ecgfast_ludb,
    "ecgfast-ludb-mix": make_ecgfast_ludb_mix,
    "ecgfast-hearts": make_ecgfast_hearts,
    "neurokit2": make_neurokit2,
    "deepfake": make_deepfake,
}
#: References made from held-out LUDB records: :func:`main` adds them, with their bank.
SHAPE_REFERENCES = ("ludb-shapes", "ludb-shapes-fitted")


def generator(name: str, ludb: Path):
    """The ``make(n, seed, leads)`` of generator ``name`` (with the LUDB mix where it needs it)."""
    make = GENERATORS[name]
    if name == "ecgfast-ludb-mix":
        make = functools.partial(make, mix=ludb_mix(ludb))
    return make


def plot_examples(real: np.ndarray, made: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = {"LUDB (real)": real[0, 0], **{k: v[0, 0] for k, v in made.items()}}
    fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.8 * len(rows)), sharex=True)
    t = np.arange(int(FS * SECONDS)) / FS
    for ax, (name, x) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        ax.plot(t, x[: t.size], lw=0.7)
        ax.set_ylabel("mV")
        ax.set_title(f"{name}, first lead", fontsize=9, loc="left")
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def median_beats(x: np.ndarray, fs: float = 250.0) -> np.ndarray:
    """Median beat of each record's first lead (the test's preprocessing: 250 Hz, peak-to-peak
    scaling, 0.5-40 Hz), -0.4..+0.6 s around R, baseline at its first 80 ms, scaled to its QRS
    peak-to-peak. Records with fewer than three beats give NaN."""
    from ecgfast.filters import bandpass
    from ecgfast.realism import _prepare

    a = _prepare(x[:, :1], FS, fs, SECONDS)[:, 0]
    a = bandpass(a / np.ptp(a, axis=-1, keepdims=True), fs, 0.5, 40.0)
    pre, post = int(0.4 * fs), int(0.6 * fs)
    out = np.full((len(a), pre + post), np.nan)
    for i, s in enumerate(a):
        r = ecgfast.detect_rpeaks(s, fs)
        r = r[(r >= pre) & (r < len(s) - post)]
        if len(r) < 3:
            continue
        b = np.median(np.stack([s[k - pre : k + post] for k in r]), axis=0)
        b -= np.median(b[: int(0.08 * fs)])
        qrs = b[pre - int(0.1 * fs) : pre + int(0.1 * fs)]
        out[i] = b / max(np.ptp(qrs), 1e-9)
    return out


def plot_beat_profiles(real: np.ndarray, made: dict[str, np.ndarray], path: Path) -> dict:
    """Where the median beats differ: 10/50/90 % of real and synthetic median beats, and each
    time point's own AUC (synthetic vs real; 0.5 = no difference). Returns the worst times."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgfast.evaluate import auroc

    fs = 250.0
    a = median_beats(real, fs)
    a = a[np.isfinite(a).all(axis=1)]
    t = (np.arange(a.shape[1]) - int(0.4 * fs)) / fs * 1000
    fig, axes = plt.subplots(2, len(made), figsize=(5.5 * len(made), 6), sharex=True, squeeze=False)
    worst = {}
    for j, (name, signals) in enumerate(made.items()):
        b = median_beats(signals, fs)
        b = b[np.isfinite(b).all(axis=1)]
        y = np.r_[np.zeros(len(a)), np.ones(len(b))]
        auc = np.array([auroc(y, np.r_[a[:, k], b[:, k]]) for k in range(a.shape[1])])
        order = np.argsort(-np.abs(auc - 0.5))[:5]
        worst[name] = [(float(t[k]), float(auc[k])) for k in order]
        top, bottom = axes[0, j], axes[1, j]
        for v, colour, label in ((a, "C0", "LUDB"), (b, "C1", name)):
            top.plot(t, np.median(v, axis=0), colour, lw=1.2, label=label)
            for q in (10, 90):
                top.plot(t, np.percentile(v, q, axis=0), colour, lw=0.6, ls=":")
        top.set_title(f"median beats: 10/50/90 % ({name})", fontsize=9)
        top.legend(fontsize=8)
        bottom.plot(t, auc, "k", lw=1)
        bottom.axhline(0.5, color="grey", lw=0.6)
        bottom.set_ylim(0, 1)
        bottom.set_ylabel("AUC per time point")
        bottom.set_xlabel("ms from R")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return worst


def breakdown(
    real: np.ndarray,
    args: argparse.Namespace,
    leads: tuple[str, ...],
    classifiers: list[str],
    seeds: list[int],
    out: Path,
) -> None:
    """`realism_breakdown` of each generator, mean and sd over the seeds."""
    tables = []
    for name in args.generators.split(","):
        make = generator(name, Path(args.ludb))
        for seed in seeds:
            try:
                signals = make(len(real), seed, leads)
            except ImportError as exc:
                print(f"{name}: not installed ({exc}); skipped")
                break
            t = realism_breakdown(
                real,
                signals,
                FS,
                lead_names=leads,
                classifiers=classifiers,
                seed=seed,
                normalize=None if args.normalize == "none" else args.normalize,
            )
            tables.append(t.assign(generator=name, seed=seed))
    if not tables:
        return
    cols = [f"{c}_auc" for c in classifiers]
    table = pd.concat(tables)
    summary = (
        table.groupby(["generator", "view", "lead"], sort=False)[cols].agg(["mean", "std"]).round(3)
    )
    summary.columns = [f"{c} {stat}" for c, stat in summary.columns]
    print(summary.to_string())
    table.to_csv(out / "breakdown.csv", index=False)
    (out / "breakdown.md").write_text(summary.reset_index().to_markdown(index=False) + "\n")
    print(f"wrote {out / 'breakdown.csv'}, {out / 'breakdown.md'}")


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--ludb", default=str(here.parent / "shared/data/ludb"))
    p.add_argument("--out", default="runs/realism")
    p.add_argument(
        "--generators",
        default="ecgfast,ecgfast-ludb,ecgfast-ludb-mix,ecgfast-hearts,neurokit2,deepfake",
    )
    p.add_argument("--classifiers", default="features,cnn")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds (synthetic records and folds): mean ± sd over them",
    )
    p.add_argument("--leads", default="II", choices=["II", "8"], help="lead II or I, II, V1-V6")
    p.add_argument("--normalize", default="peak_to_peak", choices=["peak_to_peak", "none"])
    p.add_argument(
        "--real-records",
        default=None,
        help="LUDB record numbers of the real side, e.g. 51-100 (default: every sinus record)",
    )
    p.add_argument(
        "--shape-records",
        default="1-50",
        help="LUDB records whose median beats ludb-shapes repeats (must not meet --real-records)",
    )
    p.add_argument(
        "--hearts-bank",
        default=None,
        help="ecgfast-hearts: a bank written by benches/fit_hearts.py instead of the shipped one "
        "(fitted to LUDB 1-100); its records must not meet --real-records",
    )
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="realism_breakdown instead: every view (records, median beats, median beats with "
        "unpaired leads) and each lead alone; writes breakdown.csv / breakdown.md",
    )
    args = p.parse_args()
    leads = EIGHT if args.leads == "8" else ("II",)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    real_records = record_range(args.real_records)
    real = ludb_sinus(Path(args.ludb), leads, real_records)
    wanted = set(args.generators.split(","))
    if set(SHAPE_REFERENCES) & wanted:
        shapes = record_range(args.shape_records)
        if real_records is None or set(shapes) & set(real_records):
            p.error("ludb-shapes: --real-records must not meet --shape-records (held-out hearts)")
        bank = ludb_shape_bank(Path(args.ludb), leads, shapes)
        GENERATORS["ludb-shapes"] = functools.partial(make_ludb_shapes, bank=bank)
        if "ludb-shapes-fitted" in wanted:
            fits = [fit_waves(beat, round(0.3 * FS)) for beat in tqdm(bank, desc="fit waves")]
            explained = [v for _, v in fits]
            print(
                f"ten waves explain {np.median(explained):.4f} of the median beats' variance "
                f"(median; 10th percentile {np.percentile(explained, 10):.4f})"
            )
            GENERATORS["ludb-shapes-fitted"] = functools.partial(
                make_ludb_shapes, bank=np.array([f for f, _ in fits])
            )
    if args.hearts_bank:
        bank, fitted_to = read_bank(args.hearts_bank)
        if real_records is None or {int(r) for r in fitted_to} & set(real_records):
            p.error("--hearts-bank was fitted to records of the real side: not held out")
        GENERATORS["ecgfast-hearts"] = functools.partial(make_ecgfast_hearts, hearts=bank)
    elif "ecgfast-hearts" in wanted:
        with resources.as_file(resources.files("ecgfast") / "data" / "hearts_ludb.csv") as f:
            fitted_to = {int(r) for r in read_bank(f)[1]}
        real_ids = {int(i) for i in sinus_ids(Path(args.ludb))}
        seen = real_ids & fitted_to & set(real_records or real_ids)
        if seen:
            print(
                f"note: ecgfast-hearts uses the shipped bank, fitted to {len(seen)} of the real "
                "records (in-sample); for a held-out figure use --real-records outside LUDB "
                "1-100, or --hearts-bank (benches/fit_hearts.py) with --real-records"
            )
    print(f"{len(real)} LUDB sinus records ({', '.join(leads)}; 10 s, {FS:g} Hz)")
    classifiers = args.classifiers.split(",")
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [args.seed]
    if args.breakdown:
        breakdown(real, args, leads, classifiers, seeds, out)
        return
    results, made = {}, {}
    for name in args.generators.split(","):
        per_seed = []
        for seed in seeds:
            t = time.perf_counter()
            make = generator(name, Path(args.ludb))
            try:
                signals = make(len(real), seed, leads)
            except ImportError as exc:
                print(f"{name}: not installed ({exc}); skipped")
                break
            made.setdefault(name, signals)
            gen_s = time.perf_counter() - t
            res = realism(
                real,
                signals,
                FS,
                classifiers=classifiers,
                seed=seed,
                lead_names=leads,
                normalize=None if args.normalize == "none" else args.normalize,
            )
            res["generate_seconds"] = gen_s
            per_seed.append(res)
        if not per_seed:
            continue
        res = per_seed[0]
        if len(seeds) > 1:
            res = {**res, "seeds": seeds}
            for c in classifiers:
                aucs = [r[c]["auc"] for r in per_seed]
                res[c] = {
                    **res[c],
                    "auc": float(np.mean(aucs)),
                    "auc_sd": float(np.std(aucs, ddof=1)),
                }
                res[c]["seed_aucs"] = aucs
        results[name] = res
        spread = "over seeds" if len(seeds) > 1 else "over folds"
        parts = [f"{c} AUC {res[c]['auc']:.3f} ± {res[c]['auc_sd']:.3f}" for c in classifiers]
        print(f"{name:12s} " + ", ".join(parts) + f" (± sd {spread})")
        if "features" in res:
            top = res["features"]["giveaways"][:5]
            feats = res["features"]["features"]
            print(
                "           giveaways: "
                + "; ".join(
                    f"{f} (AUC {feats[f]['auc']:.2f}, real {feats[f]['real_median']:.3g}, "
                    f"synthetic {feats[f]['synthetic_median']:.3g})"
                    for f in top
                )
            )
    (out / "realism.json").write_text(json.dumps(results, indent=1, default=float))
    plot_examples(real, made, out / "realism_examples.png")
    worst = plot_beat_profiles(real, made, out / "realism_beats.png")
    for name, points in worst.items():
        where = ", ".join(f"{ms:+.0f} ms (AUC {auc:.2f})" for ms, auc in points)
        print(f"{name:12s} median beats differ most at {where}")
    print(
        f"wrote {out / 'realism.json'}, {out / 'realism_examples.png'}, {out / 'realism_beats.png'}"
    )


if __name__ == "__main__":
    main()
