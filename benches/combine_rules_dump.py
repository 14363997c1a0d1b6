"""Screen for the combined arm's rule, step 1: run the DS1 cross-validation with
``--boosted --combine`` and keep, per (fraction, seed, fold) and arm, the early-stopping
patients' labels and gated probabilities, the test labels and the arm's calibrated test
probabilities with its offsets (BENCHMARKS.md, "How to average the arms").

    python benches/combine_rules_dump.py OUT.pkl SEEDS FRACTION [pretrain]
    python benches/combine_rules_dump.py runs/explore/arms_f100_s012.pkl 0,1,2 1.0
"""

import pickle
import sys

import ecgfast.apps.beats as experiment
from ecgfast.beatdata import DS1

out, fraction = sys.argv[1], float(sys.argv[3])
seeds = tuple(int(s) for s in sys.argv[2].split(","))
pretrain = len(sys.argv) > 4
early_stopping: dict = {}
dump: dict = {}
fit_member, combined_arm = experiment._fit_member, experiment._combined_arm


def keep_member(beats, inner, counts, cfg, seed, arm):
    got = fit_member(beats, inner, counts, cfg, seed, arm)
    early_stopping[(arm.init, arm.fraction, seed, tuple(inner))] = (got[2], got[3])
    return got


def keep_arms(kept, plan, cfg, beats, *rest):
    for (fraction, seed, k), arms in kept.items():
        inner = next(p for p in plan if p[0] == k)[1]
        for init, (te, prob, members) in arms.items():
            dump[(fraction, seed, k, init)] = {
                "y": te.labels,
                "p": prob,
                "offsets": members[0][1],
                "val": early_stopping[(init, fraction, seed, tuple(inner))],
            }
    with open(out, "wb") as f:
        pickle.dump(dump, f)
    return combined_arm(kept, plan, cfg, beats, *rest)


experiment._fit_member, experiment._combined_arm = keep_member, keep_arms
options = {"pretrain_records": 1000, "pretrain_mix": "broad"} if pretrain else {}
cfg = experiment.BeatExperiment(
    boosted=True, combine=True, seeds=seeds, fractions=(fraction,), **options
)
experiment.run_beat_experiment(
    "../shared/data/mitdb", list(DS1), config=cfg, out=out.replace(".pkl", "")
)
