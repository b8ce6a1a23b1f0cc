"""Where a model came from: the code version, shared by the tracking and reproducibility examples."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(repo_dir: Path) -> str | None:
    """HEAD's commit, marked -dirty with uncommitted changes; None outside a git checkout."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo_dir, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        return git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain") else "")
    except (OSError, subprocess.SubprocessError):
        return None
