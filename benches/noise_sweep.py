"""R-peak detection on short noisy records: a noise sweep (issue 18), ecgfast against its peers.

    python benches/noise_sweep.py [--data ../shared/data] [--out runs/noise_sweep]
                                  [--snr inf,24,18,12,6,0] [--detectors ecgfast,sleepecg,...]

Noise comes from ecgfast's own noise models, two types: muscle noise (EMG) alone, and a mix of
baseline wander, EMG, electrode motion and powerline (``synthesize(noise=...)`` minus the same
records with ``noise=0``, which is exact because every noise source is additive and has its
own random stream), scaled per record to a
signal-to-noise ratio with the MIT-BIH Noise Stress Test convention: signal power = (QRS
peak-to-peak amplitude)^2 / 8, the median over the record's beats; noise power = mean square.

Two sets of 10-s records:

- synthetic: 200 records at 500 Hz, lead II, a mix of sinus rhythm (45-150 bpm), atrial
  fibrillation (20 %), premature beats and bundle-branch blocks, exact R peaks;
- real: CPSC 2021 (the 18 records here, 200 Hz, lead II), cut into 10-s segments (at most 12 per
  record), reference = the annotated beats; the same noise added at 200 Hz;
- confirmation (no rule of the detector was chosen on them under noise): LUDB lead II (500 Hz,
  the annotated span of each record) and MIT-BIH channel 0 (360 Hz, 12 10-s segments spread
  over each record), reference = the annotated beats.

One-to-one matching within 150 ms, F1 pooled per set, noise type and SNR; also ecgfast's F1 on
the records :func:`ecgfast.signal_quality` calls usable, and their share. Writes
``noise_sweep.md``, ``noise_sweep.csv`` and ``noise_sweep.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from tqdm.auto import tqdm

import ecgfast
from ecgfast.evaluate import match_peaks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rpeak_accuracy import BEATS, detectors

SECONDS = 10.0
#: noise types: relative amplitudes of the synthesizer's sources (mV before scaling to the SNR)
NOISE_TYPES = {
    "muscle (EMG)": {"baseline": 0.0, "powerline": 0.0, "emg": 0.1, "motion": 0.0},
    "mix": {"baseline": 0.3, "powerline": 0.03, "emg": 0.08, "motion": 0.4},
}


def noise_for(n: int, fs: float, seed: int, mix: dict) -> np.ndarray:
    """(n, samples) noise of the synthesizer's models, lead II."""
    kw = dict(seed=seed, duration=SECONDS, fs=fs, leads="II")
    noisy = ecgfast.synthesize(n, noise=mix, **kw).signals[:, 0].astype(np.float64)
    clean = ecgfast.synthesize(n, noise=0.0, **kw).signals[:, 0].astype(np.float64)
    return noisy - clean


def signal_power(x: np.ndarray, ref: np.ndarray, fs: float) -> float:
    """NSTDB signal power: (median QRS peak-to-peak amplitude)^2 / 8."""
    half = int(0.05 * fs)
    pp = [np.ptp(x[max(r - half, 0) : r + half + 1]) for r in ref]
    return float(np.median(pp)) ** 2 / 8 if pp else float(np.var(x))


def synthetic_set(n: int = 200, fs: float = 500.0):
    b = ecgfast.synthesize(
        n,
        seed=21,
        duration=SECONDS,
        fs=fs,
        leads="II",
        noise=0.0,
        hr=(45, 150),
        rhythm={"af": 0.2},
        ectopy={"pac": (0, 0.1), "pvc": (0, 0.1)},
        conduction={"lbbb": 0.05, "rbbb": 0.05},
    )
    for k in range(n):
        ref = b.beats.loc[b.beats["record"] == k, "sample"].to_numpy()
        yield f"syn{k}", b.signals[k, 0].astype(np.float64), ref
    return


