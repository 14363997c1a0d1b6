"""Zero-shot beat classification of real MIT-BIH beats by a network trained on synthetic beats
only (the pretrained arm of ``ecgfast beats`` before it sees a real label): arg-max of its
probabilities through the experiment's label-free rhythm and morphology gates, no decision
offsets (those are fitted on labelled patients). One pretraining per ``--pretrain-seeds``.

    python benches/zero_shot_beats.py --root ../shared/data/mitdb --pretrain-seeds 0 1 2

Same settings as ``ecgfast beats --pretrain-records 1000 --pretrain-mix broad`` (the
package's defaults otherwise); the records default to every DS1 record under ``--root``
(``--records DS2``: de Chazal's test half).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import pandas as pd

from ecgfast.apps import beats as app
from ecgfast.beatdata import DS1, DS2
from ecgfast.evaluate import beat_classification


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="folder of MIT-BIH records")
    p.add_argument(
        "--records", nargs="*", default=None, help="names, or DS1 / DS2 (default: DS1 present)"
    )
    p.add_argument("--pretrain-records", type=int, default=1000)
    p.add_argument("--pretrain-mix", default="broad")
    p.add_argument("--pretrain-seeds", type=int, nargs="+", default=[0])
    args = p.parse_args()

    from pathlib import Path

    halves = {"DS1": DS1, "DS2": DS2}
    wanted = [r for name in args.records or ["DS1"] for r in halves.get(name, (name,))]
    records = [r for r in wanted if (Path(args.root) / f"{r}.hea").is_file()]
    if args.records and len(records) < len(wanted):
        raise SystemExit(f"not in {args.root}: {sorted(set(wanted) - set(records))}")
    base = app.BeatExperiment(
        pretrain_records=args.pretrain_records, pretrain_mix=args.pretrain_mix
    )
    beats, _ = app._read_beats(args.root, records, base)
    rows = []
    for seed in args.pretrain_seeds:
        cfg = dataclasses.replace(base, pretrain_seed=seed)
        state, _ = app.pretrain_on_synthetic_beats(cfg, beats.fs, say=print)
        model = app._new_model(cfg, beats.x.shape[1], seed)
        model.load_state_dict(state)
        prob = app._member_proba(model, beats)
        for gates, q in (("none", prob), ("rhythm + morphology", None)):
            if q is None:
                q = app._morphology_gated(cfg, beats, app._gated(cfg, beats, prob))
            m = beat_classification(beats.labels, q, app.CLASSES)
            f1 = {f"F1 {c}": m["per_class"][c]["f1"] for c in ("N", "S", "V", "F")}
            se = {f"Se {c}": m["per_class"][c]["se"] for c in ("S", "V")}
            ppv = {f"+P {c}": m["per_class"][c]["ppv"] for c in ("S", "V")}
            rows.append(
                {"seed": seed, "gates": gates, "macro F1": m["macro_f1"], **f1, **se, **ppv}
            )
            print(rows[-1])
    out = pd.DataFrame(rows)
    print(f"\n{len(records)} records, {len(beats):,} beats, zero-shot (no real label used)\n")
    print(out.to_markdown(index=False, floatfmt=".3f"))
    for gates, g in out.groupby("gates", sort=False):
        v = g["macro F1"].to_numpy()
        sd = v.std(ddof=1) if len(v) > 1 else np.nan
        print(f"gates {gates}: macro F1 {v.mean():.3f} ± {sd:.3f} over {len(v)} pretrainings")


if __name__ == "__main__":
    main()
