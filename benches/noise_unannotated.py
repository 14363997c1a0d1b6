"""R-peak detection under muscle noise on records without beat annotations (issue 18).

    python benches/noise_unannotated.py [--data ../shared/data] [--snr 6,3,0]

The CinC 2021 sample (12-lead 10-s records at 500 Hz) has diagnoses but no beat annotations,
and no rule of the detector was chosen on it. The reference is the detector's own result on the
clean record (lead II); the synthesizer's muscle noise is added at each SNR (MIT-BIH Noise
Stress Test convention, as in ``noise_sweep.py``) and the noisy detections are matched to the
clean ones within 150 ms. This measures how much noise moves the detector, not its accuracy.
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
from noise_sweep import NOISE_TYPES, SECONDS, noise_for, signal_power


def lead_ii_records(root: Path) -> list[tuple[str, np.ndarray, float]]:
    """The first 10 s of lead II of every record with a finite lead II of at least 5 s."""
    out = []
    for hea in sorted(root.glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        names = [n.lower() for n in rec.sig_name]
        if "ii" not in names:
            continue
        x = rec.p_signal[:, names.index("ii")]
        if len(x) >= 5 * rec.fs and np.all(np.isfinite(x)):
            out.append((hea.stem, x[: int(SECONDS * rec.fs)].astype(np.float64), float(rec.fs)))
    return out


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data"))
    parser.add_argument("--snr", default="6,3,0", help="dB, comma-separated")
    args = parser.parse_args()
    records = lead_ii_records(Path(args.data) / "cinc2021")
    if not records:
        sys.exit(f"no CinC 2021 records with lead II under {args.data}/cinc2021")
    print(f"CinC 2021 sample: {len(records)} records, lead II, muscle noise (EMG)\n")
    print("| SNR | F1 % against the clean detections | TP | FP | FN |\n|---|---|---|---|---|")
    for snr in (float(s) for s in args.snr.split(",")):
        tp = fp = fn = 0
        for k, (_, x, fs) in enumerate(records):
            ref = ecgfast.detect_rpeaks(x, fs)
            if len(ref) < 3:
                continue
            nz = noise_for(1, fs, 500 + k, NOISE_TYPES["muscle (EMG)"])[0][: len(x)]
            gain = np.sqrt(signal_power(x, ref, fs) / np.mean(nz**2) / 10 ** (snr / 10))
            m = match_peaks(ecgfast.detect_rpeaks(x + gain * nz, fs), ref, fs)
            tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        print(f"| {snr:g} dB | {100 * 2 * tp / (2 * tp + fp + fn):.2f} | {tp} | {fp} | {fn} |")


if __name__ == "__main__":
    main()
