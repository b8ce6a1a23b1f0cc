import hashlib
import json
import os
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
    cudnn_deterministic = torch.backends.cudnn.deterministic
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored after the test
    monkeypatch.setattr(rp, "git_commit", lambda repo_dir: None)
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = benchmark
    torch.backends.cudnn.deterministic = cudnn_deterministic


@pytest.mark.parametrize("region", ["seed-everything", "resume"])
def test_regions_fit_on_a_card(region):
    assert_fits_on_card("reproducibility.py", region)


def test_seed_everything_sets_the_deterministic_kernel_switches():
    rp.seed_everything(3)
    assert torch.are_deterministic_algorithms_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


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
    environment = manifest["environment"]
    assert {"cuda", "cudnn", "gpus", "cpu_threads"} <= environment.keys()
    assert environment["cuda"] == torch.version.cuda and environment["gpus"] == [
        torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
    ]
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


def test_resuming_from_a_checkpoint_is_bit_identical_to_never_stopping(tmp_path):
    x, y = rp.make_data()
    config = {**CONFIG, "epochs": 2}
    straight = rp.train(config, x, y)

    model, optimizer, loader, order = rp.make_training(config, x, y)
    rp.run_epochs(model, optimizer, loader, 1)
    rp.save_checkpoint(tmp_path / "ckpt.pt", model, optimizer, order, epoch=1)
    rp.run_epochs(model, optimizer, loader, 3)  # the process goes on, or dies: it must not matter

    # A fresh process: built with another seed, so only the checkpoint can make it match.
    model, optimizer, loader, order = rp.make_training({**config, "seed": 99}, x, y)
    assert rp.resume(tmp_path / "ckpt.pt", model, optimizer, order) == 1
    rp.run_epochs(model, optimizer, loader, 1)
    for (name, a), (_, b) in zip(straight.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("forgotten", ["optimizer", "sampler", "torch"])
def test_resuming_without_any_one_part_of_the_state_diverges(tmp_path, forgotten):
    x, y = rp.make_data()
    config = {**CONFIG, "epochs": 2}
    straight = rp.train(config, x, y)
    model, optimizer, loader, order = rp.make_training(config, x, y)
    rp.run_epochs(model, optimizer, loader, 1)
    rp.save_checkpoint(tmp_path / "ckpt.pt", model, optimizer, order, epoch=1)
    state = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    model, optimizer, loader, order = rp.make_training({**config, "seed": 99}, x, y)
    fresh = {
        "optimizer": optimizer.state_dict(),
        "sampler": order.get_state(),
        "torch": torch.get_rng_state(),
    }
    state[forgotten] = fresh[forgotten]  # as if the checkpoint had left it out
    torch.save(state, tmp_path / "ckpt.pt")

    rp.resume(tmp_path / "ckpt.pt", model, optimizer, order)
    rp.run_epochs(model, optimizer, loader, 1)
    assert not torch.equal(straight[0].weight, model[0].weight)
