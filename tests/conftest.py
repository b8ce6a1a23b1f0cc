"""Shared fixtures for the test suite."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import CONTENT


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """Return a writable copy of the shipped content directory."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target
