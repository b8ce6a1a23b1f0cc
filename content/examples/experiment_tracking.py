"""Experiment tracking and a model registry on a local file store (the MLflow model, in ~100 lines)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path

import torch
from provenance import git_commit
from torch import nn


def data_hash(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_model(params: dict) -> nn.Module:
    hidden = params["hidden"]
    return nn.Sequential(nn.Linear(params["n_features"], hidden), nn.ReLU(), nn.Linear(hidden, 1))


# region log-run
def code_version(source: Path) -> str:
    """The git commit if there is one, else a content hash of the training code itself."""
    commit = git_commit(source.parent)
    return f"git:{commit}" if commit else "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()


def log_run(store: Path, params: dict, metrics: dict, model: nn.Module, data: tuple) -> str:
    """Record everything needed to audit and reproduce a training run; return its id."""
    run_id = uuid.uuid4().hex
    run_dir = store / "runs" / run_id
    run_dir.mkdir(parents=True)
    torch.save(model.state_dict(), run_dir / "model.pt")  # the artifact; architecture is in params
    record = {
        "run_id": run_id,
        "logged_at": time.time(),
        "params": params,
        "metrics": metrics,
        "code_version": code_version(Path(__file__)),  # which exact code
        "data_sha256": data_hash(*data),  # which exact training data
        "torch_version": torch.__version__,
        "artifacts": {"model": "model.pt"},
    }
    (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    return run_id
    # endregion


class ModelRegistry:
    """Named models with incrementing versions, each pointing at a run; aliases like "production" move."""

    def __init__(self, store: Path):
        self.store = store
        (store / "registry").mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.store / "registry" / f"{name}.json"

    def _read(self, name: str) -> dict:
        path = self._path(name)
        return json.loads(path.read_text()) if path.exists() else {"versions": [], "aliases": {}}

    def register(self, name: str, run_id: str) -> int:
        entry = self._read(name)
        version = len(entry["versions"]) + 1
        entry["versions"].append({"version": version, "run_id": run_id, "registered_at": time.time()})
        self._path(name).write_text(json.dumps(entry, indent=2))
        return version

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Promote (or roll back) by moving an alias; the previous holder keeps its version number."""
        entry = self._read(name)
        if not any(v["version"] == version for v in entry["versions"]):
            raise KeyError(f"{name} has no version {version}")
        entry["aliases"][alias] = version
        self._path(name).write_text(json.dumps(entry, indent=2))

    def resolve(self, name: str, version: int | None = None, alias: str | None = None) -> dict:
        """The run record behind a version or an alias."""
        entry = self._read(name)
        version = entry["aliases"][alias] if alias else version
        run_id = next(v["run_id"] for v in entry["versions"] if v["version"] == version)
        return {"version": version, **json.loads((self.store / "runs" / run_id / "run.json").read_text())}

    def load_model(self, name: str, version: int | None = None, alias: str | None = None) -> nn.Module:
        run = self.resolve(name, version, alias)
        model = build_model(run["params"])
        weights = self.store / "runs" / run["run_id"] / run["artifacts"]["model"]
        model.load_state_dict(torch.load(weights, weights_only=True))
        return model.eval()


def train(params: dict, x: torch.Tensor, y: torch.Tensor) -> tuple[nn.Module, dict]:
    torch.manual_seed(params["seed"])
    model = build_model(params)
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    for _ in range(params["epochs"]):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
    return model.eval(), {"train_mse": loss.item()}


def make_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=generator)
    return x, (x[:, :1] * 2 - x[:, 1:2]).tanh()
