"""Command-line interface: ``ecgfast <command> ...``.

Commands
--------
finetune
    Fine-tune a pretrained backbone on MIT-BIH beats with a transfer policy; needs torch.
bench
    ecgfast against NeuroKit2, scipy and sleepecg, speed and accuracy per stage (tables, plots).
pretrain
    Regression pretraining on synthetic ECG (checkpoint, metrics JSON, plots); needs torch.
label
    Record intervals (HR, PR, QRS, QT, QTc) of a folder of WFDB records into one Parquet table.
demo
    The main job end to end (needs torch): synthesize lead-II beats, pretrain a backbone to regress
    their HR/PR/QRS/QT, fine-tune it on real MIT-BIH beats (shipped records, or ``--root``) with
    the scratch and transfer policies at equal budget, report a table, plots and JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._data import SHIPPED_MITDB
from .errors import EcgError


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from .torch.demo import DemoConfig, run_demo
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = DemoConfig(
        pretrain_records=args.pretrain_records,
        pretrain_epochs=args.pretrain_epochs,
        pretrain_minutes=args.pretrain_minutes,
        epochs=args.epochs,
        policies=tuple(args.policies.split(",")),
        fractions=args.fractions,
        seeds=tuple(range(args.seeds)),
        test_fraction=args.test_fraction,
        val_fraction=args.val_fraction,
        split_seed=args.split_seed,
        model=args.model,
        fs=args.fs,
        window=args.window,
        balance=args.balance,
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
    return values[0] if len(values) == 1 else (values[0], values[1])


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth import DEFAULTS, synthesize_to

    params: dict[str, Any] = {
        "hr": DEFAULTS["hr"] if args.hr is None else _range_arg(args.hr),
        "hrv": DEFAULTS["hrv"] if args.hrv is None else _range_arg(args.hrv),
        "pr": _range_arg(args.pr),
        "qrs": _range_arg(args.qrs),
        "qt": _range_arg(args.qt),
        "qtc": _range_arg(args.qtc),
        "fs": args.fs,
        "duration": args.duration,
        "leads": args.leads.split(",") if "," in args.leads else args.leads,
        "noise": args.noise,
        "seed": args.seed,
    }
    start = time.perf_counter()
    manifest = synthesize_to(
        args.out, args.n, shard_size=args.shard_size, overwrite=args.overwrite, **params
    )
    elapsed = time.perf_counter() - start
    print(
        f"wrote {manifest['n_records']} records in {manifest['n_shards']} shard(s) to {args.out} "
        f"({elapsed:.1f} s); manifest: {Path(args.out) / 'manifest.json'}"
    )
    return 0


def _find_records(paths: list[str]) -> list[Path]:
    """WFDB record paths (without extension) from files and folders (searched recursively)."""
    found: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            found.extend(sorted(h.with_suffix("") for h in p.rglob("*.hea")))
        elif p.suffix == ".hea" or p.with_suffix(".hea").exists():
            found.append(p.with_suffix(""))
        else:
            raise FileNotFoundError(f"{item}: not a folder or a WFDB record")
    return list(dict.fromkeys(found))


def label_record(path: Path) -> dict[str, Any]:
    """Intervals of one WFDB record (all its leads; leads with missing samples are dropped)."""
    import pandas as pd
    import wfdb

    from .delineation import intervals

    rec = wfdb.rdrecord(str(path))
    if rec.p_signal is None or rec.p_signal.size == 0:
        raise ValueError("record has no signal")
    sig = np.asarray(rec.p_signal, dtype=np.float64).T
    usable = np.all(np.isfinite(sig), axis=1)
    if not usable.any():
        raise ValueError("every lead has missing (NaN) samples")
    iv = intervals(sig[usable], float(rec.fs))
    row: dict[str, Any] = {
        "fs": float(rec.fs),
        "n_leads": int(usable.sum()),
        "duration_s": sig.shape[1] / float(rec.fs),
    }
    row.update({k: (float("nan") if v is pd.NA else float(v)) for k, v in iv.items()})
    return row


def cmd_label(args: argparse.Namespace) -> int:
    import pandas as pd
    from tqdm.auto import tqdm

    try:
        records = _find_records(args.paths)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not records:
        print("error: no WFDB records (.hea) found", file=sys.stderr)
        return 2
    rows, failed = [], []
    for path in tqdm(records, desc="labelling", unit="record"):
        try:
            row = label_record(path)
        except Exception as exc:  # unreadable or unusable record: report, keep going
            failed.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        rows.append({"record": str(path), **row})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    if out.suffix == ".csv":
        table.to_csv(out, index=False)
    else:
        table.to_parquet(out, index=False)
    print(f"labelled {len(rows)} of {len(records)} records -> {out}")
    for path, why in failed:
        print(f"skipped {path}: {why}", file=sys.stderr)
    return 0 if rows else 1


def cmd_pretrain(args: argparse.Namespace) -> int:
    try:
        from .torch import SyntheticBeats, SyntheticECG, create_model, pretrain_regression
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .plot import pretraining

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    synth = {
        "fs": args.fs,
        "duration": args.duration,
        "leads": args.leads.split(",") if "," in args.leads else args.leads,
    }
    if args.beats:
        # beat-centred windows; --n-train/--n-val count records (beats_per_record windows each)
        kind, extra = SyntheticBeats, {"window": args.window, "beats_per_record": 8}
    else:
        kind, extra = SyntheticECG, {}
    train = kind(args.n_train, targets=args.targets, seed=args.seed, **extra, **synth)
    val = kind(
        args.n_val,
        targets=train.targets,
        seed=args.seed + 1_000_003,
        scaler=train.scaler,
        **extra,
        **synth,
    )
    model = create_model(args.model, len(train.lead_names), len(train.targets))
    print(
        f"pretraining {args.model} ({sum(p.numel() for p in model.parameters()):,} parameters) on "
        f"{args.n_train} synthetic records ({len(train.lead_names)} leads, {train.fs:g} Hz, "
        f"{args.duration:g} s), validating on {args.n_val}; targets {', '.join(train.targets)}"
    )
    result = pretrain_regression(
        model,
        train,
        val,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        num_workers=args.workers,
        seed=args.seed,
        max_minutes=args.max_minutes,
        checkpoint=str(out / "model.pt"),
    )
    report = {
        "ecgfast_version": __version__,
        "model": args.model,
        "n_train": args.n_train,
        "n_val": args.n_val,
        "data": synth,
        "targets": list(result.targets),
        "best_epoch": result.best_epoch,
        "val_mae": result.best_mae,
        "seconds": result.seconds,
        "history": result.history,
        "checkpoint": result.checkpoint,
        "plots": pretraining(result, out),
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=1))
    units = {t: ("bpm" if t == "hr" else "ms") for t in result.targets}
    print(
        f"best epoch {result.best_epoch} after {result.seconds / 60:.1f} min; validation MAE: "
        + ", ".join(f"{t} {v:.2f} {units[t]}" for t, v in result.best_mae.items())
    )
    print(f"wrote {out / 'model.pt'}, {out / 'metrics.json'} and plots")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    if args.data is not None and not Path(args.data).is_dir():
        print(f"error: {args.data} is not a folder", file=sys.stderr)
        return 2
    report = run_bench(args.data, quick=args.quick, out=args.out, stages=args.stages)
    print(report["markdown"])
    print(
        f"wrote {Path(args.out) / 'bench.md'}, bench.json and plots ({', '.join(report['plots'])})"
    )
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    try:
        from .torch import (
            DS1,
            MITBIHBeats,
            create_model,
            finetune_classifier,
            load,
            patient_split,
        )
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(args.root) if args.root else SHIPPED_MITDB
    if args.dataset != "mitdb":
        print(f"error: unknown dataset {args.dataset!r} (supported: mitdb)", file=sys.stderr)
        return 2
    available = sorted(p.stem for p in root.glob("*.hea"))
    records = [r for r in (args.records or DS1) if r in available] or available
    meta: dict[str, Any] = {}
    if args.pretrained:
        ckpt = Path(args.pretrained)
        ckpt = ckpt / "model.pt" if ckpt.is_dir() else ckpt
        model, meta = load(ckpt)
        fs = float(meta.get("data", {}).get("fs") or args.fs)
        model.replace_head(5)
    else:
        fs = args.fs
        model = create_model(args.model, 1, 5)
    beats = MITBIHBeats(root, records, window=args.window, fs=fs)
    # patients split stratified by beat symbol (bundle-branch-block beats on both sides if possible)
    train_recs, val_recs = patient_split(
        sorted(set(beats.meta["record"])),
        args.val_fraction,
        seed=args.seed,
        class_counts=beats.record_class_counts(by="symbol"),
    )
    train = beats.subset(train_recs, fraction=args.fraction, seed=args.seed)
    val = beats.subset(val_recs)
    in_ch = model.config["in_channels"]
    if in_ch != 1:
        print(
            f"error: the pretrained model takes {in_ch} leads; MIT-BIH beats have one "
            "(pretrain with --leads II --beats)",
            file=sys.stderr,
        )
        return 2
    policy = args.policy if args.pretrained else "scratch"
    print(
        f"fine-tuning ({policy}) on {len(train)} beats of {len(train_recs)} patients, "
        f"validating on {len(val)} beats of {len(val_recs)} other patients"
    )
    result = finetune_classifier(
        model,
        train,
        val,
        policy=policy,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        balance=args.balance,
        seed=args.seed,
    )
    report = {
        "ecgfast_version": __version__,
        "policy": policy,
        "pretrained": args.pretrained,
        "train_records": train_recs,
        "val_records": val_recs,
        "train_counts": train.class_counts(),
        "val_counts": val.class_counts(),
        "best_epoch": result.best_epoch,
        "metrics": result.metrics,
        "history": result.history,
        "pretraining": meta.get("metrics"),
    }
    (out / "finetune.json").write_text(json.dumps(report, indent=1, default=float))
    m = result.metrics
    print(
        f"best epoch {result.best_epoch}: accuracy {m['accuracy']:.3f}, "
        f"macro-F1 {m['macro_f1']:.3f}, macro AUROC {m['macro_auroc']:.3f}; per class "
        + ", ".join(f"{c} {v:.2f}" for c, v in m["per_class_f1"].items() if v == v)
    )
    print(f"wrote {out / 'finetune.json'}")
    return 0


def _scipy_version() -> str:
    import scipy

    return scipy.__version__


def _float_list(text: str) -> tuple[float, ...]:
    """argparse type: ``"1,0.1"`` -> ``(1.0, 0.1)``; anything else is a usage error."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _add_balance(parser: argparse.ArgumentParser) -> None:
    """The class-imbalance option shared by ``finetune`` and ``demo``."""
    parser.add_argument(
        "--balance",
        default="sqrt",
        type=lambda v: None if v == "none" else v,
        choices=("weights", "sqrt", "sampler", None),
        metavar="{weights,sqrt,sampler,none}",
        help="class weights ∝ 1/frequency, ∝ 1/sqrt(frequency), a balanced sampler, or none",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecgfast", description="Rust-accelerated ECG processing for deep learning."
    )
    parser.add_argument("--version", action="version", version=f"ecgfast {__version__}")
    parser.add_argument("--threads", type=int, default=None, help="cap worker threads")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="the main job: synthetic pretraining, then transfer to real MIT-BIH beats",
        description="Synthesize lead-II beats, pretrain a backbone on their HR/PR/QRS/QT, "
        "fine-tune on MIT-BIH beats (patient-wise split) with each policy at equal budget, "
        "report table + plots + JSON. About 10 minutes on 2 CPU cores with the defaults.",
    )
    demo.add_argument(
        "--root", help="folder of MIT-BIH records (default: the records shipped with ecgfast)"
    )
    demo.add_argument(
        "--records", nargs="*", help="records inside --root (default: DS1; DS2 = test)"
    )
    demo.add_argument("--out", default="runs/demo", help="output folder for the report and plots")
    demo.add_argument("--model", default="xresnet1d", help="inception1d | resnet1d | xresnet1d")
    demo.add_argument(
        "--pretrain-records", type=int, default=4000, help="synthetic 10-s records (8 beats each)"
    )
    demo.add_argument("--fs", type=float, default=250.0, help="model sampling rate, Hz")
    demo.add_argument("--window", type=float, default=0.8, help="beat window, s")
    demo.add_argument("--pretrain-epochs", type=int, default=3)
    demo.add_argument("--pretrain-minutes", type=float, default=6.0, help="pretraining budget")
    demo.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs per policy")
    demo.add_argument(
        "--policies", default="scratch,linear,partial,full", help="comma list of policies"
    )
    demo.add_argument(
        "--fractions",
        type=_float_list,
        default=(1.0, 0.1),
        help="comma list of training-beat fractions (default 1,0.1)",
    )
    demo.add_argument("--seeds", type=int, default=1, help="fine-tuning seeds per setting")
    demo.add_argument(
        "--val-fraction", type=float, default=1 / 3, help="share of patients for validation"
    )
    demo.add_argument(
        "--split-seed", type=int, default=0, help="seed of the patient split and of pretraining"
    )
    _add_balance(demo)
    demo.add_argument(
        "--test-fraction",
        type=float,
        default=0.0,
        help="share of DS1 patients held out as a test set when --root has no DS2 record",
    )
    demo.set_defaults(func=cmd_demo)

    synth = sub.add_parser(
        "synth",
        help="generate labelled synthetic 12-lead ECG to disk (shards of .npy + Parquet)",
        description="Each range option takes one value (fixed) or two (uniform range per record).",
    )
    synth.add_argument("--n", type=int, required=True, help="number of records")
    synth.add_argument("--out", required=True, help="output folder (resumes if it exists)")
    rng = {"nargs": "+", "type": float, "metavar": "V"}
    synth.add_argument("--hr", **rng, help="heart rate, bpm (default 50 110)")
    synth.add_argument("--hrv", **rng, help="RR standard deviation, ms (default 10 50)")
    synth.add_argument("--pr", **rng, help="PR interval, ms (default 120 200)")
    synth.add_argument("--qrs", **rng, help="QRS duration, ms (default 70 110)")
    synth.add_argument("--qt", **rng, help="QT, ms (default: from QTc and RR)")
    synth.add_argument("--qtc", **rng, help="Fridericia QTc, ms (default 380 440)")
    synth.add_argument("--fs", type=float, default=500.0, help="sampling rate, Hz")
    synth.add_argument("--duration", type=float, default=10.0, help="record length, s")
    synth.add_argument("--leads", default="12", help="'12', a lead name or a comma list")
    synth.add_argument("--noise", type=float, default=None, help="noise scale (0 = clean)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--shard-size", type=int, default=10_000)
    synth.add_argument("--overwrite", action="store_true", help="replace a different dataset")
    synth.set_defaults(func=cmd_synth)

    label = sub.add_parser(
        "label",
        help="HR, PR, QRS, QT and QTc of every WFDB record in folders/files -> Parquet",
        description="Delineates every lead of each record (multi-lead global fiducials) and "
        "writes one row per record. Unreadable records are reported and skipped.",
    )
    label.add_argument("paths", nargs="+", help="folders (searched recursively) or records")
    label.add_argument("--out", default="labels.parquet", help="output .parquet or .csv")
    label.set_defaults(func=cmd_label)

    pre = sub.add_parser(
        "pretrain",
        help="pretrain an ECG model to regress HR/PR/QRS/QT from synthetic ECG (needs torch)",
    )
    pre.add_argument("--n-train", type=int, default=20_000, help="synthetic training records")
    pre.add_argument("--n-val", type=int, default=2_000, help="synthetic validation records")
    pre.add_argument("--model", default="xresnet1d", help="inception1d | resnet1d | xresnet1d")
    pre.add_argument("--targets", default="hr,pr,qrs,qt", help="comma-separated label columns")
    pre.add_argument("--fs", type=float, default=250.0, help="sampling rate of the records, Hz")
    pre.add_argument("--duration", type=float, default=10.0, help="record length, s")
    pre.add_argument("--leads", default="12", help="'12', a lead name or a comma list")
    pre.add_argument(
        "--beats", action="store_true", help="beat-level: windows centred on each beat"
    )
    pre.add_argument("--window", type=float, default=0.8, help="beat window, s (with --beats)")
    pre.add_argument("--epochs", type=int, default=20)
    pre.add_argument("--batch-size", type=int, default=64)
    pre.add_argument("--lr", type=float, default=3e-3)
    pre.add_argument("--patience", type=int, default=5, help="early stopping, epochs")
    pre.add_argument("--max-minutes", type=float, default=None, help="training time budget")
    pre.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    pre.add_argument("--seed", type=int, default=0)
    pre.add_argument("--out", required=True, help="output folder")
    pre.set_defaults(func=cmd_pretrain)

    fine = sub.add_parser(
        "finetune",
        help="fine-tune a (pretrained) model on real ECG beats (MIT-BIH, AAMI classes)",
    )
    fine.add_argument("--pretrained", default=None, help="checkpoint or folder of `pretrain`")
    fine.add_argument("--dataset", default="mitdb", help="mitdb")
    fine.add_argument("--root", default=None, help="WFDB folder (default: shipped records)")
    fine.add_argument("--records", nargs="*", help="records to use (default: DS1 present)")
    fine.add_argument("--policy", default="full", help="scratch | linear | partial | full")
    fine.add_argument("--model", default="xresnet1d", help="architecture without --pretrained")
    fine.add_argument("--fs", type=float, default=250.0, help="rate without --pretrained")
    fine.add_argument("--window", type=float, default=0.8, help="beat window, s")
    fine.add_argument("--fraction", type=float, default=1.0, help="fraction of training beats")
    fine.add_argument("--val-fraction", type=float, default=0.25, help="patients for validation")
    fine.add_argument("--epochs", type=int, default=10)
    fine.add_argument("--batch-size", type=int, default=128)
    fine.add_argument("--lr", type=float, default=1e-3)
    _add_balance(fine)
    fine.add_argument("--seed", type=int, default=0)
    fine.add_argument("--out", required=True, help="output folder")
    fine.set_defaults(func=cmd_finetune)

    bench = sub.add_parser(
        "bench",
        help="speed and accuracy against NeuroKit2 / scipy / sleepecg, stage by stage",
    )
    bench.add_argument("--data", default=None, help="folder of WFDB records (default: shipped)")
    bench.add_argument("--quick", action="store_true", help="small inputs, about a minute")
    bench.add_argument("--out", default="runs/bench", help="output folder")
    bench.add_argument(
        "--stages",
        default="filtering,rpeaks,delineation,intervals,synthesis,real,scaling",
        help="comma-separated subset of the stages",
    )
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.threads is not None:
            from ._threads import set_num_threads

            set_num_threads(args.threads)
        return args.func(args)
    except EcgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
