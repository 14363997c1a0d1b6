"""Screen variants of the gradient-boosted tree arm (``ecgfast beats --boosted``) on MIT-BIH DS1
without training any network again: the trees under the experiment's protocol (fit on the
fitting patients with early stopping on the early-stopping patients, whose gated probabilities
fix the decision offsets, then a refit on every training patient), averaged beat by beat with
the saved scratch network of the same seeds and folds (what ``--combine`` scores).

    python benches/tree_screen.py base,p-wave,no-qrs,support,subsample \\
        --scratch runs/beats_cv_base/beats_predictions.csv --seeds 0,1,2

Variants (BENCHMARKS.md, issue 14, "Record 108 and the V target"):

- ``base``: the default tree inputs (beat-table features, template features, every 6th
  window sample of the beat and of the beat minus the record's median beat);
- ``p-wave``: + ``beatdata.P_WAVE_FEATURES``;
- ``no-qrs``: without the absolute QRS width (the relative ``qrs_record`` stays);
- ``support``: + how common the beat's QRS shape is in its record: the fraction of (up to 300,
  evenly spaced) beats of the record whose QRS (R +- 100 ms, first lead) correlates > 0.9 with
  it, and that fraction over the record's 95th percentile of it;
- ``subsample``: each tree fitted on a class-stratified 10 % of every record's beats (the
  trees of the 10 % label runs scored higher than those of the 100 % runs).

Needs scikit-learn and the DS1 records (``--root``). Prints, per seed, the pooled macro-F1 and
per-class F1 of the trees alone and of their average with the network, and how many of record
108's N beats each calls V.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from ecgfast.apps.beats import CLASSES, BeatExperiment, _plan
from ecgfast.beatdata import DS1, P_WAVE_FEATURES, TEMPLATE_FEATURES, _similar_share, shape_share
from ecgfast.evaluate import apply_offsets, beat_classification, decision_offsets, rhythm_gate
from ecgfast.torch.real import MITBIHBeats, _stratified_pick, patient_split

VARIANTS = ("base", "p-wave", "no-qrs", "support", "subsample")
STEP = 6  # window samples, as BoostedBeatModel
POWER = 0.5  # class weights 1/sqrt(frequency), as BoostedBeatModel


def support_features(x0: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(beats, 2): per beat of one record, the fraction of the record's beats whose QRS
    correlates > 0.9 with its own, and that over the record's 95th percentile of it
    (``beatdata.shape_share``)."""
    return np.column_stack([_similar_share(x0, before, fs, 300), shape_share(x0, before, fs)])


def booster(n_iter: int = 500, stopping: bool = True):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=n_iter,
        learning_rate=0.1,
        max_leaf_nodes=31,
        l2_regularization=1.0,
        early_stopping=stopping,
        n_iter_no_change=20,
        random_state=0,
    )


def weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=len(CLASSES)).astype(float)
    return (1.0 / counts[y]) ** POWER


def tenth(idx: np.ndarray, y: np.ndarray, rec: np.ndarray, seed: int) -> np.ndarray:
    """A class-stratified 10 % of every record's beats among ``idx`` (as ``--fractions 0.1``)."""
    parts = []
    for r in np.unique(rec[idx]):
        mine = idx[rec[idx] == r]
        parts.append(mine[_stratified_pick(y[mine], 0.1, seed, r)])
    return np.concatenate(parts)


