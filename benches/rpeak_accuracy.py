"""R-peak accuracy of ecgfast and its peers on the shared annotated data, one script, one run.

    python benches/rpeak_accuracy.py [--data ../shared/data] [--out runs/rpeak_accuracy]

Protocol (docs/DESIGN.md): one-to-one matching within 150 ms, F1 = 2TP / (2TP + FP + FN) pooled over
records. MIT-BIH: channel 0, whole record, every beat annotation (N L R e j A a J S V E F / f Q),
nothing excluded; the paced records 107 and 217 (``mitdb-paced``) the same way, apart.
LUDB: lead II inside the annotated span, reference = the `N` marks. CPSC 2021:
lead II, beat annotations. Peers: sleepecg ``detect_heartbeats``; NeuroKit2 ``ecg_clean`` +
``ecg_peaks`` with ``method="neurokit"`` and ``"pantompkins1985"``; wfdb ``xqrs_detect``.
``ecgfast (all leads)``: the same detector on the same lead, with every other lead of the
record as ``other_leads`` (the cross-lead check of close pairs; MIT-BIH: the second channel,
LUDB: the other 11 leads, CPSC 2021: lead I); the peers have no multi-lead mode.
Writes a Markdown table to stdout and ``<out>/rpeak_accuracy.md`` plus per-record CSV.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from tqdm.auto import tqdm

import ecgfast
from ecgfast.evaluate import flutter_episodes, match_peaks

BEATS = set("NLRejAaJSVEFfQ/")


#: Detectors that also take the record's other leads (``fn(x, fs, others)``).
MULTI_LEAD = {
    "ecgfast (all leads)": lambda x, fs, others: ecgfast.detect_rpeaks(x, fs, other_leads=others),
}


def detectors() -> dict:
    out = {"ecgfast": lambda x, fs: ecgfast.detect_rpeaks(x, fs)}
    try:
        import sleepecg

        out["sleepecg"] = lambda x, fs: sleepecg.detect_heartbeats(x, fs)
    except ImportError:
        print("sleepecg not installed: skipped")
    try:
        import neurokit2 as nk

        def nk_method(method):
            def run(x, fs):
                clean = nk.ecg_clean(x, sampling_rate=round(fs), method=method)
                _, info = nk.ecg_peaks(clean, sampling_rate=round(fs), method=method)
                return np.asarray(info["ECG_R_Peaks"])

            return run

        out["neurokit2 (neurokit)"] = nk_method("neurokit")
        out["neurokit2 (pantompkins1985)"] = nk_method("pantompkins1985")
    except ImportError:
        print("neurokit2 not installed: skipped")
    from wfdb import processing

    out["wfdb xqrs"] = lambda x, fs: processing.xqrs_detect(x, fs, verbose=False)
    out.update(MULTI_LEAD)
    return out


OUTSIDE_FLUTTER = "MIT-BIH DS1 outside VF/VFL episodes"


def records(data: Path):
    """(database, record, signal, other leads (leads x samples), fs, reference beats, annotated
    span or None, flutter episodes or None) of every record scored; MIT-BIH DS1 records carry
    their flutter episodes (scored a second time without them, as EC57's ``bxb`` does)."""
    for hea in sorted((data / "mitdb").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
        x, others = rec.p_signal[:, 0], rec.p_signal[:, 1:].T
        yield (
            "MIT-BIH DS1 (22, ch 0)", hea.stem, x, others, rec.fs, ref, None,
            flutter_episodes(ann.sample, ann.symbol, x.size),
        )  # fmt: skip
    for hea in sorted((data / "mitdb-paced").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
        yield (
            "MIT-BIH paced (107, 217, ch 0)",
            hea.stem,
            rec.p_signal[:, 0],
            rec.p_signal[:, 1:].T,
            rec.fs,
            ref,
            None,
            None,
        )
    for i in range(1, 101):
        base = data / "ludb" / "data" / str(i)
        if not base.with_suffix(".hea").exists():
            continue
        rec = wfdb.rdrecord(str(base))
        ann = wfdb.rdann(str(base), "ii")
        s, y = np.asarray(ann.sample), np.asarray(ann.symbol)
        span = (s.min(), s.max())
        ii = [c.lower() for c in rec.sig_name].index("ii")
        x, others = rec.p_signal[:, ii], np.delete(rec.p_signal, ii, axis=1).T
        yield "LUDB 1-100 (II)", str(i), x, others, rec.fs, s[y == "N"], span, None
    for hea in sorted((data / "cpsc2021").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
        ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
        ii = rec.sig_name.index("II")
        x, others = rec.p_signal[:, ii], np.delete(rec.p_signal, ii, axis=1).T
        yield "CPSC 2021 (18, II)", hea.stem, x, others, rec.fs, ref, None, None


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(here.parent / "shared" / "data"))
    parser.add_argument("--out", default=str(here / "runs" / "rpeak_accuracy"))
    parser.add_argument(
        "--detectors", default=None, help="comma-separated subset, e.g. 'ecgfast' (default: all)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dets = detectors()
    if args.detectors:
        wanted = [d.strip() for d in args.detectors.split(",")]
        unknown = sorted(set(wanted) - set(dets))
        if unknown:
            parser.error(f"unknown detectors {unknown}; have {sorted(dets)}")
        dets = {k: v for k, v in dets.items() if k in wanted}
    rows = []
    recs = list(records(Path(args.data)))
    for db, name, x, others, fs, ref, span, flutter in tqdm(recs, desc="records"):
        x = np.ascontiguousarray(x)  # once per record, not per detector
        for det, fn in dets.items():
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    found = fn(x, fs, others) if det in MULTI_LEAD else fn(x, fs)
                    peaks = np.asarray(found, dtype=np.int64)
            except Exception as exc:  # a peer failing on a record counts as no detections
                print(f"{det} failed on {db} {name}: {exc}")
                peaks = np.zeros(0, dtype=np.int64)
            elapsed = time.perf_counter() - start
            if span is not None:
                peaks = peaks[(peaks >= span[0]) & (peaks <= span[1])]
            m = match_peaks(peaks, ref, fs)
            rows.append(
                {"db": db, "record": name, "detector": det, **m.as_dict(), "seconds": elapsed}
            )
            if flutter is not None:  # the same detections, flutter episodes not scored (EC57)
                m = match_peaks(peaks, ref, fs, exclude=flutter)
                row = {"db": OUTSIDE_FLUTTER, "record": name, "detector": det, **m.as_dict()}
                rows.append({**row, "seconds": 0.0})
    df = pd.DataFrame(rows)
    df.to_csv(out / "rpeak_accuracy_per_record.csv", index=False)
    pooled = df.groupby(["db", "detector"], sort=False)[["tp", "fp", "fn", "seconds"]].sum()
    pooled["se"] = 100 * pooled.tp / (pooled.tp + pooled.fn)
    pooled["ppv"] = 100 * pooled.tp / (pooled.tp + pooled.fp)
    pooled["f1"] = 100 * 2 * pooled.tp / (2 * pooled.tp + pooled.fp + pooled.fn)
    table = pooled.reset_index().round(3)
    lines = [
        "| database | detector | TP | FP | FN | Se % | PPV % | F1 % | time s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.db} | {r.detector} | {r.tp} | {r.fp} | {r.fn} | {r.se:.2f} | "
            f"{r.ppv:.2f} | {r.f1:.3f} | {r.seconds:.1f} |"
        )
    mit = df[df.db.str.startswith("MIT") & (df.db != OUTSIDE_FLUTTER)]
    mit = mit.pivot(index="record", columns="detector", values="f1")
    lines += ["", "MIT-BIH per record, F1:", "", mit.round(4).to_markdown()]
    text = "\n".join(lines)
    print(text)
    (out / "rpeak_accuracy.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
