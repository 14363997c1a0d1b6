"""``ecgfast bench``: ecgfast against its peers (NeuroKit2, scipy, sleepecg), speed and accuracy,
stage by stage, in one run on the user's machine.

Stages: band-pass filtering (peer: scipy ``sosfiltfilt`` with the same design), R-peak detection
(NeuroKit2 ``ecg_peaks``, sleepecg ``detect_heartbeats``), delineation (NeuroKit2
``ecg_delineate(method="dwt")``, given its R peaks), interval labelling of 12-lead records
(NeuroKit2 clean + peaks + delineate on every lead, earliest onset / latest offset), synthesis
(NeuroKit2 ``ecg_simulate``). Inputs: synthetic records (their generator's truth scores
accuracy) and the WFDB records of ``--data`` (beat annotations ``.atr`` score R peaks; LUDB/QTDB
wave annotations score delineation). Peers that are not installed are skipped with a note.
"""

from __future__ import annotations

import json
import platform
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .. import __version__
from .._threads import get_num_threads, thread_limit
from ..delineation import FIDUCIALS, delineate, intervals
from ..detect import detect_rpeaks
from ..errors import InvalidParameterError
from ..evaluate import delineation as score_delineation
from ..evaluate import fiducials_from_annotation, match_peaks
from ..filters import bandpass, butter_sos
from ..synth import synthesize

__all__ = ["STAGES", "earliest_latest_intervals", "nk_delineate", "run_bench"]

_BEATS = set("NLRejAaJSVEFfQ/")


def _timeit(fn: Callable[[], Any], budget: float = 0.3, max_repeat: int = 20) -> float:
    """Best of several calls (at least one, more while within ``budget`` seconds)."""
    best, spent, k = float("inf"), 0.0, 0
    while k < max_repeat and (k == 0 or spent < budget):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best, spent, k = min(best, dt), spent + dt, k + 1
    return best


def _peers() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("scipy", "neurokit2", "sleepecg"):
        try:
            out[name] = __import__(name)
            if name == "scipy":
                import scipy.signal  # noqa: F401
        except ImportError:
            out[name] = None
    return out


def _nk_peaks(nk: Any, x: np.ndarray, fs: float) -> np.ndarray:
    _, info = nk.ecg_peaks(x, sampling_rate=round(fs))
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)


_NK_COLUMNS = {
    "p_on": "ECG_P_Onsets",
    "p_peak": "ECG_P_Peaks",
    "p_off": "ECG_P_Offsets",
    "qrs_on": "ECG_R_Onsets",
    "qrs_off": "ECG_R_Offsets",
    "t_on": "ECG_T_Onsets",
    "t_peak": "ECG_T_Peaks",
    "t_off": "ECG_T_Offsets",
}


