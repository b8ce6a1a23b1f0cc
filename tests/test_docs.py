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


NEW_BANK = [line for line in readme_commands("prepdeck") if "mybank" in line]


@pytest.mark.slow
def test_readme_new_bank_commands_run_in_order(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert [shlex.split(line)[1] for line in NEW_BANK][:3] == ["init", "check", "build"]
    for line in NEW_BANK:
        result = CliRunner().invoke(main, shlex.split(line)[1:])
        assert result.exit_code == 0, (line, result.output)
    assert (tmp_path / "out" / "my-bank.apkg").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("line", [line for line in readme_commands("prepdeck") if line not in NEW_BANK])
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
