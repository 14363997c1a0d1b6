"""Delineation accuracy of ecgfast and NeuroKit2 on LUDB, one script, one run.

    python benches/delineation_accuracy.py [--data ../shared/data] [--out runs/delineation]
                                           [--records 1-100] [--methods ecgfast,neurokit2]

Protocol (docs/DESIGN.md, issue #5): every lead of LUDB records 1-100 (500 Hz, 10 s), inside that
lead's annotated span (first to last annotation), one-to-one matching within 150 ms per fiducial;
Se, PPV, F1, mean, SD and mean absolute value of detected − reference (ms), pooled over leads.
NeuroKit2 = ``ecg_clean`` + ``ecg_peaks`` + ``ecg_delineate(method="dwt")`` on the same lead
(its QRS onset/offset are ``ECG_R_Onsets``/``ECG_R_Offsets``). Both get nothing but the raw lead.

Record intervals (PR, QRS, QT, HR): lead II, medians over the beats of the annotated span, for
the annotation, ecgfast and NeuroKit2 alike; plus ecgfast's 12-lead ``intervals`` against the
global reference (earliest onset, latest offset over the 12 annotated leads per beat).
Writes Markdown tables to stdout and ``<out>/delineation_accuracy.md`` plus CSVs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from tqdm.auto import tqdm

import ecgfast
from ecgfast.apps.bench import earliest_latest_intervals, nk_delineate
from ecgfast.evaluate import FIDUCIALS, delineation, fiducials_from_annotation

KEYS = ("hr", "pr", "qrs", "qt")
LEADS = ("i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6")


def parse_records(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def record_intervals(table: pd.DataFrame, fs: float, span: tuple[int, int]) -> dict:
    """Lead-level record intervals (ms) from a fiducial table: medians over beats in the span."""
    t = table.astype("Float64")
    inside = (t["r_peak"] >= span[0]) & (t["r_peak"] <= span[1])
    t = t[inside.fillna(False)]
    ms = 1000.0 / fs
    rr = np.diff(np.asarray(t["r_peak"].dropna(), dtype=float)) * ms

    def med(v):
        v = np.asarray(v.dropna(), dtype=float)
        return float(np.median(v)) if v.size else np.nan

    return {
        "hr": 60000.0 / np.median(rr) if rr.size else np.nan,
        "pr": med((t["qrs_on"] - t["p_on"]) * ms),
        "qrs": med((t["qrs_off"] - t["qrs_on"]) * ms),
        "qt": med((t["t_off"] - t["qrs_on"]) * ms),
    }


def synthetic_section(n: int, seed: int = 2026) -> list[str]:
    """ecgfast against the generator's own truth: fiducials per beat and record intervals."""
    batch = ecgfast.synthesize(n, seed=seed)
    fs = batch.fs
    truth = [
        batch.beats[batch.beats["record"] == r][list(FIDUCIALS)].reset_index(drop=True)
        for r in range(n)
    ]
    glob = ecgfast.delineate(batch.signals, fs)
    lead_ii = [ecgfast.delineate(batch.signals[r, 1], fs) for r in range(n)]
    cols = ["se", "ppv", "mean_ms", "sd_ms", "mae_ms"]
    table = pd.concat(
        {
            "12 leads (global)": delineation(glob, truth, fs)[cols],
            "lead II alone": delineation(lead_ii, truth, fs)[cols],
        },
        axis=1,
    )
    iv = ecgfast.intervals(batch.signals, fs)
    rows = []
    for k in ("hr", "pr", "qrs", "qt", "qtc_bazett", "qtc_fridericia"):
        err = iv[k].astype(float) - batch.labels[k].to_numpy()
        rows.append(
            {
                "interval": k,
                "mean error": err.mean(),
                "MAE": err.abs().mean(),
                "measured": f"{err.notna().mean():.0%}",
            }
        )
    return [
        f"## Synthetic ECG ({n} records, 12 leads, 10 s, 500 Hz, default noise, seed {seed})",
        "",
        "Fiducials vs the generator's ground truth (150 ms window):",
        "",
        table.round(2).to_markdown(),
        "",
        "`ecgfast.intervals` (12 leads) vs the generator's labels (ms; HR in bpm):",
        "",
        pd.DataFrame(rows).set_index("interval").round(2).to_markdown(),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/delineation"))
    ap.add_argument("--records", default="1-100")
    ap.add_argument("--methods", default="ecgfast,neurokit2", help="comma-separated")
    ap.add_argument("--synthetic", type=int, default=200, help="synthetic records (0: skip)")
    args = ap.parse_args(argv)
    root = args.data / "ludb" / "data"
    args.out.mkdir(parents=True, exist_ok=True)
    synthetic = synthetic_section(args.synthetic) if args.synthetic else []
    if not root.is_dir():
        text = "\n".join(synthetic) + f"\nLUDB not found under {args.data}: skipped\n"
        (args.out / "delineation_accuracy.md").write_text(text)
        print(text)
        return 0
    methods = [m for m in args.methods.split(",") if m]
    nk = None
    if "neurokit2" in methods:
        try:
            import neurokit2 as nk
        except ImportError:
            print("neurokit2 not installed: skipped")
            methods.remove("neurokit2")
    args.out.mkdir(parents=True, exist_ok=True)
    per_method: dict[str, tuple[list, list, list]] = {m: ([], [], []) for m in methods}
    timings = {m: 0.0 for m in methods}
    interval_rows = []
    for rec in tqdm(parse_records(args.records), desc="LUDB records"):
        path = str(root / str(rec))
        signal, fields = wfdb.rdsamp(path)
        fs = float(fields["fs"])
        names = [n.lower() for n in fields["sig_name"]]
        refs, spans = [], []
        for lead in LEADS:
            ann = wfdb.rdann(path, lead)
            refs.append(fiducials_from_annotation(ann.sample, ann.symbol))
            spans.append((int(ann.sample.min()), int(ann.sample.max())))
        row = {"record": rec}
        ref_ii = record_intervals(refs[1], fs, spans[1])
        row.update({f"ref_{k}": v for k, v in ref_ii.items()})
        for m in methods:
            dets = []
            for li, lead in enumerate(LEADS):
                x = signal[:, names.index(lead)]
                t0 = time.perf_counter()
                if m == "ecgfast":
                    det = ecgfast.delineate(x, fs)
                else:
                    try:
                        det = nk_delineate(nk, x, fs)
                    except Exception as exc:  # NeuroKit2 fails on some leads
                        print(f"neurokit2 failed on {rec}/{lead}: {exc}")
                        det = pd.DataFrame({c: pd.array([], dtype="Int64") for c in FIDUCIALS})
                timings[m] += time.perf_counter() - t0
                dets.append(det)
                per_method[m][0].append(det)
                per_method[m][1].append(refs[li])
                per_method[m][2].append(spans[li])
            row.update({f"{m}_{k}": v for k, v in record_intervals(dets[1], fs, spans[1]).items()})
        if "ecgfast" in methods or "neurokit2" in methods:
            row.update({f"ref12_{k}": v for k, v in earliest_latest_intervals(refs, fs).items()})
        if "ecgfast" in methods:
            x12 = np.stack([signal[:, names.index(lead)] for lead in LEADS])
            ours = ecgfast.intervals(x12, fs)
            row.update(
                {f"ecgfast12_{k}": float(ours[k]) if pd.notna(ours[k]) else np.nan for k in KEYS}
            )
        if "neurokit2" in methods:
            nk_tables = per_method["neurokit2"][0][-len(LEADS) :]
            row.update(
                {
                    f"neurokit2_12_{k}": v
                    for k, v in earliest_latest_intervals(nk_tables, fs).items()
                }
            )
        interval_rows.append(row)

    lines = ["## Delineation on LUDB (per lead, inside the annotated span, 150 ms window)", ""]
    tables = {}
    for m in methods:
        dets, refs, spans = per_method[m]
        tables[m] = delineation(dets, refs, 500.0, span=spans)
        tables[m].to_csv(args.out / f"delineation_{m}.csv")
    cols = ["se", "ppv", "f1", "mean_ms", "sd_ms", "mae_ms"]
    combined = pd.concat({m: tables[m][cols] for m in methods}, axis=1)
    lines.append(combined.round(3).to_markdown())
    n_leads = len(per_method[methods[0]][0])
    lines.append("")
    lines.append(
        "Time per lead (mean over "
        + f"{n_leads} leads, including R-peak detection): "
        + ", ".join(f"{m} {1000 * timings[m] / n_leads:.2f} ms" for m in methods)
    )
    iv = pd.DataFrame(interval_rows).set_index("record")
    iv.to_csv(args.out / "intervals.csv")
    lines += ["", "## Record intervals vs the annotation (MAE, ms; HR in bpm)", ""]
    mae_rows = []
    for m in methods:
        r = {"method": f"{m} (lead II)"}
        for k in ("hr", "pr", "qrs", "qt"):
            d = (iv[f"{m}_{k}"] - iv[f"ref_{k}"]).abs()
            r[k] = d.mean()
            r[f"{k}_n"] = int(d.notna().sum())
        mae_rows.append(r)
    for col, label in (
        ("ecgfast12", "ecgfast (12 leads: `intervals`)"),
        ("neurokit2_12", "neurokit2 (12 leads: earliest onset / latest offset over leads)"),
    ):
        if f"{col}_hr" not in iv or "ref12_hr" not in iv:
            continue
        r = {"method": label}
        for k in KEYS:
            d = (iv[f"{col}_{k}"] - iv[f"ref12_{k}"]).abs()
            r[k] = d.mean()
            r[f"{k}_n"] = int(d.notna().sum())
        mae_rows.append(r)
    lines.append(pd.DataFrame(mae_rows).set_index("method").round(2).to_markdown())
    text = "\n".join(synthetic + lines) + "\n"
    (args.out / "delineation_accuracy.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
