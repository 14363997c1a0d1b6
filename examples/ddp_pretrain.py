"""Regression pretraining on a sharded synthetic dataset with DistributedDataParallel.

Each rank reads its own contiguous block of records (:class:`ecgfast.torch.ShardDataset` takes
rank and world size from the process group), gradients are averaged by DDP, and rank 0 writes
an ecgfast checkpoint (:func:`ecgfast.torch.load` reads it). On CPUs the backend is gloo::

    ecgfast synth --n 2000 --out shards/ --leads II --shard-size 500
    torchrun --nproc_per_node 2 examples/ddp_pretrain.py --root shards/ --out ddp_run/

On GPUs use ``--backend nccl`` (one process per GPU). Every rank also writes
``rank-<r>.json`` (the records it saw, its losses and a checksum of its final parameters), which the
test suite uses to check that ranks are disjoint and end with the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ecgfast.torch import ShardDataset, Task, create_model, save_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, help="folder written by ecgfast synth")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--targets", default="hr,pr,qrs,qt")
    p.add_argument("--model", default="resnet1d")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers per rank")
    p.add_argument("--backend", default="gloo")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    dist.init_process_group(args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts)
    torch.set_num_threads(1)  # one core per rank

    targets = tuple(args.targets.split(","))
    data = ShardDataset(args.root, targets)  # rank and world size from the process group
    # Every rank must see the same target scaling: rank 0's (fitted on its block) is broadcast.
    scaler = [data.scaler]
    dist.broadcast_object_list(scaler, src=0)
    data.scaler = scaler[0]
    sampler = data.batch_sampler(args.batch_size, seed=args.seed, drop_last=True)
    loader = DataLoader(data, batch_sampler=sampler, num_workers=args.workers)

    model = create_model(args.model, len(data.lead_names), len(targets))
    ddp = DistributedDataParallel(model)
    task = Task.regression(targets, scaler=data.scaler)
    opt = torch.optim.AdamW(ddp.parameters(), lr=args.lr)
    losses, seen = [], []
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        ddp.train()
        total, batches = 0.0, 0
        for batch in sampler:
            seen.extend(int(data._records[i]) for i in batch)
        for x, y in loader:
            opt.zero_grad()
            loss = task.loss(ddp(x), y)
            loss.backward()
            opt.step()
            total, batches = total + loss.item(), batches + 1
        mean = torch.tensor([total / max(batches, 1)])
        dist.all_reduce(mean)
        losses.append(float(mean) / world)
        if rank == 0:
            print(f"epoch {epoch + 1}/{args.epochs}: loss {losses[-1]:.4f} ({world} ranks)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Parameters are identical on every rank (DDP averages gradients); batch-norm running
    # statistics are not (each rank updates them with its own batches after DDP broadcasts
    # rank 0's at every forward), and the checkpoint holds rank 0's.
    weights = torch.cat([q.detach().flatten() for q in model.parameters()])
    checksum = hashlib.sha1(weights.numpy().astype(np.float32).tobytes()).hexdigest()
    report = {
        "rank": rank,
        "world_size": world,
        "n_records": len(data),
        "records_seen": sorted(set(seen)),
        "batches_per_epoch": len(sampler),
        "losses": losses,
        "parameters_sha1": checksum,
        "seconds": time.perf_counter() - t0,
    }
    (out / f"rank-{rank}.json").write_text(json.dumps(report))
    if rank == 0:
        save_checkpoint(
            out / "model.pt",
            model,
            task=task,
            preprocessing=data.preprocessing,
            meta={"ddp_world_size": world, "losses": losses},
        )
        print(f"wrote {out / 'model.pt'}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
