import hashlib
import socket
import subprocess
from pathlib import Path

import pytest
import torch
from example_support import assert_fits_on_card, load_example

et = load_example("experiment_tracking")

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
PARAMS = {"n_features": 5, "hidden": 16, "lr": 0.01, "epochs": 50, "seed": 0}


@pytest.fixture(autouse=True)
def no_real_git(monkeypatch):
    """Hermetic: the recorded code version must not depend on the state of this checkout."""
    monkeypatch.setattr(et, "git_commit", lambda repo_dir: FAKE_COMMIT)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One local MLflow store for the module (creating its SQLite schema takes seconds)."""
    return et.use_local_store(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def offline(monkeypatch):
    """Fail any attempt to open a network connection."""

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network connection attempted: {address}")
        return original(self, address)

    original = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)


def train_and_log(name, seed=0, data_seed=0):
    x, y = et.make_data(seed=data_seed)
    params = {**PARAMS, "seed": seed}
    model, metrics = et.train(params, x, y)
    return et.log_run(name, params, metrics, model, (x, y)), model, x


def test_region_fits_on_a_card():
    assert_fits_on_card("experiment_tracking.py", "log-run")


def test_run_records_params_metrics_model_code_and_data(store, offline):
    version, _, _ = train_and_log("lineage")
    registered = store.get_model_version("lineage", str(version))
    run = store.get_run(registered.run_id)

    assert run.data.params == {k: str(v) for k, v in PARAMS.items()}
    assert run.data.metrics["train_mse"] > 0
    assert run.data.tags["code_version"] == f"git:{FAKE_COMMIT}"
    assert run.data.tags["data_sha256"] == et.data_hash(*et.make_data(seed=0))  # same data, same hash
    assert run.data.tags["data_sha256"] != et.data_hash(*et.make_data(seed=1))
    assert registered.status == "READY" and version == 1


def test_registry_versions_alias_moves_and_reload_is_bit_identical(store, offline):
    runs = [train_and_log("churn", seed=s) for s in range(3)]
    assert [version for version, _, _ in runs] == [1, 2, 3]

    et.promote(store, "churn", 1)
    et.promote(store, "churn", 2)  # promote v2; v1 stays loadable by number
    assert int(store.get_model_version_by_alias("churn", "champion").version) == 2

    _, model_v2, x = runs[1]
    champion = et.load_champion("churn")
    assert champion.state_dict().keys() == model_v2.state_dict().keys()
    for name, tensor in model_v2.state_dict().items():
        assert torch.equal(champion.state_dict()[name], tensor), name
    with torch.no_grad():
        assert torch.equal(champion(x), model_v2(x))  # bit-identical predictions
        version_1 = et.mlflow.pytorch.load_model("models:/churn/1")
        assert not torch.equal(version_1(x), champion(x))

    et.promote(store, "churn", 1)  # roll back: move the alias back
    assert int(store.get_model_version_by_alias("churn", "champion").version) == 1
    with torch.no_grad():
        assert torch.equal(et.load_champion("churn")(x), runs[0][1](x))


def test_code_version_falls_back_to_a_content_hash_without_git(monkeypatch):
    monkeypatch.setattr(et, "git_commit", lambda repo_dir: None)
    source = Path(et.__file__)
    assert et.code_version(source) == "sha256:" + hashlib.sha256(source.read_bytes()).hexdigest()


def test_git_commit_is_none_when_git_is_unavailable(monkeypatch, tmp_path):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.undo()  # the real git_commit, but no git executable
    monkeypatch.setattr(subprocess, "run", no_git)
    assert et.git_commit(tmp_path) is None
