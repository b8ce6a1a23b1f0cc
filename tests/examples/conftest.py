"""Fixtures for the companion-example tests."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _modest_torch_threads():
    """One intra-op thread: the examples' tensors are small, and on two busy cores
    spinning thread pools make small ops many times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
