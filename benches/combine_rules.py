"""Screen for the combined arm's rule, step 2: score ways of averaging the arms on what
``benches/combine_rules_dump.py`` kept; every fitted choice uses the fold's early-stopping
patients only (BENCHMARKS.md, "How to average the arms").

    python benches/combine_rules.py runs/explore/arms_f100_s012.pkl scratch,boosted
"""

import pickle
import sys

import numpy as np
from scipy.optimize import minimize_scalar

from ecgfast.evaluate import apply_offsets, beat_classification, decision_offsets

CLASSES = ("N", "S", "V", "F")


def log(p):
    return np.log(np.clip(p, 1e-12, None))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def raw(arm):
    """The arm's gated probabilities before its offsets (apply_offsets undone)."""
    return softmax(log(arm["p"]) - arm["offsets"])


def temperature(y, p):
    """The temperature minimising the negative log-likelihood of ``p`` on ``y``."""

    def nll(t):
        z = log(p) / t
        z = z - z.max(axis=1, keepdims=True)
        z = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -z[np.arange(len(y)), y].mean()

    return minimize_scalar(nll, bounds=(0.2, 10), method="bounded").x


def soften(p, t):
    return softmax(log(p) / t)


def mean_calibrated(arms):  # the experiment's combined arm
    return np.mean([a["p"] for a in arms], axis=0)


def mean_calibrated_refit_offsets(arms):
    vy = arms[0]["val"][0]
    vm = np.mean([apply_offsets(a["val"][1], a["offsets"]) for a in arms], axis=0)
    return apply_offsets(mean_calibrated(arms), decision_offsets(vy, vm, CLASSES))


def mean_raw_offsets(arms):
    vy = arms[0]["val"][0]
    vm = np.mean([a["val"][1] for a in arms], axis=0)
    test = np.mean([raw(a) for a in arms], axis=0)
    return apply_offsets(test, decision_offsets(vy, vm, CLASSES))


def temperature_mean_offsets(arms):
    vy = arms[0]["val"][0]
    ts = [temperature(vy, a["val"][1]) for a in arms]
    vm = np.mean([soften(a["val"][1], t) for a, t in zip(arms, ts, strict=True)], axis=0)
    test = np.mean([soften(raw(a), t) for a, t in zip(arms, ts, strict=True)], axis=0)
    return apply_offsets(test, decision_offsets(vy, vm, CLASSES))


def temperature_calibrated_mean(arms):
    vy = arms[0]["val"][0]
    ts = [temperature(vy, apply_offsets(a["val"][1], a["offsets"])) for a in arms]
    return np.mean([soften(a["p"], t) for a, t in zip(arms, ts, strict=True)], axis=0)


def geometric_raw_offsets(arms):
    def geometric(ps):
        return softmax(np.mean([log(p) for p in ps], axis=0))

    vy = arms[0]["val"][0]
    vm = geometric([a["val"][1] for a in arms])
    test = geometric([raw(a) for a in arms])
    return apply_offsets(test, decision_offsets(vy, vm, CLASSES))


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        dump = pickle.load(f)
    inits = sys.argv[2].split(",")
    rules = {
        fn.__name__: fn
        for fn in (
            mean_calibrated,
            mean_calibrated_refit_offsets,
            mean_raw_offsets,
            temperature_mean_offsets,
            temperature_calibrated_mean,
            geometric_raw_offsets,
        )
    }
    for init in inits:
        rules[init] = lambda arms, i=init: next(a for a in arms if a["init"] == i)["p"]
    scored: dict[str, dict[int, list]] = {name: {} for name in rules}
    for fraction, seed, k in sorted({key[:3] for key in dump}):
        arms = [dict(dump[(fraction, seed, k, i)], init=i) for i in inits]
        # every arm's early-stopping beats are the same patients' same beats
        assert all(np.array_equal(arms[0]["val"][0], a["val"][0]) for a in arms)
        for name, fn in rules.items():
            scored[name].setdefault(seed, []).append((arms[0]["y"], fn(arms)))
    for name in rules:
        rows = []
        for parts in scored[name].values():
            y = np.concatenate([part[0] for part in parts])
            p = np.concatenate([part[1] for part in parts])
            m = beat_classification(y, p, CLASSES)
            rows.append([m["macro_f1"]] + [m["per_class"][c]["f1"] for c in "SVF"])
        r = np.array(rows)
        print(
            f"{name:32s} macro-F1 {r[:, 0].mean():.3f} ± {r[:, 0].std(ddof=1):.3f} "
            f"per seed {np.round(r[:, 0], 3)}  S {r[:, 1].mean():.3f} V {r[:, 2].mean():.3f} "
            f"F {r[:, 3].mean():.3f}"
        )


if __name__ == "__main__":
    main()
