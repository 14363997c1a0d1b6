"""R-peak detection on whole MIT-BIH records with muscle noise (issue 18).

    python benches/noise_whole_records.py [--data ../shared/data] [--records 101,106,...]
                                          [--snr 6,0]

``noise_sweep.py`` scores 10-s segments; this scores whole records (30 min, channel 0, every
beat annotation), so a long record's 10-s windows and one path over them are exercised. The
synthesizer's muscle noise (seed 3, as long as the record) is scaled to each SNR with the
MIT-BIH Noise Stress Test convention of ``noise_sweep.py``. Prints F1, FP and FN per record and
the pooled errors per SNR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import wfdb

import ecgfast
from ecgfast.evaluate import match_peaks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from noise_sweep import NOISE_TYPES, signal_power
from rpeak_accuracy import BEATS


def muscle_noise(n_samples: int, fs: float) -> np.ndarray:
    """The synthesizer's muscle noise alone (noisy minus clean), ``n_samples`` long."""
    kw = dict(seed=3, duration=n_samples / fs, fs=fs, leads="II")
    noisy = ecgfast.synthesize(1, noise=NOISE_TYPES["muscle (EMG)"], **kw).signals[0, 0]
    clean = ecgfast.synthesize(1, noise=0.0, **kw).signals[0, 0]
    return (noisy.astype(np.float64) - clean)[:n_samples]


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data"))
    parser.add_argument("--records", default="", help="comma-separated (default: all found)")
    parser.add_argument("--snr", default="6,0", help="dB, comma-separated")
    args = parser.parse_args()
    root = Path(args.data) / "mitdb"
    names = args.records.split(",") if args.records else sorted(p.stem for p in root.glob("*.hea"))
    if not names:
        sys.exit(f"no MIT-BIH records under {root}")
    snrs = [float(s) for s in args.snr.split(",")]
    totals = {snr: [0, 0] for snr in snrs}
    print("| record | " + " | ".join(f"{s:g} dB F1 (FP, FN)" for s in snrs) + " |")
    print("|---" * (len(snrs) + 1) + "|")
    for name in names:
        rec = wfdb.rdrecord(str(root / name), channels=[0])
        ann = wfdb.rdann(str(root / name), "atr")
        x, fs = rec.p_signal[:, 0], float(rec.fs)
        ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
        noise = muscle_noise(len(x), fs)
        power = signal_power(x, ref, fs)
        cells = []
        for snr in snrs:
            y = x + noise * np.sqrt(power / np.mean(noise**2) / 10 ** (snr / 10))
            m = match_peaks(ecgfast.detect_rpeaks(y, fs), ref, fs)
            totals[snr][0] += m.fp
            totals[snr][1] += m.fn
            cells.append(f"{m.f1:.4f} ({m.fp}, {m.fn})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for snr, (fp, fn) in totals.items():
        print(f"\n{snr:g} dB: {fp + fn} errors ({fp} FP + {fn} FN) over {len(names)} records")


if __name__ == "__main__":
    main()
