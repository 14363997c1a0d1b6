"""Detector stress figures of issue 18, one script: sinus pauses, pacing spikes, signal quality.

    python benches/detector_stress.py [--data ../shared/data]

1. Pauses: ``synthesize(ectopy={"pause": ...})`` records (30 x 60 s, lead II, 360 Hz, seed 5),
   also with muscle noise; F1 and the detections more than 200 ms from both beats around an
   RR > 1.9 s.
2. Pacing: ``detect_pacing`` + ``paced_beats`` on synthetic paced and unpaced records (20 x 30 s,
   leads I, II, V1, V5, 500 and 1000 Hz), on LUDB 1-100 (12 leads; ``ludb.csv`` says which
   records are paced), MIT-BIH DS1 channel 0 and the paced records 107 and 217.
3. AV block (second degree, complete): blocked P waves must not be counted as beats.
4. Signal quality: ``signal_quality`` of 40 clean 10-s synthetic records plus the synthesizer's
   EMG noise at graded SNR (NSTDB convention).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

import ecgfast
from ecgfast.evaluate import match_peaks

BEATS = set("NLRejAaJSVEFfQ/")


def EMG(rms: float) -> dict:
    """The synthesizer's muscle noise alone at ``rms`` mV (a 1-mV QRS: 0.15 mV is ~7 dB SNR
    in the MIT-BIH Noise Stress Test convention, 0.3 mV ~1 dB)."""
    return {"baseline": 0.0, "powerline": 0.0, "emg": rms, "motion": 0.0}


PAUSE_CASES = {
    "pauses (rate 0.05)": {"ectopy": {"pause": 0.05}},
    "pauses, 45-60 bpm (rate 0.08)": {"ectopy": {"pause": 0.08}, "hr": (45, 60)},
    "pauses, noise x 2": {"ectopy": {"pause": 0.05}, "noise": 2.0},
    "pauses, PR 220-300 ms": {"ectopy": {"pause": 0.05}, "pr": (220, 300)},
    "pauses in LBBB": {"ectopy": {"pause": 0.05}, "conduction": "lbbb"},
    "pauses, muscle noise 0.15 mV RMS": {"ectopy": {"pause": 0.05}, "noise": EMG(0.15)},
    "pauses, 45-60 bpm, muscle noise 0.3 mV RMS": {
        "ectopy": {"pause": 0.08},
        "hr": (45, 60),
        "noise": EMG(0.3),
    },
}


def pauses() -> None:
    print(
        "\n## Sinus pauses\n\n| case | F1 | FP | FN | detections inside pauses |"
        "\n|---|---|---|---|---|"
    )
    for name, kw in PAUSE_CASES.items():
        b = ecgfast.synthesize(30, seed=5, duration=60, fs=360, leads="II", **kw)
        tp = fp = fn = inside = 0
        for k in range(len(b)):
            ref = b.beats.loc[b.beats["record"] == k, "sample"].to_numpy()
            det = ecgfast.detect_rpeaks(b.signals[k, 0], b.fs)
            m = match_peaks(det, ref, b.fs)
            tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
            for a, c in itertools.pairwise(ref):
                if c - a > 1.9 * b.fs:
                    inside += int(np.sum((det > a + 0.2 * b.fs) & (det < c - 0.2 * b.fs)))
        print(f"| {name} | {2 * tp / (2 * tp + fp + fn):.4f} | {fp} | {fn} | {inside} |")


def av_blocks() -> None:
    """Non-conducted P waves must not become beats (4 seeds x 20 records x 60 s each)."""
    print(
        "\n## AV block: P waves without a QRS\n\n| block | records | F1 | FP | FN | records "
        "with FP (lead-II QRS p-p / P amplitude, mV) |\n|---|---|---|---|---|---|"
    )
    for block in ("wenckebach", "mobitz2", "complete"):
        tp = fp = fn = 0
        bad = []
        for seed in (5, 23, 41, 77):
            b = ecgfast.synthesize(20, seed=seed, duration=60, fs=360, leads="II", conduction=block)
            for k in range(len(b)):
                ref = b.beats.loc[b.beats["record"] == k, "sample"].to_numpy()
                m = match_peaks(ecgfast.detect_rpeaks(b.signals[k, 0], b.fs), ref, b.fs)
                tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
                if m.fp > 2:
                    x = b.signals[k, 0]
                    pp = np.median([np.ptp(x[max(r - 20, 0) : r + 20]) for r in ref])
                    p_amp = b.labels["param_p_amplitude"].iloc[k]
                    bad.append(f"seed {seed} #{k}: {m.fp} FP ({pp:.2f} / {p_amp:.2f})")
        f1 = 2 * tp / (2 * tp + fp + fn)
        print(f"| {block} | 80 | {f1:.4f} | {fp} | {fn} | {'; '.join(bad) or 'none'} |")


def _synthetic_pacing() -> None:
    print(
        "\n## Pacing, synthetic\n\n| fs | records | paced beats found (II / any of 4 leads) "
        "| beats wrongly called paced | spikes |\n|---|---|---|---|---|"
    )
    for fs in (500.0, 1000.0):
        for rhythm in ("paced", "sinus"):
            b = ecgfast.synthesize(
                20,
                rhythm=rhythm,
                leads=["I", "II", "V1", "V5"],
                fs=fs,
                seed=1,
                duration=30,
                ectopy={"pvc": 0.05},
            )
            found_ii = found_any = truth_n = wrong = n_spikes = 0
            for k in range(len(b)):
                beats = b.beats[b.beats["record"] == k]
                truth = (beats["symbol"] == "/").to_numpy()
                spikes = ecgfast.detect_pacing(b.signals[k], b.fs)
                n_spikes += sum(len(s) for s in spikes)
                ii = ecgfast.paced_beats(beats["sample"], spikes[1], b.fs)
                anyl = ecgfast.paced_beats(beats["sample"], np.concatenate(spikes), b.fs)
                found_ii += int((ii & truth).sum())
                found_any += int((anyl & truth).sum())
                wrong += int((anyl & ~truth).sum())
                truth_n += int(truth.sum())
            share = f"{found_ii / truth_n:.3f} / {found_any / truth_n:.3f}" if truth_n else "-"
            print(f"| {fs:g} | {rhythm} | {share} | {wrong} | {n_spikes} |")


def _real_pacing(data: Path) -> None:
    ludb = data / "ludb"
    if ludb.is_dir():
        table = pd.read_csv(ludb / "ludb.csv").set_index("ID")
        rows = []
        for i in range(1, 101):
            base = ludb / "data" / str(i)
            if not base.with_suffix(".hea").exists():
                continue
            rec = wfdb.rdrecord(str(base))
            ann = wfdb.rdann(str(base), "ii")
            beats = np.asarray(ann.sample)[np.asarray(ann.symbol) == "N"]
            spikes = ecgfast.detect_pacing(rec.p_signal.T.copy(), rec.fs)
            called = ecgfast.paced_beats(beats, np.concatenate(spikes), rec.fs)
            paced = "pacing" in str(table.loc[i, "Cardiac pacing"])
            rows.append((i, paced, len(beats), int(called.sum()), sum(len(s) for s in spikes)))
        df = pd.DataFrame(rows, columns=["record", "paced", "beats", "called_paced", "spikes"])
        print("\n## Pacing, LUDB 1-100 (12 leads, any lead)\n")
        print(df.groupby("paced")[["beats", "called_paced", "spikes"]].sum().to_markdown())
        print("\nRecords with pacing in ludb.csv:\n")
        print(df[df["paced"]].to_markdown(index=False))
    for folder, chans in (("mitdb", (0,)), ("mitdb-paced", (0, 1))):
        rows = []
        for hea in sorted((data / folder).glob("*.hea")):
            rec = wfdb.rdrecord(str(hea.with_suffix("")))
            ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
            keep = [j for j, y in enumerate(ann.symbol) if y in BEATS]
            beats = np.asarray(ann.sample)[keep]
            truth = np.asarray(ann.symbol)[keep] == "/"
            for ch in chans:
                s = ecgfast.detect_pacing(rec.p_signal[:, ch].copy(), rec.fs)
                called = ecgfast.paced_beats(beats, s, rec.fs)
                rows.append(
                    (
                        hea.stem,
                        rec.sig_name[ch],
                        len(s),
                        int(truth.sum()),
                        int((called & truth).sum()),
                        int((called & ~truth).sum()),
                        int((~truth).sum()),
                    )
                )
        if rows:
            df = pd.DataFrame(
                rows,
                columns=[
                    "record",
                    "lead",
                    "spikes",
                    "paced beats",
                    "found",
                    "other beats called paced",
                    "other beats",
                ],
            )
            print(f"\n## Pacing, {folder}\n")
            print(
                df.groupby("lead")[df.columns[2:]].sum().to_markdown()
                if folder == "mitdb"
                else df.to_markdown(index=False)
            )


def quality() -> None:
    kw = dict(seed=3, duration=10, fs=500.0, leads="II")
    clean = ecgfast.synthesize(40, noise=0.0, **kw)
    x = clean.signals[:, 0].astype(np.float64)
    emg = {"baseline": 0.0, "powerline": 0.0, "emg": 0.1, "motion": 0.0}
    noise = ecgfast.synthesize(40, noise=emg, **kw).signals[:, 0] - x
    p_s = np.ptp(x, axis=1) ** 2 / 8
    p_n = np.mean(noise**2, axis=1)
    print(
        "\n## Signal quality, synthetic + EMG\n\n| SNR dB | median template corr "
        "| median pSQI | usable % | detector F1 usable / not |\n|---|---|---|---|---|"
    )
    for snr in (24, 12, 6, 0, -6):
        y = x + noise * np.sqrt(p_s / p_n / 10 ** (snr / 10))[:, None]
        q = ecgfast.signal_quality(y, 500.0)
        f1 = np.array(
            [
                match_peaks(
                    ecgfast.detect_rpeaks(y[k], 500.0),
                    clean.beats.loc[clean.beats["record"] == k, "sample"],
                    500.0,
                ).f1
                for k in range(len(y))
            ]
        )
        u = q["usable"].to_numpy()
        split = " / ".join(f"{f1[m].mean():.3f}" if m.any() else "-" for m in (u, ~u))
        print(
            f"| {snr} | {q['template_corr'].median():.3f} | {q['qrs_power_ratio'].median():.2f} "
            f"| {100 * u.mean():.0f} | {split} |"
        )


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data"))
    args = parser.parse_args()
    pauses()
    av_blocks()
    _synthetic_pacing()
    if Path(args.data).is_dir():
        _real_pacing(Path(args.data))
    quality()


if __name__ == "__main__":
    main()