def nk_delineate(
    nk: Any, x: np.ndarray, fs: float, rpeaks: np.ndarray | None = None
) -> pd.DataFrame:
    """NeuroKit2's delineation of one lead as an ecgfast fiducial table: ``ecg_clean``, its
    ``ecg_peaks`` (unless given), ``ecg_delineate(method="dwt")``; QRS on/off = its R on/off."""
    fsi = round(fs)
    clean = nk.ecg_clean(x, sampling_rate=fsi)
    if rpeaks is None:
        rpeaks = _nk_peaks(nk, clean, fs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, waves = nk.ecg_delineate(clean, rpeaks, sampling_rate=fsi, method="dwt")
    table = {"r_peak": np.asarray(rpeaks, dtype=float)}
    for ours, theirs in _NK_COLUMNS.items():
        v = np.asarray(waves.get(theirs, []), dtype=float)[: len(rpeaks)]
        table[ours] = np.pad(v, (0, len(rpeaks) - v.size), constant_values=np.nan)
    frame = pd.DataFrame({k: pd.array(v, dtype="Float64") for k, v in table.items()})
    return frame[list(FIDUCIALS)].round().astype("Int64")


def earliest_latest_intervals(tables: list[pd.DataFrame], fs: float, base: int = 1) -> dict:
    """Record intervals (ms; HR in bpm) from per-lead fiducial tables with the global rule: per
    beat of lead ``base`` (lead II of a standard 12-lead order), the earliest onset and latest
    offset over the leads whose beat lies within 100 ms; medians over beats."""
    if not tables:
        return {k: np.nan for k in ("hr", "pr", "qrs", "qt")}
    ref = tables[min(base, len(tables) - 1)].astype("Float64")
    ms = 1000.0 / fs
    peaks = [np.asarray(t["r_peak"].astype("Float64").fillna(-1e12), dtype=float) for t in tables]
    rows = []
    for r in ref["r_peak"].dropna():
        beat = {}
        for name in FIDUCIALS:
            vals = []
            for t, rp in zip(tables, peaks, strict=True):
                if rp.size == 0:
                    continue
                k = int(np.argmin(np.abs(rp - r)))
                if abs(rp[k] - r) < 0.1 * fs and not pd.isna(t[name].iloc[k]):
                    vals.append(float(t[name].iloc[k]))
            beat[name] = (min(vals) if name.endswith("_on") else max(vals)) if vals else np.nan
        rows.append(beat)
    g = pd.DataFrame(rows, columns=list(FIDUCIALS), dtype=float)
    rr = np.diff(np.asarray(ref["r_peak"].dropna(), dtype=float)) * ms

    def med(v: Any) -> float:
        v = np.asarray(v, dtype=float)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if v.size else np.nan

    return {
        "hr": 60000.0 / np.median(rr) if rr.size else np.nan,
        "pr": med((g["qrs_on"] - g["p_on"]) * ms),
        "qrs": med((g["qrs_off"] - g["qrs_on"]) * ms),
        "qt": med((g["t_off"] - g["qrs_on"]) * ms),
    }


def _nk_intervals(nk: Any, record: np.ndarray, fs: float) -> dict[str, float]:
    """NeuroKit2's intervals of a 12-lead record: per-lead delineation, then the same global
    rule as the annotations' (:func:`earliest_latest_intervals`)."""
    tables = []
    for lead in record:
        try:
            tables.append(nk_delineate(nk, lead, fs))
        except Exception:  # NeuroKit2 raises on some leads
            continue
    return earliest_latest_intervals(tables, fs)


def _row(
    stage: str,
    case: str,
    peer: str,
    t_ours: float,
    t_peer: float | None,
    n_samples: int,
    accuracy: str = "",
) -> dict[str, Any]:
    return {
        "stage": stage,
        "case": case,
        "peer": peer,
        "ecgfast_ms": 1e3 * t_ours,
        "peer_ms": None if t_peer is None else 1e3 * t_peer,
        "ecgfast_Msamples_s": n_samples / t_ours / 1e6,
        "speedup": None if t_peer is None else t_peer / t_ours,
        "accuracy": accuracy,
    }


#: Stages ``--stages`` can select.
STAGES = ("filtering", "rpeaks", "delineation", "intervals", "synthesis", "real", "scaling")


def _stage_filtering(peers: dict[str, Any], quick: bool) -> list[dict]:
    sp = peers["scipy"]
    batch = synthesize(20 if quick else 100, seed=1).signals.astype(np.float64)
    flat = batch.reshape(-1, batch.shape[-1])
    sos = butter_sos(4, (0.5, 40.0), 500.0, "bandpass")
    t_ours = _timeit(lambda: bandpass(flat, 500.0, 0.5, 40.0))
    if sp is None:
        return [
            _row("filtering", f"{len(flat)} leads x 10 s, 500 Hz", "-", t_ours, None, flat.size)
        ]
    t_peer = _timeit(lambda: sp.signal.sosfiltfilt(sos, flat, axis=-1))
    diff = float(np.abs(bandpass(flat, 500.0, 0.5, 40.0) - sp.signal.sosfiltfilt(sos, flat)).max())
    case = f"{len(flat)} leads x 10 s, 500 Hz"
    return [
        _row("filtering", case, "scipy", t_ours, t_peer, flat.size, f"max abs diff {diff:.1e} mV")
    ]


def _stage_rpeaks(peers: dict[str, Any], quick: bool) -> list[dict]:
    nk, sl = peers["neurokit2"], peers["sleepecg"]
    minutes = 2 if quick else 10
    rows = []
    for fs in (500.0,) if quick else (250.0, 500.0, 1000.0):
        lead = synthesize(1, seed=2, leads="II", duration=60.0 * minutes, fs=fs)
        x = lead.signals[0, 0].astype(np.float64)
        truth = lead.beats["r_peak"].dropna().to_numpy(int)
        with thread_limit(1):
            t_ours = _timeit(partial(detect_rpeaks, x, fs))
        f1 = match_peaks(detect_rpeaks(x, fs), truth, fs).f1
        case = f"{minutes}-min lead, {fs:g} Hz (1 thread)"
        peer_rows = []
        for name, fn in (
            ("neurokit2", (lambda x=x, fs=fs: _nk_peaks(nk, x, fs)) if nk else None),
            ("sleepecg", (lambda x=x, fs=fs: sl.detect_heartbeats(x, fs)) if sl else None),
        ):
            if fn is None:
                continue
            t_peer = _timeit(fn, budget=1.0, max_repeat=5)
            acc = f"F1 {f1:.4f} vs {match_peaks(fn(), truth, fs).f1:.4f}"
            peer_rows.append(_row("R peaks", case, name, t_ours, t_peer, x.size, acc))
        rows += peer_rows or [_row("R peaks", case, "-", t_ours, None, x.size, f"F1 {f1:.4f}")]
    return rows


def _short_records(quick: bool):
    n_rec = 5 if quick else 20
    b = synthesize(n_rec, seed=3)
    truths = [
        b.beats[b.beats.record == i][list(FIDUCIALS)].reset_index(drop=True) for i in range(n_rec)
    ]
    return b, truths


def _stage_delineation(peers: dict[str, Any], quick: bool, errors: dict) -> list[dict]:
    nk = peers["neurokit2"]
    b, truths = _short_records(quick)
    n_rec = len(truths)
    x0 = b.signals[0, 1].astype(np.float64)
    with thread_limit(1):
        t_ours = _timeit(lambda: delineate(x0, b.fs))
    ours = [delineate(b.signals[i, 1], b.fs) for i in range(n_rec)]
    s_ours = score_delineation(ours, truths, b.fs)
    errors["synthetic"] = {"ecgfast": _errors(ours, truths, b.fs)}
    case = "10-s lead II, 500 Hz (1 thread)"
    fids = ("qrs_on", "qrs_off", "t_off")
    if nk is None:
        acc = ", ".join(f"{f} MAE {float(s_ours.loc[f, 'mae_ms']):.1f} ms" for f in fids)
        return [_row("delineation", case, "-", t_ours, None, x0.size, acc)]
    rp = _nk_peaks(nk, nk.ecg_clean(x0, sampling_rate=500), 500.0)
    t_peer = _timeit(lambda: nk_delineate(nk, x0, 500.0, rp), budget=1.0, max_repeat=5)
    theirs = [nk_delineate(nk, b.signals[i, 1].astype(np.float64), b.fs) for i in range(n_rec)]
    s_peer = score_delineation(theirs, truths, b.fs)
    errors["synthetic"]["neurokit2"] = _errors(theirs, truths, b.fs)
    acc = ", ".join(
        f"{f} MAE {float(s_ours.loc[f, 'mae_ms']):.1f} vs {float(s_peer.loc[f, 'mae_ms']):.1f} ms"
        for f in fids
    )
    return [_row("delineation", case, "neurokit2", t_ours, t_peer, x0.size, acc)]


def _stage_intervals(peers: dict[str, Any], quick: bool) -> list[dict]:
    nk = peers["neurokit2"]
    b, _ = _short_records(quick)
    rec = b.signals[0].astype(np.float64)
    with thread_limit(1):
        t_ours = _timeit(lambda: intervals(rec, b.fs))
    iv = intervals(b.signals, b.fs)
    keys = ("pr", "qrs", "qt")
    err = {k: iv[k].astype(float).to_numpy() - b.labels[k].to_numpy() for k in keys}
    case = "12-lead 10-s record, 500 Hz (1 thread)"
    if nk is None:
        acc = ", ".join(f"{k} MAE {np.nanmean(np.abs(err[k])):.1f} ms" for k in keys)
        return [_row("intervals", case, "-", t_ours, None, rec.size, acc)]
    t_peer = _timeit(lambda: _nk_intervals(nk, rec, b.fs), budget=1.0, max_repeat=3)
    nk_iv = pd.DataFrame(
        [_nk_intervals(nk, b.signals[i].astype(np.float64), b.fs) for i in range(len(b))]
    )
    err_nk = {k: nk_iv[k].to_numpy() - b.labels[k].to_numpy() for k in keys}
    acc = ", ".join(
        f"{k} MAE {np.nanmean(np.abs(err[k])):.1f} vs {np.nanmean(np.abs(err_nk[k])):.1f} ms"
        for k in keys
    )
    return [_row("intervals", case, "neurokit2", t_ours, t_peer, rec.size, acc)]


def _stage_synthesis(peers: dict[str, Any]) -> list[dict]:
    nk = peers["neurokit2"]
    with thread_limit(1):
        t_ours = _timeit(lambda: synthesize(1, seed=0))
    case = "12-lead 10-s record, 500 Hz (1 thread)"
    if nk is None:
        return [_row("synthesis", case, "-", t_ours, None, 12 * 5000)]
    t_peer = _timeit(
        lambda: nk.ecg_simulate(duration=10, sampling_rate=500, method="multileads"),
        budget=1.0,
        max_repeat=3,
    )
    return [_row("synthesis", case, "neurokit2", t_ours, t_peer, 12 * 5000, "exact labels vs none")]


def _errors(
    dets: list[pd.DataFrame], refs: list[pd.DataFrame], fs: float
) -> dict[str, list[float]]:
    from ..evaluate import _fiducial_positions, _pair

    out: dict[str, list[float]] = {}
    for name in FIDUCIALS:
        errs: list[float] = []
        for d, r in zip(dets, refs, strict=True):
            _, e = _pair(_fiducial_positions(d, name), _fiducial_positions(r, name), 0.15 * fs)
            errs.extend((e * 1000.0 / fs).tolist())
        out[name] = errs
    return out


def _real_records(data: Path, peers: dict[str, Any], quick: bool, errors: dict) -> list[dict]:
    import wfdb

    nk = peers["neurokit2"]
    rows: list[dict] = []
    heads = sorted(data.rglob("*.hea"))[: (4 if quick else 50)]
    ludb_dets: dict[str, list] = {"ecgfast": [], "neurokit2": []}
    ludb_refs: list[pd.DataFrame] = []
    ludb_spans: list[tuple[int, int]] = []
    ludb_fs = 500.0
    for head in tqdm(heads, desc="real records", unit="record"):
        path = head.with_suffix("")
        try:
            rec = wfdb.rdrecord(str(path))
        except Exception as exc:
            rows.append({"stage": "read", "case": path.name, "accuracy": f"unreadable: {exc}"})
            continue
        sig = np.asarray(rec.p_signal, dtype=np.float64).T
        fs = float(rec.fs)
        names = [n.lower() for n in rec.sig_name]
        k = names.index("mlii") if "mlii" in names else (names.index("ii") if "ii" in names else 0)
        x = sig[k]
        if not np.all(np.isfinite(x)):
            continue
        case = f"{path.name} ({names[k]}, {x.size / fs:.0f} s, {fs:g} Hz)"
        with thread_limit(1):
            t_ours = _timeit(partial(detect_rpeaks, x, fs))
        acc = ""
        ref = None
        if path.with_suffix(".atr").exists():
            ann = wfdb.rdann(str(path), "atr")
            ref = np.array(
                [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in _BEATS]
            )
            acc = f"F1 {match_peaks(detect_rpeaks(x, fs), ref, fs).f1:.4f}"
        t_peer = None
        if nk is not None:
            t_peer = _timeit(partial(_nk_peaks, nk, x, fs), budget=1.0, max_repeat=3)
            if ref is not None:
                acc += f" vs {match_peaks(_nk_peaks(nk, x, fs), ref, fs).f1:.4f}"
        rows.append(
            _row("R peaks (real)", case, "neurokit2" if nk else "-", t_ours, t_peer, x.size, acc)
        )
        # wave annotations (LUDB/QTDB style) on the chosen lead
        ext = names[k]
        if path.with_suffix("." + ext).exists():
            ann = wfdb.rdann(str(path), ext)
            if "(" in ann.symbol:
                ludb_refs.append(fiducials_from_annotation(ann.sample, ann.symbol))
                ludb_spans.append((int(ann.sample.min()), int(ann.sample.max())))
                ludb_fs = fs
                ludb_dets["ecgfast"].append(delineate(x, fs))
                if nk is not None:
                    try:
                        ludb_dets["neurokit2"].append(nk_delineate(nk, x, fs))
                    except Exception:
                        ludb_dets["neurokit2"].append(pd.DataFrame(columns=list(FIDUCIALS)))
    if ludb_refs:
        errors["real"] = {m: _errors(d, ludb_refs, ludb_fs) for m, d in ludb_dets.items() if d}
        s = {
            m: score_delineation(d, ludb_refs, ludb_fs, span=ludb_spans)
            for m, d in ludb_dets.items()
            if d
        }
        for f in ("qrs_on", "qrs_off", "t_off", "p_on"):
            acc = " vs ".join(
                f"F1 {float(s[m].loc[f, 'f1']):.3f} MAE {float(s[m].loc[f, 'mae_ms']):.1f} ms"
                for m in s
            )
            rows.append(
                {
                    "stage": "delineation (real)",
                    "case": f"{f}, {len(ludb_refs)} annotated leads",
                    "peer": "neurokit2" if len(s) > 1 else "-",
                    "accuracy": acc,
                }
            )
    return rows


def _scaling(peers: dict[str, Any], quick: bool) -> dict[str, Any]:
    """Time vs record length (R peaks, one lead) and vs batch size (intervals, 12-lead 10-s)."""
    nk = peers["neurokit2"]
    fs = 500.0
    lengths = [10, 60, 600, 3600] + ([] if quick else [6 * 3600, 24 * 3600])
    base = (
        synthesize(1, seed=4, leads="II", duration=600.0, noise=0.5)
        .signals[0, 0]
        .astype(np.float64)
    )
    by_length: dict[str, list] = {"seconds": [], "ecgfast": [], "neurokit2": []}
    peer_ok = nk is not None
    for sec in tqdm(lengths, desc="scaling: record length", unit="length"):
        n = int(sec * fs)
        x = np.resize(base, n)
        with thread_limit(1):
            by_length["ecgfast"].append(_timeit(partial(detect_rpeaks, x, fs), budget=0.5))
        t = None
        if peer_ok:
            t = _timeit(partial(_nk_peaks, nk, x, fs), budget=0.0, max_repeat=1)
            peer_ok = t < 20.0  # larger inputs would take minutes
        by_length["neurokit2"].append(t)
        by_length["seconds"].append(sec)
    sizes = [1, 10, 100, 1000] + ([] if quick else [10000])
    by_batch: dict[str, list] = {"records": [], "ecgfast": [], "neurokit2": []}
    peer_ok = nk is not None
    pool = synthesize(100, seed=6).signals
    for m in tqdm(sizes, desc="scaling: batch size", unit="size"):
        batch = pool[np.arange(m) % len(pool)]
        by_batch["ecgfast"].append(_timeit(partial(intervals, batch, fs), budget=0.5, max_repeat=5))
        t = None
        if peer_ok:
            t0 = time.perf_counter()
            k = min(m, 10)
            for rec in batch[:k]:
                _nk_intervals(nk, rec.astype(np.float64), fs)
            t = (time.perf_counter() - t0) * m / k  # linear in the number of records
            peer_ok = t < 60.0
        by_batch["neurokit2"].append(t)
        by_batch["records"].append(m)
    return {"length": by_length, "batch": by_batch}


def _plots(out: Path, rows: list[dict], errors: dict, scaling: dict) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    timed = [r for r in rows if r.get("speedup")]
    if timed:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(timed) + 1.2))
        labels = [f"{r['stage']}: {r['case']} vs {r['peer']}" for r in timed]
        ax.barh(labels, [r["speedup"] for r in timed], color="C0")
        ax.set_xscale("log")
        ax.axvline(1, color="k", lw=0.8)
        ax.set_xlabel("speed-up (peer time / ecgfast time)")
        ax.invert_yaxis()
        fig.tight_layout()
        fig.savefig(out / "speedup.png", dpi=110)
        written.append("speedup.png")
        plt.close(fig)
    for source, by_method in errors.items():
        fig, axes = plt.subplots(
            1, len(FIDUCIALS), figsize=(2.0 * len(FIDUCIALS), 3.2), sharey=True
        )
        for ax, f in zip(axes, FIDUCIALS, strict=True):
            data = [by_method[m][f] or [np.nan] for m in by_method]
            ax.boxplot(data, showfliers=False)
            ax.set_xticks(range(1, len(by_method) + 1), [m[:3] for m in by_method])
            ax.axhline(0, color="k", lw=0.6)
            ax.set_title(f, fontsize=9)
        axes[0].set_ylabel("detected - reference (ms)")
        fig.suptitle(f"delineation errors ({source}; ecg = ecgfast, neu = NeuroKit2)", fontsize=10)
        fig.tight_layout()
        fig.savefig(out / f"errors_{source}.png", dpi=110)
        written.append(f"errors_{source}.png")
        plt.close(fig)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, xkey, title in (
        (axes[0], "length", "seconds", "R peaks: time vs record length"),
        (axes[1], "batch", "records", "intervals: time vs batch size"),
    ):
        d = scaling[key]
        for m, style in (("ecgfast", "o-"), ("neurokit2", "s--")):
            pts = [(x, y) for x, y in zip(d[xkey], d[m], strict=True) if y is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), style, label=m)
        ax.set(xscale="log", yscale="log", xlabel=xkey, ylabel="seconds", title=title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "scaling.png", dpi=110)
    written.append("scaling.png")
    plt.close(fig)
    return written


