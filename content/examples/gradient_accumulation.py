"""Gradient accumulation: k micro-batches of size b behave like one batch of size k*b."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


# region accumulate
def train_with_accumulation(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    micro_batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    accumulation_steps: int,
) -> None:
    """Step the optimizer every ``accumulation_steps`` micro-batches.

    The micro-batches must be equal-sized. Under DDP, run the non-final
    backward passes in ``model.no_sync()`` to skip redundant
    all-reduces. BatchNorm still sees micro-batch statistics, so it is
    not exactly equivalent.
    """
    loss_fn = nn.MSELoss()  # mean over the micro-batch
    optimizer.zero_grad(set_to_none=True)
    for step, (x, y) in enumerate(micro_batches, start=1):
        loss = loss_fn(model(x), y)
        # .grad sums over backward calls: divide, so the sum is the
        # mean over the large batch
        (loss / accumulation_steps).backward()
        if step % accumulation_steps == 0:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            # endregion


def make_problem(n: int = 64, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.randn(n, 4)
    y = x.sum(dim=1, keepdim=True) + 0.1 * torch.randn(n, 1)
    return model, x, y
