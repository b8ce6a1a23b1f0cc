"""Reproducible training: seed every RNG, force deterministic kernels, save a run manifest with the model."""

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
from torch.utils.data import DataLoader, TensorDataset


# region seed-everything
def seed_everything(seed: int) -> None:
    """Same seed, same code, same data, same hardware and library versions -> bit-identical weights."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # CPU and every CUDA device
    os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"  # deterministic cuBLAS (set before CUDA starts)
    torch.use_deterministic_algorithms(True)  # raise on ops with no deterministic implementation
    torch.backends.cudnn.benchmark = False  # autotuning may pick different kernels run to run


def save_with_manifest(model: nn.Module, config: dict, data: tuple, out_dir: Path) -> dict:
    """Store the weights next to everything needed to reproduce them."""
    commit = git_commit(Path(__file__).parent)
    manifest = {
        "config": config,  # includes the seed
        "code_version": f"git:{commit}" if commit else "sha256:" + sha256_file(Path(__file__)),
        "data_sha256": tensors_sha256(*data),
        "environment": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
        "weights_sha256": tensors_sha256(*model.state_dict().values()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "model.pt")
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest
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


def train(config: dict, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    """Randomness everywhere: init, shuffling, dropout and augmentation noise."""
    seed_everything(config["seed"])
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"])
    loader = DataLoader(TensorDataset(x, y), batch_size=config["batch_size"], shuffle=True)
    for _ in range(config["epochs"]):
        for xb, yb in loader:
            noisy = xb + 0.05 * torch.randn_like(xb)
            loss = nn.functional.binary_cross_entropy_with_logits(model(noisy), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model