def _fmt(v: Any, spec: str) -> str:
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def _markdown(rows: list[dict], scaling: dict, notes: list[str], meta: dict) -> str:
    lines = [
        f"# ecgfast bench ({meta['date']})",
        "",
        f"ecgfast {meta['versions']['ecgfast']}, "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "ecgfast")
        + f"; {meta['threads']} threads; {meta['machine']}",
        "",
        "| stage | case | peer | ecgfast ms | peer ms | speed-up | ecgfast Msamples/s "
        "| accuracy (ecgfast vs peer) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speedup = _fmt(r.get("speedup"), ".1f")
        cells = [
            r["stage"],
            r["case"],
            r.get("peer", ""),
            _fmt(r.get("ecgfast_ms"), ".3f"),
            _fmt(r.get("peer_ms"), ".2f"),
            speedup + ("x" if speedup else ""),
            _fmt(r.get("ecgfast_Msamples_s"), ".1f"),
            r.get("accuracy", ""),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Scaling (seconds; peer points above a time budget are skipped):", ""]
    d = scaling["length"]
    lines.append(
        "| R peaks, record length | " + " | ".join(f"{s:g} s" for s in d["seconds"]) + " |"
    )
    lines.append("|---" * (len(d["seconds"]) + 1) + "|")
    for m in ("ecgfast", "neurokit2"):
        lines.append(f"| {m} | " + " | ".join(_fmt(v, ".4f") for v in d[m]) + " |")
    d = scaling["batch"]
    lines += [
        "",
        "| intervals, batch of 12-lead 10-s records | "
        + " | ".join(str(s) for s in d["records"])
        + " |",
        "|---" * (len(d["records"]) + 1) + "|",
    ]
    for m in ("ecgfast", "neurokit2"):
        lines.append(f"| {m} | " + " | ".join(_fmt(v, ".3f") for v in d[m]) + " |")
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def run_bench(
    data: str | Path | None = None,
    *,
    quick: bool = False,
    out: str | Path = "runs/bench",
    stages: Any = STAGES,
) -> dict[str, Any]:
    """Run every stage; write ``bench.md``, ``bench.json`` and plots to ``out``; return the report.

    ``data``: a folder of WFDB records (default: the records shipped with ecgfast);
    ``quick``: smaller inputs and shorter scaling curves (about a minute);
    ``stages``: a subset of :data:`STAGES`.
    """
    from .._data import SHIPPED_LUDB, SHIPPED_MITDB

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    peers = _peers()
    notes = [f"{k} not installed: skipped" for k, v in peers.items() if v is None]
    if isinstance(stages, str):
        stages = [v.strip() for v in stages.split(",") if v.strip()]
    stages = set(stages)
    unknown = stages - set(STAGES)
    if unknown:
        raise InvalidParameterError(f"unknown stage(s) {sorted(unknown)}; choose from {STAGES}")
    errors: dict[str, Any] = {}
    rows: list[dict] = []
    steps: list[tuple[str, Callable[[], list[dict]]]] = [
        ("filtering", lambda: _stage_filtering(peers, quick)),
        ("rpeaks", lambda: _stage_rpeaks(peers, quick)),
        ("delineation", lambda: _stage_delineation(peers, quick, errors)),
        ("intervals", lambda: _stage_intervals(peers, quick)),
        ("synthesis", lambda: _stage_synthesis(peers)),
    ]
    for _, run in tqdm([s for s in steps if s[0] in stages], desc="stages", unit="stage"):
        rows += run()
    if "real" in stages:
        folders = [Path(data)] if data is not None else [SHIPPED_MITDB, SHIPPED_LUDB]
        for folder in folders:
            if not folder.is_dir():
                notes.append(f"{folder}: not a folder, skipped")
                continue
            rows += _real_records(folder, peers, quick, errors)
    empty: dict[str, list] = {"ecgfast": [], "neurokit2": []}
    scaling = (
        _scaling(peers, quick)
        if "scaling" in stages
        else {"length": {"seconds": [], **empty}, "batch": {"records": [], **empty}}
    )
    versions = {"ecgfast": __version__, "numpy": np.__version__, "pandas": pd.__version__}
    for k, mod in peers.items():
        if mod is not None:
            versions[k] = getattr(mod, "__version__", "?")
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "versions": versions,
        "threads": get_num_threads(),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "quick": quick,
    }
    report: dict[str, Any] = {"meta": meta, "rows": rows, "scaling": scaling, "notes": notes}
    report["plots"] = _plots(out, rows, errors, scaling)
    text = _markdown(rows, scaling, notes, meta)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(json.dumps(report, indent=1, default=float))
    report["markdown"] = text
    return report
