import math

import pytest
import torch
from example_support import assert_fits_on_card, load_example
from torch import nn

amp = load_example("mixed_precision")


def test_region_fits_on_a_card():
    assert_fits_on_card("mixed_precision.py", "autocast-step")


@pytest.mark.parametrize(
    ("device_type", "bf16_supported", "expected"),
    [
        ("cpu", False, torch.bfloat16),
        ("cuda", True, torch.bfloat16),  # Ampere or newer
        ("cuda", False, torch.float16),  # V100, T4
    ],
)
def test_bfloat16_wherever_the_hardware_has_it(monkeypatch, device_type, bf16_supported, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16_supported)
    assert amp.amp_dtype(device_type) == expected


def test_autocast_runs_the_matmul_in_low_precision_and_keeps_fp32_weights():
    linear = nn.Linear(4, 4)
    with torch.autocast(device_type="cpu", dtype=amp.amp_dtype("cpu")):
        out = linear(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16  # the matmul really ran in low precision
    assert linear.weight.dtype == torch.float32  # master weights stay float32


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_training_converges(dtype):
    losses, scaler = amp.train(steps=300, device_type="cpu", dtype=dtype)
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[0] > 0.6  # about log(2): chance level for two classes
    assert losses[-1] < 0.1 * losses[0]
    assert scaler.is_enabled() == (dtype == torch.float16)  # fp16 ran scale/unscale_/step/update
    if dtype == torch.float16:
        assert scaler.get_scale() >= 2.0**16  # grew from its initial 2**16 over runs of good steps


def test_an_overflowing_fp16_step_is_skipped_and_the_scale_halves():
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # A scale above fp16's maximum (65504): the scaled gradients overflow to inf.
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)
    x, y = torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
    before = [p.detach().clone() for p in model.parameters()]

    amp.train_step(model, optimizer, scaler, x, y, torch.float16)

    assert all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))  # skipped
    assert scaler.get_scale() == 2.0**39
    scaler.update(2.0**10)  # a scale fp16 can hold: the next step goes through
    amp.train_step(model, optimizer, scaler, x, y, torch.float16)
    assert not all(torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))


def test_small_gradient_underflows_in_float16_but_survives_loss_scaling():
    assert torch.tensor(1e-8).half().item() == 0.0  # below float16's smallest subnormal (~6e-8)
    assert amp.fp16_backward_gradient(1e-8, loss_scale=1.0) == 0.0
    scaled = amp.fp16_backward_gradient(1e-8, loss_scale=2.0**14)
    assert math.isclose(scaled, 1e-8, rel_tol=1e-3)


def test_bfloat16_keeps_the_small_gradient_without_scaling():
    assert torch.tensor(1e-8).bfloat16().item() != 0.0  # float32's exponent range
