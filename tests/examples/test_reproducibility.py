import hashlib
import json
import platform
from pathlib import Path

import pytest
import torch
from example_support import assert_fits_on_card, load_example

rp = load_example("reproducibility")

CONFIG = {"seed": 7, "lr": 1e-2, "batch_size": 32, "epochs": 3}


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """Hermetic (no git: the fallback code version) and undo seed_everything's process-wide settings."""
    deterministic, benchmark = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored after the test
    monkeypatch.setattr(rp, "git_commit", lambda repo_dir: None)
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = benchmark


def test_region_fits_on_a_card():
    assert_fits_on_card("reproducibility.py", "seed-everything")


def test_same_seed_gives_bit_identical_weights():
    x, y = rp.make_data()
    first, second = rp.train(CONFIG, x, y), rp.train(CONFIG, x, y)
    assert torch.are_deterministic_algorithms_enabled()
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name  # every bit, not just allclose

    other = rp.train({**CONFIG, "seed": 8}, x, y)
    assert not torch.equal(first[0].weight, other[0].weight)


def test_manifest_records_config_environment_code_and_data(tmp_path):
    x, y = rp.make_data()
    model = rp.train(CONFIG, x, y)
    manifest = rp.save_with_manifest(model, CONFIG, (x, y), tmp_path / "run")

    assert json.loads((tmp_path / "run" / "manifest.json").read_text()) == manifest
    assert manifest["config"] == CONFIG
    assert manifest["environment"]["torch"] == torch.__version__
    assert manifest["environment"]["python"] == platform.python_version()
    source = Path(rp.__file__).read_bytes()
    assert manifest["code_version"] == "sha256:" + hashlib.sha256(source).hexdigest()  # the no-git fallback
    assert manifest["data_sha256"] == rp.tensors_sha256(*rp.make_data())
    assert manifest["data_sha256"] != rp.tensors_sha256(*rp.make_data(n=511))

    reloaded = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert rp.tensors_sha256(*reloaded.values()) == manifest["weights_sha256"]

    retrained = rp.train(manifest["config"], x, y)  # reproduce from the manifest alone
    assert rp.tensors_sha256(*retrained.state_dict().values()) == manifest["weights_sha256"]


def test_manifest_prefers_the_git_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(rp, "git_commit", lambda repo_dir: "abc123")
    x, y = rp.make_data(n=64)
    manifest = rp.save_with_manifest(torch.nn.Linear(10, 1), CONFIG, (x, y), tmp_path)
    assert manifest["code_version"] == "git:abc123"
