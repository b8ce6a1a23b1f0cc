"""Fixtures for the companion-example tests."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _modest_torch_threads():
    """Keep intra-op parallelism small: the suite must run quickly on two cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)