def score(y: np.ndarray, prob: np.ndarray) -> str:
    r = beat_classification(y, prob.argmax(axis=1), classes=CLASSES)
    per = " ".join(f"{c} {r['per_class'][c]['f1']:.3f}" for c in CLASSES)
    return f"{r['macro_f1']:.3f} ({per})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", help=f"comma-separated, of {', '.join(VARIANTS)}")
    p.add_argument("--root", default="../shared/data/mitdb")
    p.add_argument("--scratch", required=True, help="beats_predictions.csv of a scratch run")
    p.add_argument("--seeds", default="0,1,2")
    args = p.parse_args()
    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    seeds = [int(s) for s in args.seeds.split(",")]

    cfg = BeatExperiment()
    inputs = {k: getattr(cfg, k) for k in ("window", "fs", "leads", "features", "template")}
    inputs["features"] = (*cfg.features, *TEMPLATE_FEATURES, *P_WAVE_FEATURES)
    b = MITBIHBeats(args.root, list(DS1), classes=CLASSES, **inputs)
    counts = b.record_class_counts()
    plan = _plan(counts, [r for r in DS1 if r in counts.index], [], cfg.folds)
    y, meta = b.labels, b.meta
    rec = meta["record"].to_numpy().astype(str)
    names = list(b.feature_names)
    before = round(cfg.window[0] * b.fs)
    support = np.zeros((len(y), 2))
    for r in np.unique(rec):
        i = np.flatnonzero(rec == r)
        support[i] = support_features(b.x[i, 0], before, b.fs)
    windows = [b.x[:, c, ::STEP] for c in range(b.x.shape[1])]
    irregular = meta["rhythm_irregularity"].to_numpy(float)
    p_local = meta["p_local"].to_numpy(float)
    saved = pd.read_csv(args.scratch, dtype={"record": str})
    saved = saved[saved["init"] == "scratch"]
    key = pd.DataFrame({"record": rec, "sample": meta["sample"].to_numpy()})

    def gate(prob: np.ndarray, i: np.ndarray) -> np.ndarray:
        return rhythm_gate(prob, irregular[i], p_local[i], CLASSES)

    for variant in variants:
        keep = [n for n in names if n not in P_WAVE_FEATURES or variant == "p-wave"]
        if variant == "no-qrs":
            keep.remove("qrs")
        cols = [b.features[:, [names.index(n) for n in keep]]]
        if variant == "support":
            cols.append(support)
        inputs_all = np.hstack([*cols, *windows]).astype(np.float32)
        for seed in seeds:
            t0 = time.time()
            prob = np.zeros((len(y), len(CLASSES)))
            for _, train, test in plan:
                fitting, stopping = patient_split(
                    train, cfg.val_fraction, seed=seed, class_counts=counts.loc[train]
                )
                ifit, ival, itest, itrain = (
                    np.flatnonzero(np.isin(rec, [str(r) for r in q]))
                    for q in (fitting, stopping, test, train)
                )
                if variant == "subsample":
                    ifit, itrain = (tenth(idx, y, rec, seed) for idx in (ifit, itrain))
                xf, yf, xv, yv = inputs_all[ifit], y[ifit], inputs_all[ival], y[ival]
                first = booster().fit(
                    xf, yf, weights(yf), X_val=xv, y_val=yv, sample_weight_val=weights(yv)
                )
                offsets = decision_offsets(yv, gate(first.predict_proba(xv), ival), CLASSES)
                refit = booster(max(first.n_iter_, 20), stopping=False)
                refit.fit(inputs_all[itrain], y[itrain], sample_weight=weights(y[itrain]))
                got = gate(refit.predict_proba(inputs_all[itest]), itest)
                prob[itest] = apply_offsets(got, offsets)
            net = saved[saved["seed"] == seed]
            net = key.merge(net, on=["record", "sample"], how="left")[[f"p_{c}" for c in CLASSES]]
            if net.isna().any().any():
                raise SystemExit(f"the scratch predictions do not cover every beat for seed {seed}")
            mean = (net.to_numpy() + prob) / 2
            n108 = (rec == "108") & (y == CLASSES.index("N"))
            print(
                f"{variant} seed {seed} ({time.time() - t0:.0f} s): trees {score(y, prob)}; "
                f"with the network {score(y, mean)}; 108 N called V: trees "
                f"{int((prob[n108].argmax(1) == 2).sum())}, with the network "
                f"{int((mean[n108].argmax(1) == 2).sum())}",
                flush=True,
            )


if __name__ == "__main__":
    main()
