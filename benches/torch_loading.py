"""Is data the bottleneck? Synthetic ECG through a DataLoader vs tensors preloaded in memory.

    python benches/torch_loading.py [--n 1024] [--batch 64] [--fs 250] [--model xresnet1d]

1. Loading alone: samples/s of ``SyntheticECG`` (12 leads, 10 s) through a DataLoader with 0 and
   2 workers (block batches: one core call per batch).
2. One training epoch of the model on the same records: from a preloaded ``TensorDataset``, and
   generated on the fly with 0 and 2 workers. Target (issue 6): < 10 % longer than preloaded.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from ecgfast.torch import SyntheticECG, create_model


def epoch(model, loader, opt) -> float:
    model.train()
    loss_fn = torch.nn.L1Loss()
    start = time.perf_counter()
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--fs", type=float, default=250.0)
    ap.add_argument("--model", default="xresnet1d")
    args = ap.parse_args(argv)
    ds = SyntheticECG(args.n, seed=0, fs=args.fs)
    rows = []
    for workers in (0, 2):
        loader = DataLoader(
            ds,
            batch_sampler=ds.batch_sampler(args.batch, seed=0),
            num_workers=workers,
            persistent_workers=workers > 0,
        )
        next(iter(loader))  # start the workers
        start = time.perf_counter()
        n = sum(len(x) for x, _ in loader)
        rows.append((f"loading only, {workers} workers", n / (time.perf_counter() - start)))
    xs, ys = zip(*ds.__getitems__(list(range(args.n))), strict=True)
    pre = TensorDataset(torch.stack(xs), torch.stack(ys))
    torch.manual_seed(0)
    model = create_model(args.model, len(ds.lead_names), len(ds.targets))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loaders = {
        "preloaded tensors": DataLoader(pre, batch_size=args.batch, shuffle=True),
        "SyntheticECG, 0 workers": DataLoader(ds, batch_sampler=ds.batch_sampler(args.batch)),
        "SyntheticECG, 2 workers": DataLoader(
            ds, batch_sampler=ds.batch_sampler(args.batch), num_workers=2, persistent_workers=True
        ),
    }
    epoch(model, loaders["preloaded tensors"], opt)  # warm up
    times = {name: min(epoch(model, ld, opt) for _ in range(2)) for name, ld in loaders.items()}
    base = times["preloaded tensors"]
    print(f"{args.n} records, 12 leads, 10 s, {args.fs:g} Hz, batch {args.batch}, {args.model}")
    print("| case | samples/s | epoch s | vs preloaded |")
    print("|---|---|---|---|")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} | | |")
    for name, t in times.items():
        print(f"| training, {name} | {args.n / t:,.0f} | {t:.2f} | {t / base - 1:+.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
