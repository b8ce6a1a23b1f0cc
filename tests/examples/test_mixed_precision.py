import math

import torch
from example_support import assert_fits_on_card, load_example
from torch import nn

amp = load_example("mixed_precision")


def test_region_fits_on_a_card():
    assert_fits_on_card("mixed_precision.py", "autocast-step")


def test_cpu_uses_bfloat16_without_a_grad_scaler():
    dtype, scaler = amp.amp_settings("cpu")
    assert dtype == torch.bfloat16
    assert not scaler.is_enabled()
    linear = nn.Linear(4, 4)
    with torch.autocast(device_type="cpu", dtype=dtype):
        out = linear(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16  # the matmul really ran in low precision
    assert linear.weight.dtype == torch.float32  # master weights stay float32


def test_autocast_training_converges():
    losses = amp.train(steps=300, seed=0, device_type="cpu")
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[0] > 0.6  # about log(2): chance level for two classes
    assert losses[-1] < 0.1 * losses[0]


def test_small_gradient_underflows_in_float16_but_survives_loss_scaling():
    assert torch.tensor(1e-8).half().item() == 0.0  # below float16's smallest subnormal (~6e-8)
    assert amp.fp16_backward_gradient(1e-8, loss_scale=1.0) == 0.0
    scaled = amp.fp16_backward_gradient(1e-8, loss_scale=2.0**14)
    assert math.isclose(scaled, 1e-8, rel_tol=1e-3)


def test_bfloat16_keeps_the_small_gradient_without_scaling():
    assert torch.tensor(1e-8).bfloat16().item() != 0.0  # float32's exponent range
