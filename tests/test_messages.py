"""Every message a user meets on a mistake: its exact text and exit status.

Usage mistakes (an option naming something that is not there) exit 2 with
click's usage lines; content problems exit 1 with ``path:line`` lines.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from malformed import BANK, write_text_bank

from generator.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="prepdeck")


@pytest.fixture
def bank(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_text_bank(tmp_path)


def usage(command: str, error: str) -> list[str]:
    return [f"Usage: prepdeck {command} [OPTIONS]", f"Try 'prepdeck {command} --help' for help.", "", error]


def test_outside_a_bank_the_default_content_folder_is_missing(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == usage(
        "check",
        "Error: Invalid value for '--content': there is no folder 'content' here; pass --content with "
        "the folder that holds bank.yaml, or start a bank with 'prepdeck init content'",
    )


def test_a_missing_content_folder_is_named_as_given(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("build", "--content", "mybank")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--content': there is no folder 'mybank'; pass --content with "
        "the folder that holds bank.yaml, or start a bank with 'prepdeck init mybank'"
    )


def test_a_folder_without_bank_yaml_invents_no_line(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    result = run("check", "--content", "notes")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: no bank.yaml in 'notes': pass --content with the folder that holds bank.yaml, "
        "or start a bank with 'prepdeck init notes'",
        "prepdeck: 1 error",
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--category", "alpah"],
            "Error: Invalid value for '--category': unknown category 'alpah'; did you mean 'alpha'? "
            "(this bank's categories: alpha, beta)",
        ),
        (
            ["--tag", "topic::sbu"],
            "Error: Invalid value for '--tag': unknown tag 'topic::sbu'; did you mean 'topic::sub'? "
            "(this bank's tags: topic, topic::sub)",
        ),
        (
            ["--subset", "hrad"],
            "Error: Invalid value for '--subset': unknown subset 'hrad'; did you mean 'hard'? "
            "(this bank's subsets: hard)",
        ),
        (
            ["--id", "q11"],
            "Error: Invalid value for '--id': unknown question id 'q11'; did you mean 'q1'? "
            "(this bank's ids: q1, q2)",
        ),
        (
            ["--difficulty", "hrad"],
            "Error: Invalid value for '--difficulty': unknown difficulty 'hrad'; did you mean 'hard'? "
            "(expected one of easy, medium, hard)",
        ),
        (
            ["--rarity", "comon"],
            "Error: Invalid value for '--rarity': unknown rarity 'comon'; did you mean 'common'? "
            "(expected one of rare, medium, common, very-common)",
        ),
        (
            ["--subset", "hard", "--subset", "easy"],
            "Error: Invalid value for '--subset': given 2 times (hard, easy); a selection takes one "
            "subset: build each subset on its own, or add --category/--tag/--difficulty/--rarity/--id "
            "options to narrow one",
        ),
    ],
)
@pytest.mark.parametrize("command", ["list", "check", "build"])
def test_unknown_selection_values_are_usage_errors_with_a_suggestion(
    command: str, args: list[str], error: str, bank: Path
):
    result = run(command, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == usage(command, error)
    assert not Path("build").exists()


def test_check_accepts_selection_options(bank: Path):
    result = run("check", "--difficulty", "hard", "--tag", "topic")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Test Bank: 2 questions in 2 categories, 2 code examples, 1 subset\n"
    empty = run("check", "--difficulty", "easy")
    assert empty.exit_code == 1
    assert empty.stderr.splitlines() == [
        "error: the selection (--difficulty easy) matches no question",
        "prepdeck: 1 error",
    ]


def test_malformed_categories_are_named_not_called_missing(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = BANK.replace('colour: "#1f5fa8"', "colour: blue").replace('colour: "#b5521b"', "colour: red")
    write_text_bank(tmp_path, {"bank.yaml": broken})
    result = run("check")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "content/bank.yaml:9: error: category 'alpha': 'colour' 'blue' is not a colour like \"#1f5fa8\"",
        "content/bank.yaml:12: error: category 'beta': 'colour' 'red' is not a colour like \"#1f5fa8\"",
        "content/questions/q1.yaml:3: error: question 'q1': unknown category 'alpha' "
        "(bank.yaml defines no valid category; fix its 'categories' first)",
        "content/questions/q2.yaml:3: error: question 'q2': unknown category 'beta' "
        "(bank.yaml defines no valid category; fix its 'categories' first)",
        "prepdeck: 4 errors in 3 files",
    ]


def test_a_question_file_should_be_named_after_its_id(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = write_text_bank(tmp_path)
    (root / "questions" / "q2.yaml").rename(root / "questions" / "second.yaml")
    result = run("check")
    assert result.exit_code == 0
    line = (
        "content/questions/second.yaml:1: {}: question 'q2': the file is named 'second.yaml' but the "
        "id is 'q2'; rename the file to 'q2.yaml' (never the id: Anki knows the note by it)"
    )
    assert result.stderr.splitlines() == [line.format("warning")]
    strict = run("check", "--strict")
    assert strict.exit_code == 1
    assert strict.stderr.splitlines() == [line.format("error"), "prepdeck: 1 error in 1 file"]


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_prepdeck_steps_and_no_library_debug(where: str, bank: Path, tmp_path: Path):
    args = ["-v", "check"] if where == "before" else ["check", "-v"]
    try:
        result = run(*args)
    finally:
        logging.getLogger("generator").setLevel(logging.WARNING)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines == ["DEBUG: generator.load: loaded 2 question files from content"]
    quiet = run("check")
    assert quiet.stderr == ""


def test_verbose_build_logs_only_prepdeck(bank: Path, tmp_path: Path):
    try:
        result = run("build", "--only", "cheatsheet", "--out", "out", "--verbose")
    finally:
        logging.getLogger("generator").setLevel(logging.WARNING)
    assert result.exit_code == 0, result.output
    # Log lines, not the build's hints (e.g. that HarfBuzz-Subset would make PDFs faster).
    lines = [line for line in result.stderr.splitlines() if not line.startswith("prepdeck: hint: ")]
    assert "INFO: generator.build: validated 2 questions from content" in lines
    assert "INFO: generator.build: wrote 2 files to out" in lines
    assert all(line.split(": ")[1].startswith("generator.") for line in lines), lines
