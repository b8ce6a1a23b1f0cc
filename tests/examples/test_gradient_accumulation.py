import copy

import pytest
import torch
from example_support import assert_fits_on_card, load_example
from torch import nn

ga = load_example("gradient_accumulation")

K = 4  # accumulation steps
MICRO = 8  # micro-batch size


class RecordingSGD(torch.optim.SGD):
    """SGD that keeps a copy of the gradients it steps with."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.seen_grads: list[list[torch.Tensor]] = []

    def step(self, closure=None):
        self.seen_grads.append([p.grad.clone() for g in self.param_groups for p in g["params"]])
        return super().step(closure)


def micro_batches(x, y, size):
    return list(zip(x.split(size), y.split(size), strict=True))


def test_region_fits_on_a_card():
    assert_fits_on_card("gradient_accumulation.py", "accumulate")


def test_accumulated_micro_batches_match_one_large_batch():
    model, x, y = ga.make_problem(n=K * MICRO * 2)  # two optimizer steps
    big = copy.deepcopy(model)

    small_opt = RecordingSGD(model.parameters(), lr=0.1)
    ga.train_with_accumulation(model, small_opt, micro_batches(x, y, MICRO), accumulation_steps=K)
    big_opt = RecordingSGD(big.parameters(), lr=0.1)
    ga.train_with_accumulation(big, big_opt, micro_batches(x, y, K * MICRO), accumulation_steps=1)

    assert len(small_opt.seen_grads) == len(big_opt.seen_grads) == 2
    for step_small, step_big in zip(small_opt.seen_grads, big_opt.seen_grads, strict=True):
        for g_small, g_big in zip(step_small, step_big, strict=True):
            torch.testing.assert_close(g_small, g_big, rtol=1e-5, atol=1e-7)
    for p_small, p_big in zip(model.parameters(), big.parameters(), strict=True):
        torch.testing.assert_close(p_small, p_big, rtol=1e-5, atol=1e-7)


def test_without_dividing_by_k_the_gradient_is_k_times_too_large():
    model, x, y = ga.make_problem(n=K * MICRO)
    loss_fn = nn.MSELoss()

    loss_fn(model(x), y).backward()  # one large batch
    large_batch = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    for xb, yb in micro_batches(x, y, MICRO):
        loss_fn(model(xb), yb).backward()  # the common bug: no division by k
    summed = [p.grad.clone() for p in model.parameters()]

    for g_sum, g_big in zip(summed, large_batch, strict=True):
        torch.testing.assert_close(g_sum, K * g_big, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(g_sum, g_big)


@pytest.mark.parametrize("steps", [1, 3])
def test_steps_once_per_k_micro_batches(steps):
    model, x, y = ga.make_problem(n=(K * steps + 1) * MICRO)  # one leftover micro-batch
    opt = RecordingSGD(model.parameters(), lr=0.1)
    ga.train_with_accumulation(model, opt, micro_batches(x, y, MICRO), accumulation_steps=K)
    assert len(opt.seen_grads) == steps
