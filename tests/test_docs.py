"""Keep the docs honest: the README's commands are the ones CI runs, and they work."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import ROOT

from generator.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands(program: str) -> list[str]:
    """Return the command lines of ``sh`` code blocks that start with ``program``."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(program + " ")]


def test_ci_runs_exactly_the_readme_setup_commands():
    setup = readme_commands("make")[:2]
    assert setup == ["make build", "make test"]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert [line for line in ci if line.startswith("make")] == setup


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make (\w+)`", README):
        assert re.search(rf"^{target}:", makefile, flags=re.M), target


@pytest.mark.parametrize("command", ["check", "list", "build", "release"])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output
    assert f"prepdeck {command}" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("line", readme_commands("prepdeck"))
def test_readme_prepdeck_commands_run(line, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    args = shlex.split(line)[1:]
    if args[0] == "build":
        args += ["--out", str(tmp_path / "out")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    if args[0] == "build":
        assert list((tmp_path / "out").iterdir()), "the build wrote nothing"
