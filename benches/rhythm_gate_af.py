"""How well the rhythm gate's AF definition finds atrial fibrillation on annotated AF spans.

    python benches/rhythm_gate_af.py [--root ../shared/data/cpsc2021] [--lead 0]

For every record with rhythm annotations (``(AFIB``, ``(AFL``, ``(N`` ...), the beat table at the
annotated beats gives ``rhythm_irregularity`` and ``p_local``; a beat is "gated" where
:func:`ecgfast.evaluate.rhythm_gate` would rule S out
(:func:`ecgfast.evaluate.in_atrial_fibrillation`: irregularity above
:data:`ecgfast.evaluate.RHYTHM_GATE` and at most half of the 11 beats around with a P wave).
Prints, per record and pooled, the share of beats gated inside and outside the AF spans.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import wfdb

import ecgfast
from ecgfast.beatdata import p_wave_features
from ecgfast.evaluate import in_atrial_fibrillation

BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")
AF_RHYTHMS = ("(AFIB", "(AFL")


def record_counts(path: Path, lead: int) -> dict:
    rec = wfdb.rdrecord(str(path))
    ann = wfdb.rdann(str(path), "atr")
    rhythm, beats, in_af = None, [], []
    for sample, symbol, aux in zip(ann.sample, ann.symbol, ann.aux_note, strict=True):
        if symbol == "+":
            rhythm = aux.strip("\x00").strip()
        elif symbol in BEAT_SYMBOLS:
            beats.append(sample)
            in_af.append(rhythm in AF_RHYTHMS)
    af = np.array(in_af, dtype=bool)
    table = ecgfast.beat_table(rec.p_signal[:, lead], rec.fs, rpeaks=np.array(beats))
    p_local = p_wave_features(table)["p_local"]
    gated = in_atrial_fibrillation(table["rhythm_irregularity"], p_local)
    return {
        "record": path.name,
        "af": int(af.sum()),
        "af_gated": int((gated & af).sum()),
        "other": int((~af).sum()),
        "other_gated": int((gated & ~af).sum()),
    }


def share(k: int, n: int) -> str:
    return f"{k / n:6.1%}" if n else "     -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="../shared/data/cpsc2021")
    parser.add_argument("--lead", type=int, default=0)
    args = parser.parse_args()
    rows = [
        record_counts(h.with_suffix(""), args.lead) for h in sorted(Path(args.root).glob("*.hea"))
    ]
    if not rows:
        raise SystemExit(f"no WFDB records in {args.root}")
    print(f"{'record':12s} {'AF beats':>8s} {'gated':>7s} {'other':>6s} {'gated':>7s}")
    for r in rows:
        print(
            f"{r['record']:12s} {r['af']:8d} {share(r['af_gated'], r['af'])} {r['other']:6d} "
            f"{share(r['other_gated'], r['other'])}"
        )
    t = {k: sum(r[k] for r in rows) for k in ("af", "af_gated", "other", "other_gated")}
    print(
        f"pooled: {t['af']} AF beats, {share(t['af_gated'], t['af'])} gated; {t['other']} other "
        f"beats, {share(t['other_gated'], t['other'])} gated"
    )


if __name__ == "__main__":
    main()
