import hashlib
import json
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


def train_and_log(store, seed=0, data_seed=0):
    x, y = et.make_data(seed=data_seed)
    params = {**PARAMS, "seed": seed}
    model, metrics = et.train(params, x, y)
    return et.log_run(store, params, metrics, model, (x, y)), model, x


def test_region_fits_on_a_card():
    assert_fits_on_card("experiment_tracking.py", "log-run")


def test_run_records_params_metrics_artifact_code_and_data(tmp_path):
    run_id, _, _ = train_and_log(tmp_path)
    run_dir = tmp_path / "runs" / run_id
    record = json.loads((run_dir / "run.json").read_text())

    assert record["params"] == PARAMS
    assert record["metrics"]["train_mse"] > 0
    assert (run_dir / record["artifacts"]["model"]).is_file()
    assert record["code_version"] == f"git:{FAKE_COMMIT}"
    assert record["data_sha256"] == et.data_hash(*et.make_data(seed=0))  # same data, same hash
    assert record["data_sha256"] != et.data_hash(*et.make_data(seed=1))
    assert record["torch_version"] == torch.__version__


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


def test_registry_versions_aliases_and_exact_reload(tmp_path):
    registry = et.ModelRegistry(tmp_path)
    runs = [train_and_log(tmp_path, seed=s) for s in range(3)]
    versions = [registry.register("churn", run_id) for run_id, _, _ in runs]
    assert versions == [1, 2, 3]

    registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "production", 2)  # promote v2; v1 stays loadable by number
    assert registry.resolve("churn", alias="production")["version"] == 2

    _, model_v2, x = runs[1]
    with torch.no_grad():
        reloaded = registry.load_model("churn", alias="production")(x)
        assert torch.equal(reloaded, model_v2(x))  # bit-identical predictions
        assert not torch.equal(registry.load_model("churn", version=1)(x), reloaded)
    assert registry.resolve("churn", version=2)["data_sha256"] == et.data_hash(*et.make_data(seed=0))

    with pytest.raises(KeyError):
        registry.set_alias("churn", "production", 4)
