"""Reproducible training: seed every RNG, force deterministic kernels, save a run manifest with the model,
and resume from a checkpoint exactly as if training had never stopped."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
from pathlib import Path

import numpy as np
import torch
from provenance import git_commit
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset


# region seed-everything
def seed_everything(seed: int) -> None:
    """Same seed, code, data, hardware, versions: identical weights."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # CPU and every CUDA device
    torch.use_deterministic_algorithms(True)  # error on racy kernels
    # GPU-only (CPU kernels are deterministic); before CUDA starts:
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"  # cuBLAS
    torch.backends.cudnn.deterministic = True  # convolutions
    torch.backends.cudnn.benchmark = False  # no kernel autotuning


def environment() -> dict:
    """What else changes the bits: versions, hardware, drivers."""
    gpus = range(torch.cuda.device_count())
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cuda": torch.version.cuda,  # None on a CPU-only build
        "cudnn": torch.backends.cudnn.version(),
        "gpus": [torch.cuda.get_device_name(i) for i in gpus],
        "cpu_threads": torch.get_num_threads(),  # changes float sums
    }
    # endregion


def save_with_manifest(model: nn.Module, config: dict, data: tuple, out_dir: Path) -> dict:
    """Store the weights next to everything needed to reproduce them."""
    commit = git_commit(Path(__file__).parent)
    manifest = {
        "config": config,  # includes the seed
        "code_version": f"git:{commit}" if commit else "sha256:" + sha256_file(Path(__file__)),
        "data_sha256": tensors_sha256(*data),
        "environment": environment(),
        "weights_sha256": tensors_sha256(*model.state_dict().values()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "model.pt")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


# region resume
def save_checkpoint(path: Path, model, optimizer, order, epoch: int):
    """Everything the next step depends on, not just the weights."""
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),  # Adam moments, step count
        "sampler": order.get_state(),  # which shuffle comes next
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),  # dropout, noise
        "cuda": torch.cuda.get_rng_state_all(),  # [] without GPUs
    }
    torch.save(state, path)


def resume(path: Path, model, optimizer, order) -> int:
    """Restore the saved state; training goes on bit-identically."""
    state = torch.load(path, weights_only=False)  # our own file only
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    order.set_state(state["sampler"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    torch.cuda.set_rng_state_all(state["cuda"])
    return state["epoch"]
    # endregion


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tensors_sha256(*tensors: torch.Tensor) -> str:
    """A fingerprint of the exact bits (and shapes and dtypes) of some tensors."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(f"{tensor.dtype}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def make_data(n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1234)  # the data is fixed; only the training seed varies
    x = torch.randn(n, 10, generator=generator)
    return x, (x[:, :3].sum(dim=1, keepdim=True) > 0).float()


def make_training(config: dict, x: torch.Tensor, y: torch.Tensor):
    """A seeded model, optimizer and loader; the loader shuffles with its own generator, ``order``."""
    seed_everything(config["seed"])
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"])
    order = torch.Generator().manual_seed(config["seed"])
    dataset = TensorDataset(x, y)
    loader = DataLoader(
        dataset, batch_size=config["batch_size"], sampler=RandomSampler(dataset, generator=order)
    )
    return model, optimizer, loader, order


def run_epochs(model: nn.Module, optimizer, loader: DataLoader, epochs: int) -> None:
    """Randomness everywhere: shuffling, dropout and augmentation noise."""
    for _ in range(epochs):
        for xb, yb in loader:
            noisy = xb + 0.05 * torch.randn_like(xb)
            loss = nn.functional.binary_cross_entropy_with_logits(model(noisy), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def train(config: dict, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    model, optimizer, loader, _ = make_training(config, x, y)
    run_epochs(model, optimizer, loader, config["epochs"])
    return model
