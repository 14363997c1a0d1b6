"""Gallery of the synthesizer's pathology: every kind of rhythm, ectopy, conduction and
morphology in leads II and V2, with beat symbols and the record's diagnosis codes.

    python benches/pathology_gallery.py [--out docs/synth_pathology.png] [--seed 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import ecgfast
from ecgfast.synth import SNOMED

CASES = {
    "sinus": {},
    "premature ventricular beats (bigeminy possible)": {"ectopy": {"pvc": 0.25}},
    "premature atrial beats": {"ectopy": {"pac": 0.25}},
    "runs of ventricular tachycardia": {"ectopy": {"vt": 0.3}},
    "fusion beats": {"ectopy": {"fusion": 0.3}},
    "runs of SVT, some beats aberrant": {"ectopy": {"svt": 0.5, "aberrant": 0.4}},
    "premature junctional beats": {"ectopy": {"junctional": 0.4}},
    "atrial fibrillation": {"rhythm": "af"},
    "atrial flutter": {"rhythm": "flutter"},
    "ventricular pacing": {"rhythm": "paced"},
    "sinus pause": {"ectopy": {"pause": 0.15}},
    "left bundle-branch block": {"conduction": "lbbb"},
    "right bundle-branch block": {"conduction": "rbbb"},
    "AV block II, Wenckebach": {"conduction": "wenckebach"},
    "AV block II, Mobitz II": {"conduction": "mobitz2"},
    "AV block III, escape rhythm": {"conduction": "complete"},
    "ST elevation": {"morphology": "st_elevation"},
    "ST depression": {"morphology": "st_depression"},
    "T inversion": {"morphology": "t_inversion"},
    "Q waves (old infarction)": {"morphology": "q_waves"},
    "LVH voltage": {"morphology": "lvh"},
    "low voltage": {"morphology": "low_voltage"},
    "right-ventricular hypertrophy": {"morphology": "rvh"},
    "left anterior fascicular block": {"morphology": "lafb"},
}
NAMES = {str(code): name for name, code in SNOMED.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--out", default=str(Path(__file__).parent.parent / "docs" / "synth_pathology.png")
    )
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(CASES) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(15, 1.9 * rows), sharex=True)
    for ax, (title, kw) in zip(axes.T.ravel(), CASES.items(), strict=False):
        b = ecgfast.synthesize(
            1, seed=args.seed, duration=8, fs=500, leads=["II", "V2"], hr=(70, 85), **kw
        )
        t = np.arange(b.signals.shape[-1]) / b.fs
        ii, v2 = b.signals[0]
        ax.plot(t, ii, lw=0.8, color="k")
        ax.plot(t, v2 - 1.6, lw=0.8, color="tab:blue")
        for _, beat in b.beats.iterrows():
            ax.text(beat["sample"] / b.fs, 1.05, beat["symbol"], ha="center", fontsize=7)
        dx = ", ".join(NAMES.get(c, c) for c in b.labels["dx"].iloc[0].split(","))
        ax.set_title(f"{title}: {dx}", fontsize=8, loc="left")
        ax.set_ylim(-2.9, 1.35)
        ax.set_yticks([0, -1.6], ["II", "V2"], fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("s")
    fig.suptitle(
        f"ecgfast.synthesize pathology (seed {args.seed}): beat symbols above, SNOMED codes "
        "by abbreviation",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
