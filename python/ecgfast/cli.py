"""Command-line interface: ``ecgfast <command> ...``. Each command parses its arguments and
calls one library function (:mod:`ecgfast.apps`, :func:`ecgfast.synthesize_to`); an
``ecgfast`` error is printed as ``error: ...`` with exit status 2.

Commands
--------
demo
    The main job end to end (needs torch): synthetic lead-II beats → pretrained backbone →
    fine-tuned on real MIT-BIH beats with every transfer policy → table, plots and JSON.
synth
    Labelled synthetic 12-lead ECG to disk (shards of .npy + Parquet).
label
    Record intervals (HR, PR, QRS, QT, QTc) of WFDB records into one Parquet/CSV table.
pretrain
    Regression pretraining on synthetic ECG (checkpoint, metrics JSON, plots); needs torch.
finetune
    Fine-tune a pretrained backbone (or a fresh model) on MIT-BIH beats; needs torch.
bench
    ecgfast against NeuroKit2, scipy and sleepecg, speed and accuracy per stage.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__
from .errors import EcgError, InvalidParameterError
from .hearts import BANKS

MODEL_NAMES = ("inception1d", "resnet1d", "xresnet1d")


# -- commands: arguments -> one library call -> a short summary -----------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from .apps.demo import DemoConfig, run_demo

    options = _pick(
        args,
        "pretrain_records pretrain_epochs pretrain_minutes epochs fractions "
        "test_fraction val_fraction split_seed model fs window balance",
    )
    cfg = DemoConfig(
        policies=tuple(args.policies.split(",")), seeds=tuple(range(args.seeds)), **options
    )
    report = run_demo(args.root, args.records, args.out, cfg)
    print("\n" + report["markdown"])
    print(
        f"finished in {report['seconds'] / 60:.1f} min; wrote {Path(args.out) / 'report.json'}, "
        f"report.md and plots ({', '.join(Path(p).name for p in report['plots'])})"
    )
    return 0


def _range_arg(values: list[float] | None) -> Any:
    if values is None:
        return None
    if len(values) > 2:
        raise InvalidParameterError(
            f"a range takes one value (fixed) or two (low high), got {values}"
        )
    return values[0] if len(values) == 1 else (values[0], values[1])


def cmd_synth(args: argparse.Namespace) -> int:
    from .distributed import synthesize_to
    from .synth import DEFAULTS, POPULATION_DEFAULTS

    ranges = {k: _range_arg(getattr(args, k)) for k in ("hr", "hrv", "pr", "qrs", "qt", "qtc")}
    defaults = {**DEFAULTS, **POPULATION_DEFAULTS[args.population]}
    for k in ("hr", "hrv"):
        ranges[k] = defaults[k] if ranges[k] is None else ranges[k]
    start = time.perf_counter()
    options = _pick(args, "shard_size overwrite fs duration noise seed method")
    if args.population != "standard":
        options["population"] = args.population
    if args.hearts is not None:
        options["hearts"] = args.hearts
    if args.engine != "local":
        options.update(_pick(args, "engine workers address retries"))
    elif args.workers is not None or args.address is not None:
        raise InvalidParameterError("--workers and --address need --engine dask or ray")
    manifest = synthesize_to(args.out, args.n, leads=_leads(args.leads), **options, **ranges)
    print(
        f"wrote {manifest['n_records']} records in {manifest['n_shards']} shard(s) to {args.out} "
        f"({time.perf_counter() - start:.1f} s, engine {args.engine}); manifest: "
        f"{Path(args.out) / 'manifest.json'}"
    )
    return 0


def cmd_label(args: argparse.Namespace) -> int:
    from .apps.label import label_records

    table, skipped = label_records(args.paths, args.out)
    print(f"labelled {len(table)} of {len(table) + len(skipped)} records -> {args.out}")
    for path, why in skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    return 0 if len(table) else 1


def _pick(args: argparse.Namespace, names: str) -> dict[str, Any]:
    """The options named (space-separated) as keyword arguments of the library call."""
    return {name: getattr(args, name) for name in names.split()}


def _fit_config(args: argparse.Namespace, kind: Any) -> Any:
    """The training options every training command shares, as a config of ``kind``."""
    options = _pick(args, "epochs batch_size lr patience device max_minutes")
    return kind.merge(None, {**options, "num_workers": args.workers})


def cmd_pretrain(args: argparse.Namespace) -> int:
    from .apps.train import run_pretrain
    from .torch import FitConfig

    options = _pick(args, "n_train n_val model targets beats window fs duration seed resume method")
    report = run_pretrain(
        args.out, leads=_leads(args.leads), fit=_fit_config(args, FitConfig), **options
    )
    units = {t: ("bpm" if t == "hr" else "ms") for t in report["targets"]}
    print(
        f"best epoch {report['best_epoch']} after {report['seconds'] / 60:.1f} min; validation "
        "MAE: " + ", ".join(f"{t} {v:.2f} {units[t]}" for t, v in report["val_mae"].items())
    )
    print(f"wrote {report['checkpoint']}, {Path(args.out) / 'metrics.json'} and plots")
    return 0


def _beat_features(text: str) -> tuple[str, ...]:
    """``--features``: a comma list of beat-table columns, or additions to the default written
    ``+name`` (``+p`` = the P-wave features, ``+template`` = the morphology features against
    the record's median beat, ``+neighbours`` = against the neighbouring beats), e.g.
    ``+rhythm_irregularity,+p``."""
    from .beatdata import BEAT_FEATURES, NEIGHBOUR_FEATURES, P_WAVE_FEATURES, TEMPLATE_FEATURES

    groups = {"p": P_WAVE_FEATURES, "template": TEMPLATE_FEATURES, "neighbours": NEIGHBOUR_FEATURES}

    items = [f.strip() for f in text.split(",") if f.strip()]
    added = [f[1:].strip() for f in items if f.startswith("+")]
    if not added:
        return tuple(items)
    if len(added) != len(items):
        raise InvalidParameterError(
            f"--features {text!r}: give either a full list or only '+name' additions"
        )
    out = list(BEAT_FEATURES)
    for name in added:
        for f in groups.get(name, (name,)):
            if f not in out:
                out.append(f)
    return tuple(out)


def _template_option(args: argparse.Namespace) -> bool | str:
    """``BeatExperiment.template`` from ``--no-template`` / ``--template``: False, True (the
    record's median beat) or ``"dominant"``."""
    if args.no_template:
        return False
    return "dominant" if args.template == "dominant" else True


def _beat_experiment(args: argparse.Namespace) -> Any:
    """The :class:`ecgfast.apps.beats.BeatExperiment` of ``ecgfast beats`` arguments."""
    from .apps.beats import BeatExperiment

    return BeatExperiment(
        **_pick(
            args,
            "model width epochs batch_size lr patience folds val_fraction beats ensemble fs "
            "pretrain_records pretrain_epochs pretrain_seed pretrain_mix pretrain_objective "
            "pretrain_data synthetic_share policy "
            "backbone_lr_factor fractions",
        ),
        calibrate=not args.no_calibrate,
        rhythm_gate=None if args.rhythm_gate == 0 else args.rhythm_gate,
        morphology_gate=args.morphology_gate,
        offsets_after_gates=args.offsets_after_gates,
        shape_leads=tuple(args.shape_leads.split(",")) if args.shape_leads else None,
        calibration_folds=args.calibration_folds,
        refit=not args.no_refit,
        min_refit_epochs=args.min_refit_epochs,
        scratch=not args.no_scratch,
        combine=args.combine,
        boosted=args.boosted,
        zero_shot=args.zero_shot,
        leads=tuple(args.leads.split(",")),
        features=_beat_features(args.features),
        template=_template_option(args),
        seeds=tuple(args.seeds),
        window=(args.before, args.after),
        balance=None if args.balance == "none" else args.balance,
        focal_gamma=args.focal_gamma,
    )


def cmd_beats(args: argparse.Namespace) -> int:
    from ._data import SHIPPED_MITDB
    from .apps.beats import run_beat_experiment
    from .beatdata import DS1, DS2

    cfg = _beat_experiment(args)

    def expand(records: list[str] | None) -> list[str]:
        named = {"DS1": DS1, "DS2": DS2}
        return [r for token in records or [] for r in named.get(token, (token,))]

    root = Path(args.root) if args.root else SHIPPED_MITDB
    train = expand(args.train_records) or [r for r in DS1 if (root / f"{r}.hea").exists()]
    test = expand(args.test_records)
    report = run_beat_experiment(
        root,
        train,
        test,
        config=cfg,
        out=args.out,
        allow_shared_patients=args.allow_shared_patients,
        save_models=args.save_models,
    )
    from .apps.beats import markdown

    print(markdown(report))
    print(
        f"wrote {Path(args.out) / 'beats.json'}, beats.md, beats_predictions.csv, "
        "beats_confusion.png and beats_arms.png"
    )
    return 0


def cmd_classify_beats(args: argparse.Namespace) -> int:
    """Apply a saved :class:`ecgfast.torch.BeatClassifier` to WFDB records; score it where the
    records have beat annotations."""
    import numpy as np
    import pandas as pd

    from .beatdata import AAMI_MAP, _beat_annotations, _lead_signals, _match, _read_wfdb
    from .evaluate import beat_classification
    from .torch.classifier import BeatClassifier

    clf = BeatClassifier.load(args.model, allow_pickle=args.allow_pickle)
    leads = clf.preprocessing.leads
    tables, truth, predicted = [], [], []
    for given in args.records:
        path, record, atr = _read_wfdb(given)
        signal = _lead_signals(record, leads, path)
        if isinstance(signal, str):
            raise InvalidParameterError(f"{path}: {signal}; the classifier needs {list(leads)}")
        ann = None if atr is None else _beat_annotations(atr)
        if args.beats == "annotations" and ann is None:
            raise InvalidParameterError(f"{path} has no .atr annotations for --beats annotations")
        rpeaks = ann[0] if args.beats == "annotations" and ann is not None else None
        table = clf.predict(signal, float(record.fs), rpeaks=rpeaks)
        table.insert(0, "record", Path(path).name)
        if ann is not None:
            k = _match(table["input_sample"].to_numpy(), ann[0], round(0.15 * float(record.fs)))
            sym = np.where(k >= 0, ann[1][np.maximum(k, 0)], "")
            table["symbol"] = sym
            table["annotated_class"] = [AAMI_MAP.get(str(v), "") for v in sym]
            scored = table["annotated_class"].isin(clf.classes).to_numpy()
            truth.append([clf.classes.index(c) for c in table["annotated_class"][scored]])
            predicted.append([clf.classes.index(c) for c in table["predicted"][scored]])
        tables.append(table)
        print(
            f"{Path(path).name}: {len(table)} beats, "
            + ", ".join(f"{c} {n}" for c, n in table["predicted"].value_counts().items())
        )
    out = pd.concat(tables, ignore_index=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False, float_format="%.5f")
    if truth:
        y, p = np.concatenate(truth).astype(int), np.concatenate(predicted).astype(int)
        m = beat_classification(y, p, clf.classes)
        print(
            f"against the annotations ({y.size} matched beats): macro-F1 {m['macro_f1']:.3f}; "
            + ", ".join(f"{c} F1 {v['f1']:.2f}" for c, v in m["per_class"].items())
        )
    print(f"wrote {args.out}")
    return 0


def cmd_rpeaks(args: argparse.Namespace) -> int:
    """Detect R peaks in WFDB records; score them where the records carry beat annotations."""
    from .apps.rpeaks import detect_records

    det, scores = detect_records(args.records, channel=args.channel, all_leads=args.all_leads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    det.to_csv(out, index=False, float_format="%.4f")
    for name, count in det.groupby("record", sort=False).size().items():
        print(f"{name}: {count} beats")
    if len(scores):
        path = out.with_name(out.stem + "_scores.csv")
        scores.to_csv(path, index=False, float_format="%.5f")
        p = scores.iloc[-1]
        print(
            f"against the beat annotations (flutter episodes not scored): TP {p.tp}, FP {p.fp}, "
            f"FN {p.fn}; Se {100 * p.sensitivity:.2f} %, +P {100 * p.ppv:.2f} %, "
            f"F1 {100 * p.f1:.3f} % -> {path}"
        )
    print(f"wrote {out}")
    return 0


def cmd_ludb(args: argparse.Namespace, dataset: str = "ludb") -> int:
    from .apps.records import RecordExperiment, markdown, run_record_experiment

    cfg = RecordExperiment(
        **_pick(
            args,
            "epochs batch_size lr patience folds val_fraction fractions pretrain_records "
            "pretrain_epochs pretrain_seed policy backbone_lr_factor head zero_shot",
        ),
        labels=tuple(args.labels.split(",")),
        dataset=dataset,
        seeds=tuple(args.seeds),
        pretrain=tuple(s for s in args.pretrain.split(",") if s and s != "none"),
    )
    report = run_record_experiment(
        args.root,
        cfg,
        train_records=args.train_records,
        test_records=args.test_records,
        out=args.out,
        cache=args.cache or "default",
    )
    print(markdown(report))
    print(
        f"wrote {Path(args.out) / 'report.md'}, report.json, runs.csv, predictions.csv and "
        f"{dataset}_transfer.png"
    )
    return 0


def cmd_ptbxl(args: argparse.Namespace) -> int:
    return cmd_ludb(args, "ptbxl")


def cmd_finetune(args: argparse.Namespace) -> int:
    from .apps.train import run_finetune
    from .torch import FinetuneConfig

    if args.dataset != "mitdb":
        raise InvalidParameterError(f"unknown dataset {args.dataset!r} (supported: mitdb)")
    options = _pick(
        args,
        "pretrained root records policy model fs window fraction val_fraction balance seed",
    )
    report, _ = run_finetune(args.out, fit=_fit_config(args, FinetuneConfig), **options)
    m = report["metrics"]
    print(
        f"best epoch {report['best_epoch']}: accuracy {m['accuracy']:.3f}, "
        f"macro-F1 {m['macro_f1']:.3f}, macro AUROC {m['macro_auroc']:.3f}; per class "
        + ", ".join(f"{c} {v:.2f}" for c, v in m["per_class_f1"].items() if v == v)
    )
    print(f"wrote {Path(args.out) / 'finetune.json'} and {Path(args.out) / 'model.pt'}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .apps.bench import run_bench

    if args.data is not None and not Path(args.data).is_dir():
        raise InvalidParameterError(f"{args.data} is not a folder")
    report = run_bench(args.data, quick=args.quick, out=args.out, stages=args.stages)
    print(report["markdown"])
    print(
        f"wrote {Path(args.out) / 'bench.md'}, bench.json and plots ({', '.join(report['plots'])})"
    )
    return 0


# -- argument types and shared options ------------------------------------------------------


def _leads(text: str) -> Any:
    return text.split(",") if "," in text else text


def _float_list(text: str) -> tuple[float, ...]:
    """argparse type: ``"1,0.1"`` -> ``(1.0, 0.1)``; anything else is a usage error."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _add_balance(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--balance",
        default="sqrt",
        type=lambda v: None if v == "none" else v,
        choices=("weights", "sqrt", "sampler", None),
        metavar="{weights,sqrt,sampler,none}",
        help="class weights ∝ 1/frequency, ∝ 1/sqrt(frequency), a balanced sampler, or none",
    )


def _add_training(
    parser: argparse.ArgumentParser, *, epochs: int, batch_size: int, lr: float, patience: int
) -> None:
    """Options of :class:`ecgfast.torch.FitConfig` shared by pretrain and finetune."""
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=epochs)
    g.add_argument("--batch-size", type=int, default=batch_size)
    g.add_argument("--lr", type=float, default=lr, help="peak learning rate (one-cycle)")
    g.add_argument("--patience", type=int, default=patience, help="early stopping, epochs")
    g.add_argument("--max-minutes", type=float, default=None, help="training time budget")
    g.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    g.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    g.add_argument("--seed", type=int, default=0, help="seeds data, initialisation, training")
    parser.add_argument("--out", required=True, help="output folder")


#: One-line help and longer description of each command.
HELP = {
    "demo": (
        "the main job: synthetic pretraining, then transfer to real MIT-BIH beats",
        "Synthesize lead-II beats, pretrain a backbone on their HR/PR/QRS/QT, fine-tune on "
        "MIT-BIH beats (patient-wise split) with each policy at equal budget, report table + "
        "plots + JSON. About 6 minutes on 2 CPU cores with the defaults.",
    ),
    "synth": (
        "generate labelled synthetic 12-lead ECG to disk (shards of .npy + Parquet)",
        "Each range option takes one value (fixed) or two (uniform range per record).",
    ),
    "label": (
        "HR, PR, QRS, QT and QTc of every WFDB record in folders/files -> Parquet",
        "Delineates every lead of each record (multi-lead global fiducials) and writes one row "
        "per record. Unreadable records are reported and skipped.",
    ),
    "pretrain": ("pretrain an ECG model to regress HR/PR/QRS/QT from synthetic ECG (needs torch)",),
    "finetune": ("fine-tune a (pretrained) model on real ECG beats (MIT-BIH, AAMI classes)",),
    "bench": ("speed and accuracy against NeuroKit2 / scipy / sleepecg, stage by stage",),
    "beats": (
        "inter-patient beat classification (AAMI N, S, V, F) from scratch, honest protocol",
        "Train on --train-records and score --test-records (early stopping on patients inside "
        "the training records); without --test-records, patient-wise k-fold cross-validation "
        "inside the training records. Report: Se, +P, F1 per class, macro-F1, jκ, confusion.",
    ),
    "rpeaks": (
        "detect the R peaks of WFDB records and score them against their beat annotations",
        "Detect R peaks on one channel (with --all-leads, the record's other channels check "
        "close pairs and fill the first channel's dropouts), write one row per beat, and where "
        "a record has .atr beat annotations score the detections as the EC57 comparison does "
        "(150 ms, ventricular flutter episodes not scored), per record and pooled.",
    ),
    "classify-beats": (
        "classify the beats of WFDB records with a classifier saved by 'beats --save-models'",
        "Detect the beats (or take the annotated ones with --beats annotations), run the "
        "saved members through the rhythm gate and their decision offsets, average, and write "
        "one row per beat. Records with .atr annotations are also scored (AAMI classes).",
    ),
    "ludb": (
        "12-lead multi-label diagnosis on LUDB, scratch vs synthetic pretraining, paired",
        "Pretrain the same ResNet1d on synthetic records (--pretrain dipole, deepfake, "
        "pathology), then fine-tune it and a scratch copy on LUDB diagnoses (AF, bradycardia, "
        "axis, blocks, LVH, ischaemia, ...) with label-stratified record folds (or "
        "--train-records/--test-records); early stopping and thresholds on held-out training "
        "records. Report: macro AUROC / F1 per arm and label fraction, paired differences.",
    ),
    "ptbxl": (
        "PTB-XL superdiagnostic (NORM, MI, STTC, CD, HYP), scratch vs synthetic pretraining",
        "The experiment of 'ecgfast ludb' on a PTB-XL copy: the recommended split (folds 1-9 "
        "for training, early stopping and thresholds inside them; fold 10 tested), or "
        "--train-records/--test-records (ecg_id). The generator labels its records with the "
        "same five superclasses, so --head matched reads them straight from the pretrained "
        "multi-task head (pathology sources).",
    ),
}


def _demo_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", help="folder of MIT-BIH records (default: the shipped records)")
    p.add_argument("--records", nargs="*", help="records inside --root (default: DS1; DS2 = test)")
    p.add_argument("--out", default="runs/demo", help="output folder for the report and plots")
    p.add_argument("--model", default="xresnet1d", choices=MODEL_NAMES)
    p.add_argument("--pretrain-records", type=int, default=4000, help="synthetic 10-s records")
    p.add_argument("--fs", type=float, default=250.0, help="model sampling rate, Hz")
    p.add_argument("--window", type=float, default=0.8, help="beat window, s")
    p.add_argument("--pretrain-epochs", type=int, default=3)
    p.add_argument("--pretrain-minutes", type=float, default=6.0, help="pretraining budget")
    p.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs per policy")
    p.add_argument("--policies", default="scratch,linear,partial,full", help="comma list")
    p.add_argument(
        "--fractions",
        type=_float_list,
        default=(1.0, 0.1),
        help="comma list of training-beat fractions (default 1,0.1)",
    )
    p.add_argument("--seeds", type=int, default=1, help="fine-tuning seeds per setting")
    p.add_argument("--val-fraction", type=float, default=1 / 3, help="patients for validation")
    p.add_argument("--split-seed", type=int, default=0, help="seeds the split and pretraining")
    _add_balance(p)
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.0,
        help="DS1 patients held out for testing when --root has no DS2 record",
    )


def _synth_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n", type=int, required=True, help="number of records")
    p.add_argument("--out", required=True, help="output folder (resumes if it exists)")
    rng: dict[str, Any] = {"nargs": "+", "type": float, "metavar": "V"}
    p.add_argument("--hr", **rng, help="heart rate, bpm (default 50 95; ludb 48 85)")
    p.add_argument("--hrv", **rng, help="RR standard deviation, ms (default 10 50)")
    p.add_argument("--pr", **rng, help="PR interval, ms (default 120 200; ludb 125 200)")
    p.add_argument("--qrs", **rng, help="QRS duration, ms (default 70 110; ludb 80 118)")
    p.add_argument("--qt", **rng, help="QT, ms (default: from QTc and RR)")
    p.add_argument("--qtc", **rng, help="Fridericia QTc, ms (default 380 440; ludb 400 460)")
    p.add_argument("--fs", type=float, default=500.0, help="sampling rate, Hz")
    p.add_argument("--duration", type=float, default=10.0, help="record length, s")
    p.add_argument("--leads", default="12", help="'12', a lead name or a comma list")
    p.add_argument("--noise", type=float, default=None, help="noise scale (0 = clean)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--method",
        choices=("dipole", "ecgsyn", "deepfake"),
        default="dipole",
        help="dipole: ecgfast's 12-lead model (default); ecgsyn: McSharry's single lead (use "
        "--leads ECG); deepfake: the deepfake-ecg GAN labelled by ecgfast (needs torch)",
    )
    p.add_argument(
        "--population",
        choices=("standard", "ludb"),
        default="standard",
        help="dipole model's waves: standard (default) or ludb (fitted to LUDB's median beats: "
        "Ta and U waves, small Q/S, smaller P; see synthesize)",
    )
    p.add_argument(
        "--hearts",
        choices=BANKS,
        default=None,
        help="dipole model's sinus beat shapes from a heart bank fitted to real records "
        "(ludb: LUDB's sinus records 1-100; see ecgfast.hearts)",
    )
    p.add_argument("--shard-size", type=int, default=10_000)
    p.add_argument("--overwrite", action="store_true", help="replace a different dataset")
    p.add_argument(
        "--engine",
        choices=("local", "dask", "ray"),
        default="local",
        help="local: this process; dask/ray: one task per shard on a cluster (default local)",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="workers of the local cluster (default: cores)"
    )
    p.add_argument(
        "--address",
        default=None,
        help="a running cluster: Dask scheduler (tcp://host:8786) or Ray address (auto)",
    )
    p.add_argument("--retries", type=int, default=3, help="times a failed shard task is retried")


def _label_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="folders (searched recursively) or records")
    p.add_argument("--out", default="labels.parquet", help="output .parquet or .csv")


def _pretrain_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--n-train", type=int, default=20_000, help="synthetic training records")
    p.add_argument("--n-val", type=int, default=2_000, help="synthetic validation records")
    p.add_argument("--model", default="xresnet1d", choices=MODEL_NAMES)
    p.add_argument("--targets", default="hr,pr,qrs,qt", help="comma-separated label columns")
    p.add_argument("--fs", type=float, default=250.0, help="sampling rate of the records, Hz")
    p.add_argument("--duration", type=float, default=10.0, help="record length, s")
    p.add_argument("--leads", default="12", help="'12', a lead name or a comma list")
    p.add_argument("--beats", action="store_true", help="beat-level: windows centred on beats")
    p.add_argument("--window", type=float, default=0.8, help="beat window, s (with --beats)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument(
        "--method",
        choices=("dipole", "deepfake"),
        default="dipole",
        help="dipole: ecgfast's model (default); deepfake: the deepfake-ecg GAN with ecgfast's "
        "labels (10 s, resampled to --fs)",
    )
    _add_training(p, epochs=20, batch_size=64, lr=3e-3, patience=5)


def _finetune_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pretrained", default=None, help="checkpoint or folder of `pretrain`")
    p.add_argument("--dataset", default="mitdb", choices=("mitdb",))
    p.add_argument("--root", default=None, help="WFDB folder (default: shipped records)")
    p.add_argument("--records", nargs="*", help="records to use (default: the DS1 present)")
    p.add_argument(
        "--policy",
        default=None,
        choices=("scratch", "linear", "partial", "full"),
        help="default: full with --pretrained, scratch without",
    )
    p.add_argument(
        "--model",
        default="xresnet1d",
        choices=MODEL_NAMES,
        help="architecture without --pretrained",
    )
    p.add_argument("--fs", type=float, default=250.0, help="rate without --pretrained")
    p.add_argument(
        "--window",
        type=float,
        default=None,
        help="beat window, s (default: the checkpoint's, else 0.8)",
    )
    p.add_argument("--fraction", type=float, default=1.0, help="fraction of training beats")
    p.add_argument("--val-fraction", type=float, default=0.25, help="patients for validation")
    _add_balance(p)
    _add_training(p, epochs=10, batch_size=128, lr=1e-3, patience=4)


def _beats_parser(p: argparse.ArgumentParser) -> None:
    from .apps.beats import BeatExperiment

    d = BeatExperiment()  # one source for the defaults
    p.add_argument("--root", default=None, help="MIT-BIH folder (default: shipped records)")
    p.add_argument(
        "--train-records",
        nargs="+",
        default=None,
        help="record names, or DS1 / DS2 (de Chazal's halves); default: the DS1 records in --root",
    )
    p.add_argument(
        "--test-records",
        nargs="*",
        default=None,
        help="record names or DS1 / DS2; default: patient-wise cross-validation",
    )
    p.add_argument(
        "--allow-shared-patients",
        action="store_true",
        help="allow a patient on both sides (de Chazal's DS1/DS2 has 201 and 202, one man)",
    )
    p.add_argument(
        "--save-models",
        action="store_true",
        help="with --test-records: write each arm and seed's classifier to OUT/models/ "
        "(ecgfast.torch.BeatClassifier; apply it with 'ecgfast classify-beats')",
    )
    p.add_argument("--folds", type=int, default=d.folds, help="patient folds, no --test-records")
    p.add_argument("--model", default=d.model, choices=MODEL_NAMES)
    p.add_argument("--width", type=int, default=d.width, help="resnet1d channels")
    p.add_argument(
        "--leads", default=",".join(d.leads), help="comma list; 'V' = first precordial lead"
    )
    p.add_argument("--fs", type=float, default=d.fs, help="resample to this rate (Hz)")
    p.add_argument("--before", type=float, default=d.window[0], help="window before beat, s")
    p.add_argument("--after", type=float, default=d.window[1], help="window after the beat, s")
    p.add_argument("--no-template", action="store_true", help="no beat-minus-median channel")
    p.add_argument(
        "--template",
        default="record",
        choices=("record", "dominant"),
        help="the usual beat of the beat-minus-usual-beat channel (and of '+template'): the "
        "record's median beat, or the dominant beat of the minute around each beat",
    )
    p.add_argument(
        "--features",
        default=",".join(d.features),
        help="comma list of beat-table features beside the signal, or additions to the "
        "default: '+rhythm_irregularity', '+p' (the P-wave features, beatdata.P_WAVE_FEATURES), "
        "'+template' (morphology against the record's median beat, beatdata.TEMPLATE_FEATURES), "
        "'+neighbours' (against the neighbouring beats, beatdata.NEIGHBOUR_FEATURES)",
    )
    p.add_argument("--beats", default=d.beats, choices=("annotations", "detected"))
    p.add_argument("--balance", default=d.balance or "none", choices=("weights", "sqrt", "none"))
    p.add_argument("--focal-gamma", type=float, default=d.focal_gamma)
    p.add_argument(
        "--val-fraction", type=float, default=d.val_fraction, help="early-stopping patients"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds))
    _add_beats_decisions(p, d)
    _add_beats_pretraining(p, d)
    p.add_argument(
        "--fractions",
        type=_float_list,
        default=d.fractions,
        help="labelled fractions of the training beats, comma list (e.g. 1,0.1,0.01)",
    )
    _add_experiment_training(p, d)
    p.add_argument("--out", default="runs/beats", help="output folder")


def _add_beats_pretraining(p: argparse.ArgumentParser, d: Any) -> None:
    """What ``ecgfast beats`` pretrains on and how (defaults from :class:`BeatExperiment`
    ``d``)."""
    from .apps.beats import PRETRAIN_DATA, PRETRAIN_OBJECTIVES
    from .beatdata import PRETRAIN_MIXES

    p.add_argument(
        "--pretrain-records",
        type=int,
        default=d.pretrain_records,
        help="synthetic records to pretrain on; then scratch and pretrained runs are paired",
    )
    p.add_argument(
        "--pretrain-objective",
        default=d.pretrain_objective,
        choices=PRETRAIN_OBJECTIVES,
        help="learn the synthetic beat classes (supervised) or reconstruct masked spans of "
        "the signal (masked, self-supervised: labels unused)",
    )
    p.add_argument(
        "--pretrain-data",
        default=d.pretrain_data,
        choices=PRETRAIN_DATA,
        help="synthetic beats (--pretrain-records of them), or 'training': each fold's "
        "training patients' beats, unlabelled (with --pretrain-objective masked)",
    )
    p.add_argument(
        "--synthetic-share",
        type=float,
        default=d.synthetic_share,
        help="fine-tune the pretrained arm on its real training beats plus this many synthetic "
        "beats per real beat (the pretraining set; default 0: real beats only)",
    )
    p.add_argument(
        "--no-scratch",
        action="store_true",
        help="train the pretrained arm only (pair it with the scratch arm of an earlier run of "
        "the same seeds: benches/paired_runs.py)",
    )
    p.add_argument(
        "--combine",
        action="store_true",
        help="also score a 'combined' arm: the mean of every trained arm's (scratch, "
        "pretrained, boosted) calibrated probabilities on each fold (an ensemble of the arms)",
    )
    p.add_argument(
        "--zero-shot",
        action="store_true",
        help="also score a 'zero-shot' arm: the network pretrained on synthetic beats as it is, "
        "never trained on a real beat (its decision offsets from the training patients' labels)",
    )
    p.add_argument(
        "--boosted",
        action="store_true",
        help="also train a 'boosted' arm from scratch: gradient-boosted trees on the same inputs "
        "and protocol (ecgfast.boosted.BoostedBeatModel; needs scikit-learn)",
    )
    p.add_argument(
        "--pretrain-mix",
        default=d.pretrain_mix,
        choices=sorted(PRETRAIN_MIXES),
        help="pathology mix of the synthetic records (beatdata.PRETRAIN_MIXES)",
    )


def _add_beats_decisions(p: argparse.ArgumentParser, d: Any) -> None:
    """How ``ecgfast beats`` makes its choices on training patients: ensembles, decision
    offsets, cross-fitting, refit (defaults from :class:`BeatExperiment` ``d``)."""
    p.add_argument(
        "--ensemble", type=int, default=d.ensemble, help="models per fold, probabilities averaged"
    )
    p.add_argument(
        "--no-calibrate",
        action="store_true",
        help="plain arg-max (default: class offsets fitted on the early-stopping patients)",
    )
    p.add_argument(
        "--rhythm-gate",
        type=float,
        default=d.rhythm_gate or 0.0,
        help="no S beat inside AF (MIT-BIH/AAMI label its beats N): where the beat table's "
        "rhythm_irregularity exceeds this and most beats around have no P wave; 0 turns the "
        "rule off (default %(default)s)",
    )
    p.add_argument(
        "--morphology-gate",
        action=argparse.BooleanOptionalAction,
        default=d.morphology_gate,
        help="no V beat where the beat's QRS shape is common in its record (on any of "
        "--shape-leads) and it comes on time, no S beat where it is not common "
        "(evaluate.morphology_gate; default on)",
    )
    p.add_argument(
        "--offsets-after-gates",
        action=argparse.BooleanOptionalAction,
        default=d.offsets_after_gates,
        help="fit and apply the decision offsets after the morphology gate too, not only "
        "after the rhythm gate",
    )
    p.add_argument(
        "--shape-leads",
        default=",".join(d.shape_leads or ()),
        help="comma list of leads the gate's shape share is measured on, the largest taken; "
        "may name leads the models do not read (default %(default)s; '' = --leads)",
    )
    p.add_argument(
        "--calibration-folds",
        type=int,
        default=d.calibration_folds,
        help="cross-fit the early stopping and decision offsets over this many groups of the "
        "training patients, so every training patient is out of sample once (default 0: one "
        "split, --val-fraction of the patients)",
    )
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="keep the early-stopped model (default: train again on every training patient "
        "for the epochs early stopping chose)",
    )
    p.add_argument(
        "--min-refit-epochs",
        type=int,
        default=d.min_refit_epochs,
        help="the fewest epochs the refit trains for, whatever early stopping chose",
    )


def _add_experiment_training(p: argparse.ArgumentParser, d: Any) -> None:
    """Training and transfer options of the paired experiments (``beats``, ``ludb``), with the
    defaults of their settings ``d`` (:class:`BeatExperiment`, :class:`RecordExperiment`)."""
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--pretrain-epochs", type=int, default=d.pretrain_epochs)
    p.add_argument("--pretrain-seed", type=int, default=d.pretrain_seed)
    p.add_argument("--policy", default=d.policy, choices=("full", "partial", "linear"))
    auto = "0.1 with all labels, 1 at 10 %% of them or fewer: min(1, 0.1 / label fraction)"
    p.add_argument(
        "--backbone-lr-factor",
        type=float,
        default=d.backbone_lr_factor,
        help="backbone learning rate / head learning rate when fine-tuning (full, partial); "
        f"default {auto if d.backbone_lr_factor is None else d.backbone_lr_factor}",
    )


def _ludb_parser(p: argparse.ArgumentParser, dataset: str = "ludb") -> None:
    from .apps.records import DATASETS, HEADS, RecordExperiment

    d = RecordExperiment()  # one source for the defaults
    labels = DATASETS[dataset]["labels"]
    if dataset == "ptbxl":
        root_help = "PTB-XL folder (ptbxl_database.csv, scp_statements.csv, records100/)"
        train_help, test_help = "ecg_id values (default: folds 1-9)", "ecg_id (default: fold 10)"
    else:
        root_help = "LUDB folder (ludb.csv and data/)"
        train_help, test_help = "LUDB IDs (default: all)", "LUDB IDs; default: cross-validation"
    p.add_argument("--root", required=True, help=root_help)
    p.add_argument("--train-records", nargs="+", default=None, help=train_help)
    p.add_argument("--test-records", nargs="+", default=None, help=test_help)
    p.add_argument("--labels", default=",".join(labels), help="comma list of " + ", ".join(labels))
    p.add_argument(
        "--pretrain",
        default="dipole,deepfake,pathology",
        help="comma list of synthetic sources (dipole, dipole-ludb, deepfake, pathology, "
        "pathology-ludb, pathology-matched) or 'none'",
    )
    p.add_argument(
        "--head",
        default=d.head,
        choices=HEADS,
        help="pretrained arms start from a fresh head, the pretrained head matched to the "
        f"labels ({dataset.upper()}_FROM_SYNTHETIC: arm SOURCE+head), or both arms",
    )
    p.add_argument(
        "--zero-shot",
        action="store_true",
        help="also score each source's matched head without fine-tuning (arm SOURCE:zero-shot)",
    )
    p.add_argument("--pretrain-records", type=int, default=d.pretrain_records)
    p.add_argument("--fractions", type=_float_list, default=d.fractions, help="e.g. 1,0.25")
    p.add_argument("--folds", type=int, default=d.folds)
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--seeds", type=int, nargs="+", default=list(d.seeds))
    _add_experiment_training(p, d)
    p.add_argument("--out", default=f"runs/{dataset}", help="output folder")
    p.add_argument(
        "--cache",
        default=None,
        help="folder of pretrained backbones reused by settings (default: OUT/pretrained)",
    )


def _ptbxl_parser(p: argparse.ArgumentParser) -> None:
    _ludb_parser(p, "ptbxl")


def _rpeaks_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("records", nargs="+", help="WFDB record paths (without extension)")
    p.add_argument(
        "--channel", default="0", help="the channel to detect on: an index or a name (MLII)"
    )
    p.add_argument(
        "--all-leads",
        action="store_true",
        help="use the record's other channels too (other_leads of detect_rpeaks)",
    )
    p.add_argument("--out", default="runs/rpeaks.csv", help="CSV of detections; scores beside it")


def _classify_beats_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a .pt file written by 'ecgfast beats --save-models'")
    p.add_argument("records", nargs="+", help="WFDB record paths (without extension)")
    p.add_argument(
        "--beats",
        default="detected",
        choices=("detected", "annotations"),
        help="beat positions: detect_rpeaks (default) or the records' .atr beat annotations",
    )
    p.add_argument("--out", default="runs/classified_beats.csv", help="CSV, one row per beat")
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="read gradient-boosted tree members (saved by 'beats --boosted --save-models'; "
        "stored with pickle, which can run code: only for files you trust)",
    )


def _bench_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None, help="folder of WFDB records (default: shipped)")
    p.add_argument("--quick", action="store_true", help="small inputs, about a minute")
    p.add_argument("--out", default="runs/bench", help="output folder")
    p.add_argument(
        "--stages",
        default="filtering,rpeaks,delineation,intervals,synthesis,real,scaling",
        help="comma-separated subset of the stages",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecgfast", description="Rust-accelerated ECG processing for deep learning."
    )
    parser.add_argument("--version", action="version", version=f"ecgfast {__version__}")
    parser.add_argument("--threads", type=int, default=None, help="cap worker threads")
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "demo": (_demo_parser, cmd_demo),
        "synth": (_synth_parser, cmd_synth),
        "label": (_label_parser, cmd_label),
        "pretrain": (_pretrain_parser, cmd_pretrain),
        "finetune": (_finetune_parser, cmd_finetune),
        "bench": (_bench_parser, cmd_bench),
        "beats": (_beats_parser, cmd_beats),
        "ludb": (_ludb_parser, cmd_ludb),
        "ptbxl": (_ptbxl_parser, cmd_ptbxl),
        "classify-beats": (_classify_beats_parser, cmd_classify_beats),
        "rpeaks": (_rpeaks_parser, cmd_rpeaks),
    }
    for name, (add_options, run) in commands.items():
        about = HELP[name]
        p = sub.add_parser(name, help=about[0], description=about[-1])
        add_options(p)
        p.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.threads is not None:
            from ._threads import set_num_threads

            set_num_threads(args.threads)
        return int(args.func(args))
    except EcgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # the torch commands without torch installed
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
