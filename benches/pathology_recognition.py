"""Does a classifier trained on real ECG recognise ecgfast's synthetic pathology? (issue 15)

    python benches/pathology_recognition.py [--ludb ../shared/data/ludb] [--seeds 0,1,2]
                                            [--n 100] [--out runs/pathology_recognition]

A ResNet1d (12 leads, 100 Hz, 10 s) learns the LUDB diagnoses (`ecgfast.diagnoses.LUDB_LABELS`)
from the real records only (three quarters to fit, a label-stratified quarter for early
stopping), exactly as the scratch arm of ``ecgfast ludb``. It never sees a synthetic record.
Then, for each synthetic pathology, it scores ``n`` synthetic records with it and ``n`` sinus
records without it (same generator; the real records' own input pipeline, leads by name) on
the matching LUDB label; the AUROC says how well the real-trained model tells them apart
(0.5 = not recognised). Mean ± sd over the seeds of the real-data model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

import ecgfast
from ecgfast.apps.records import RecordExperiment, _budget, _fit_one, _ludb_records
from ecgfast.evaluate import auroc

#: synthetic pathology -> (LUDB label, synthesize options of the positive records)
CASES: dict[str, tuple[str, dict]] = {
    "atrial fibrillation": ("AF", {"rhythm": "af"}),
    "atrial flutter (LUDB files it under AF here)": ("AF", {"rhythm": "flutter"}),
    "sinus bradycardia (40-55 bpm)": ("SBRAD", {"hr": (40.0, 55.0)}),
    "left axis deviation": ("LAD", {"morphology": "left_axis"}),
    "left anterior fascicular block": ("LAFB", {"morphology": "lafb"}),
    "right bundle-branch block": ("RBBB", {"conduction": "rbbb"}),
    "AV block I (PR 220-320 ms)": ("AVB", {"pr": (220.0, 320.0)}),
    "AV block III": ("AVB", {"conduction": "complete"}),
    "LVH voltage": ("LVH", {"morphology": "lvh"}),
    "ST elevation": ("STEMI", {"morphology": "st_elevation"}),
    "ventricular pacing": ("PACE", {"rhythm": "paced"}),
    "PVCs (10-20 % of beats)": ("EXTRA", {"ectopy": {"pvc": (0.1, 0.2)}}),
}


def model_input(batch: ecgfast.SynthBatch, pipeline: ecgfast.preprocessing.Preprocessing):
    """Synthetic records through the real records' input pipeline (leads picked by name)."""
    return np.stack([pipeline(x, batch.fs, lead_names=batch.lead_names) for x in batch.signals])


def main() -> None:
    import torch

    here = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ludb", default=str(here.parent / "shared" / "data" / "ludb"))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--n", type=int, default=100, help="synthetic records per side")
    p.add_argument("--out", default="runs/pathology_recognition")
    args = p.parse_args()
    cfg = RecordExperiment()
    data = _ludb_records(args.ludb, cfg, None, None)
    pipeline = data.preprocessing
    negative = model_input(ecgfast.synthesize(args.n, seed=90_001, fs=500.0), pipeline)
    positives = {
        name: model_input(ecgfast.synthesize(args.n, seed=90_002 + k, fs=500.0, **kw), pipeline)
        for k, (name, (_, kw)) in enumerate(CASES.items())
    }
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        fit_idx, val_idx = _budget(np.arange(len(data.records)), data.y, cfg, seed, 1.0)
        model, _, best = _fit_one(data, fit_idx, val_idx, cfg, seed, None)
        model.eval()
        with torch.no_grad():
            neg = torch.sigmoid(model(torch.from_numpy(negative))).numpy()
            for name, (label, _) in CASES.items():
                pos = torch.sigmoid(model(torch.from_numpy(positives[name]))).numpy()
                k = cfg.labels.index(label)
                y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
                score = np.r_[pos[:, k], neg[:, k]]
                rows.append({"seed": seed, "pathology": name, "label": label,
                             "auroc": auroc(y, score), "best_epoch": best})  # fmt: skip
        print(json.dumps(rows[-1]))
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results.csv", index=False)
    summary = table.groupby(["pathology", "label"], sort=False)["auroc"].agg(["mean", "std"])
    summary["auroc"] = [
        f"{m:.2f} ± {s:.2f}" for m, s in zip(summary["mean"], summary["std"], strict=True)
    ]
    print(f"\nAUROC of the real-trained model's label score, {args.n} synthetic records with the")
    print("pathology vs as many sinus records (0.5 = not recognised), mean ± sd over seeds:\n")
    print(summary[["auroc"]].reset_index().to_markdown(index=False))


if __name__ == "__main__":
    main()
