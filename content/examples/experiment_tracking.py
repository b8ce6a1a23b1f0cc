"""Experiment tracking and a model registry with MLflow, on a local SQLite store and no server.

Each run records its parameters, metrics, code version, data hash and model; the
registry gives every logged model a version, and an alias ("champion") names the
one serving loads. Promotion and rollback move the alias; nothing is copied.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # a local store makes no network calls

import mlflow  # after the telemetry switch
import torch
from mlflow import MlflowClient
from provenance import git_commit
from torch import nn

EXPERIMENT = "churn"
TORCH = torch.__version__.split("+")[0]  # without the local "+cpu" label


def data_hash(*tensors: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for t in tensors:
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.contiguous().numpy().tobytes())
    return digest.hexdigest()


def code_version(source: Path) -> str:
    """The git commit if there is one, else a content hash of the training code itself."""
    commit = git_commit(source.parent)
    return f"git:{commit}" if commit else "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()


def use_local_store(root: Path) -> MlflowClient:
    """Point MLflow at ``root``: runs and registry in SQLite, artifacts as files beside it."""
    database = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(database)
    mlflow.set_registry_uri(database)
    client = MlflowClient(database, database)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=(root / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return client


# region log-run
def log_run(name: str, params: dict, metrics: dict, model, data) -> int:
    """Log a run with its lineage, register its model: the version."""
    with mlflow.start_run():
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tag("code_version", code_version(Path(__file__)))
        mlflow.set_tag("data_sha256", data_hash(*data))  # exact data
        logged = mlflow.pytorch.log_model(
            model,
            name="model",
            registered_model_name=name,  # a new version of `name`
            serialization_format="pickle",  # a trusted store
            pip_requirements=[f"torch=={TORCH}"],  # no env scan
        )
    return int(logged.registered_model_version)


def promote(client: MlflowClient, name: str, version: int) -> None:
    """Move the alias serving loads; rolling back is moving it back."""
    client.set_registered_model_alias(name, "champion", version)


def load_champion(name: str) -> nn.Module:
    return mlflow.pytorch.load_model(f"models:/{name}@champion")
    # endregion


def build_model(params: dict) -> nn.Module:
    hidden = params["hidden"]
    return nn.Sequential(nn.Linear(params["n_features"], hidden), nn.ReLU(), nn.Linear(hidden, 1))


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


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        client = use_local_store(Path(tmp))
        x, y = make_data()
        params = {"n_features": 5, "hidden": 16, "lr": 0.01, "epochs": 50, "seed": 0}
        model, metrics = train(params, x, y)
        version = log_run("churn", params, metrics, model, (x, y))
        promote(client, "churn", version)
        print("champion is version", version, metrics)
