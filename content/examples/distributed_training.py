"""Data-parallel training with DistributedDataParallel on two CPU processes (gloo backend)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

SEED = 0


def make_model() -> nn.Module:
    torch.manual_seed(SEED)  # identical initial weights in every process
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))


def make_dataset(n: int = 256) -> TensorDataset:
    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn(n, 8, generator=generator)
    y = x @ torch.linspace(-1, 1, 8).unsqueeze(1) + 0.1 * torch.randn(n, 1, generator=generator)
    return TensorDataset(x, y)


# region ddp-training
def train_ddp(rank, world, init_file, epochs, batch) -> nn.Module:
    """One process per device; ``batch`` is the global batch. DDP
    averages gradients with an all-reduce during backward."""
    url = f"file://{init_file}"  # file rendezvous: no TCP port
    dist.init_process_group("gloo", url, rank=rank, world_size=world)
    try:
        model = DDP(make_model())  # also broadcasts rank 0's weights
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        dataset = make_dataset()
        sampler = DistributedSampler(dataset, world, rank, seed=SEED)
        loader = DataLoader(dataset, batch // world, sampler=sampler)
        for epoch in range(epochs):
            sampler.set_epoch(epoch)  # same reshuffle on every rank
            for x, y in loader:
                optimizer.zero_grad(set_to_none=True)
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()  # bucketed all-reduce overlaps backward
                optimizer.step()  # same gradients -> same replicas
            if rank == 0:  # log from one rank only
                print(f"epoch {epoch}: rank 0 loss {loss.item():.4f}")
        return model.module
    finally:
        dist.destroy_process_group()
        # endregion


def _worker(rank: int, world_size: int, init_file: str, epochs: int, global_batch: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    model = train_ddp(rank, world_size, init_file, epochs, global_batch)
    torch.save(model.state_dict(), Path(out_dir) / f"rank{rank}.pt")  # every rank, to compare replicas


def launch(out_dir: Path, world_size: int = 2, epochs: int = 3, global_batch: int = 32) -> list[dict]:
    """Spawn ``world_size`` processes and return each rank's final state dict."""
    with tempfile.TemporaryDirectory() as rendezvous_dir:
        init_file = str(Path(rendezvous_dir) / "init")  # file rendezvous: no TCP port to clash
        args = (world_size, init_file, epochs, global_batch, str(out_dir))
        mp.spawn(_worker, args=args, nprocs=world_size, join=True)
    return [torch.load(Path(out_dir) / f"rank{r}.pt", weights_only=True) for r in range(world_size)]


def train_single_process(epochs: int = 3, global_batch: int = 32) -> nn.Module:
    """Reference: one process sees each global batch whole, in the order the ranks split it."""
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    dataset = make_dataset()
    sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=SEED)
    loader = DataLoader(dataset, batch_size=global_batch, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
    return model


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        states = launch(Path(tmp))
        print("replicas identical:", all(torch.equal(states[0][k], states[1][k]) for k in states[0]))
