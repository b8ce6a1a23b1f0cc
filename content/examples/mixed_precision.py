"""Mixed-precision training: autocast (bfloat16 on CPU, float16 + GradScaler on CUDA) and why loss scaling."""

from __future__ import annotations

import torch
from torch import nn


# region autocast-step
def amp_dtype(device_type: str) -> torch.dtype:
    """bf16 where the hardware has it (Ampere or newer, CPUs); fp16 on
    older GPUs (V100, T4), which needs loss scaling: bf16 keeps fp32's
    exponent range, fp16 flushes gradients below ~6e-8 to zero."""
    if device_type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def train_step(model, optimizer, scaler, x, y, dtype) -> float:
    """One optimizer step under automatic mixed precision; the loss."""
    optimizer.zero_grad(set_to_none=True)
    # Weights stay fp32; matmuls run in low precision, softmax in fp32.
    with torch.autocast(device_type=x.device.type, dtype=dtype):
        loss = nn.functional.cross_entropy(model(x), y)
    # With fp16, GradScaler(enabled=True); with bf16 these are no-ops.
    scaler.scale(loss).backward()  # × S: small grads stay nonzero
    scaler.unscale_(optimizer)  # true gradients before clipping
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    scaler.step(optimizer)  # skipped if any gradient is inf/NaN
    scaler.update()  # S halves after an overflow, grows after good runs
    return loss.item()
    # endregion


def make_classification(n: int = 1024, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A non-linear two-class problem: XOR of quadrant sign and distance from the origin."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=generator)
    y = ((x[:, 0] * x[:, 1] > 0) ^ (x.norm(dim=1) > 1.2)).long()
    return x, y


def train(
    steps: int = 300, seed: int = 0, device_type: str | None = None, dtype: torch.dtype | None = None
) -> tuple[list[float], torch.amp.GradScaler]:
    """Train a small classifier; ``dtype`` overrides the device's choice (fp16 runs on CPU too)."""
    device_type = device_type or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = dtype or amp_dtype(device_type)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    model.to(device_type)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)
    x, y = (t.to(device_type) for t in make_classification(seed=seed))
    return [train_step(model, optimizer, scaler, x, y, dtype) for _ in range(steps)], scaler


def fp16_backward_gradient(true_gradient: float = 1e-8, loss_scale: float = 1.0) -> float:
    """Gradient reaching a float32 weight when the backward pass runs in float16.

    The loss is w * sqrt(g) * sqrt(g) computed on a float16 activation, so dloss/dw = g.
    """
    weight = torch.ones((), requires_grad=True)  # float32 master weight
    activation = weight.half()  # what autocast does before a float16 op
    factor = true_gradient**0.5  # representable in float16, unlike the product
    loss = activation * factor * factor
    (loss * loss_scale).backward()
    return weight.grad.item() / loss_scale  # unscale in float32, as GradScaler does


if __name__ == "__main__":
    losses, _ = train()
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print("fp16 gradient, no scaling:", fp16_backward_gradient())
    print("fp16 gradient, scaled by 2**14:", fp16_backward_gradient(loss_scale=2.0**14))