def segments(stem: str, x: np.ndarray, beats: np.ndarray, fs: float, per_record: int, spread: bool):
    """10-s segments of one record with their reference beats: at most ``per_record``, from the
    start (or spread evenly over the record with ``spread``); segments with NaN are skipped."""
    w = int(SECONDS * fs)
    step = max(len(x) // w // per_record, 1) * w if spread else w
    for k in range(min(per_record, len(x) // step)):
        seg = x[k * step : k * step + w]
        if not np.all(np.isfinite(seg)):
            continue
        ref = beats[(beats >= k * step) & (beats < k * step + w)] - k * step
        yield f"{stem}:{k}", seg.copy(), ref


def annotated_beats(ann) -> np.ndarray:
    return np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])


def cpsc_set(root: Path, per_record: int = 12):
    for hea in sorted(root.glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")), channel_names=["II"])
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        x = rec.p_signal[:, 0]
        yield from segments(hea.stem, x, annotated_beats(ann), rec.fs, per_record, spread=False)


def ludb_set(root: Path):
    """LUDB lead II (500 Hz, 10 s), reference = the cardiologists' QRS marks; the record is cut
    to the annotated span (LUDB leaves the first and last beats unmarked)."""
    for i in range(1, 201):
        base = root / "data" / str(i)
        if not base.with_suffix(".hea").exists():
            continue
        rec = wfdb.rdrecord(str(base), channel_names=["ii"])
        ann = wfdb.rdann(str(base), "ii")
        s, y = np.asarray(ann.sample), np.asarray(ann.symbol)
        qrs = s[y == "N"]
        if qrs.size < 2:
            continue
        lo, hi = max(int(s.min()) - 100, 0), min(int(s.max()) + 100, rec.p_signal.shape[0])
        yield f"ludb{i}", rec.p_signal[lo:hi, 0].copy(), qrs - lo


def mitdb_set(root: Path, per_record: int = 12):
    """MIT-BIH channel 0 (360 Hz) cut into 10-s segments, at most ``per_record`` spread over
    each record."""
    for hea in sorted(root.glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")), channels=[0])
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        x = rec.p_signal[:, 0]
        yield from segments(hea.stem, x, annotated_beats(ann), rec.fs, per_record, spread=True)


def sweep(name, records, fs, snrs, dets, seed):
    records = list(records)
    rows = []
    for kind, mix in NOISE_TYPES.items():
        noise = noise_for(len(records), fs, seed, mix)
        for (rid, x, ref), nz in tqdm(
            list(zip(records, noise, strict=True)), desc=f"{name}, {kind}"
        ):
            rows += one_record(name, kind, rid, x, ref, nz, fs, snrs, dets)
    return rows


def one_record(name, kind, rid, x, ref, nz, fs, snrs, dets):
    rows = []
    nz = nz[: x.size]  # LUDB's annotated spans are shorter than 10 s
    p_s = signal_power(x, ref, fs)
    p_n = float(np.mean(nz**2))
    for snr in snrs:
        y = x + nz * np.sqrt(p_s / p_n / 10 ** (snr / 10)) if np.isfinite(snr) else x
        usable = bool(ecgfast.signal_quality(y, fs, window=SECONDS)["usable"].all())
        for det, fn in dets.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    peaks = np.asarray(fn(np.ascontiguousarray(y), fs), dtype=np.int64)
            except Exception:  # a peer failing on a record counts as no detections
                peaks = np.zeros(0, dtype=np.int64)
            m = match_peaks(peaks, ref, fs)
            rows.append(
                {
                    "set": name,
                    "noise": kind,
                    "record": rid,
                    "snr": snr,
                    "detector": det,
                    "usable": usable,
                    **m.as_dict(),
                }
            )
    return rows


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(here / "runs" / "noise_sweep"))
    parser.add_argument("--snr", default="inf,24,18,12,6,0", help="dB, comma-separated")
    parser.add_argument("--detectors", default="ecgfast,sleepecg,neurokit2 (neurokit)")
    parser.add_argument(
        "--skip-confirmation", action="store_true", help="only the synthetic and CPSC sets"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    snrs = [float(s) for s in args.snr.split(",")]
    dets = {k: v for k, v in detectors().items() if k in args.detectors.split(",")}
    rows = sweep("synthetic 500 Hz", synthetic_set(), 500.0, snrs, dets, seed=31)
    cpsc = Path(args.data) / "cpsc2021"
    if cpsc.is_dir():
        rows += sweep("CPSC 2021 200 Hz", cpsc_set(cpsc), 200.0, snrs, dets, seed=32)
    # confirmation sets: no detector rule or threshold was chosen on them
    ludb = Path(args.data) / "ludb"
    if ludb.is_dir() and not args.skip_confirmation:
        rows += sweep("LUDB II 500 Hz", ludb_set(ludb), 500.0, snrs, dets, seed=33)
    mitdb = Path(args.data) / "mitdb"
    if mitdb.is_dir() and not args.skip_confirmation:
        rows += sweep("MIT-BIH 360 Hz", mitdb_set(mitdb), 360.0, snrs, dets, seed=34)
    df = pd.DataFrame(rows)
    df.to_csv(out / "noise_sweep.csv", index=False)
    keys = ["set", "noise", "detector", "snr"]
    pooled = df.groupby(keys, sort=False)[["tp", "fp", "fn"]].sum()
    pooled["f1"] = 100 * 2 * pooled.tp / (2 * pooled.tp + pooled.fp + pooled.fn)
    table = pooled["f1"].unstack("snr").round(2)
    table.columns = [f"{c:g} dB" if np.isfinite(c) else "clean" for c in table.columns]
    ours = df[df["detector"] == "ecgfast"]
    kept = ours[ours["usable"]].groupby(keys, sort=False)[["tp", "fp", "fn"]].sum()
    kept = (100 * 2 * kept.tp / (2 * kept.tp + kept.fp + kept.fn)).unstack("snr").round(2)
    share = (100 * ours.groupby(keys, sort=False)["usable"].mean()).unstack("snr").round(1)
    for t in (kept, share):
        t.columns = [f"{c:g} dB" if np.isfinite(c) else "clean" for c in t.columns]
    text = "\n\n".join(
        [
            "F1 % (pooled), by SNR:",
            table.to_markdown(),
            "ecgfast on the records `signal_quality` calls usable, F1 %:",
            kept.to_markdown(),
            "Records called usable, %:",
            share.to_markdown(),
        ]
    )
    print(text)
    (out / "noise_sweep.md").write_text(text + "\n")
    plot(pooled.reset_index(), out / "noise_sweep.png")


def plot(pooled: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys(zip(pooled["set"], pooled["noise"], strict=True)))
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.6 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, (s, kind) in zip(axes.flat, panels, strict=False):
        sel = pooled[(pooled["set"] == s) & (pooled["noise"] == kind)]
        for det, g in sel.groupby("detector", sort=False):
            g = g[np.isfinite(g["snr"])]
            ax.plot(g["snr"], g["f1"], "o-", label=det)
        ax.axhline(95, color="grey", lw=0.8, ls=":")
        ax.set(title=f"{s}: {kind}", xlabel="SNR (dB, NSTDB convention)", ylabel="F1 %")
        ax.invert_xaxis()
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
