"""The command line as a user meets it: exact output, exit codes, help and version."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from malformed import Q1, edit, write_text_bank

from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SHIPPED_SUBSETS = yaml.safe_load((CONTENT / "bank.yaml").read_text(encoding="utf-8"))["subsets"]
HARD_IDS = [  # questions 1, 3, 6, 8, 9, 10, 11 and 12, in number order
    "distributed-training",
    "inference-latency",
    "feature-store",
    "kubernetes-deployment",
    "model-drift",
    "ab-testing",
    "recommendation-system",
    "serving-at-scale",
]


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="prepdeck")


@pytest.fixture
def bank(tmp_path: Path, monkeypatch) -> Path:
    """Write the small test bank and work from the directory that holds it."""
    monkeypatch.chdir(tmp_path)
    return write_text_bank(tmp_path)


# The shipped bank.


def test_check_passes_the_shipped_bank_with_a_one_line_summary():
    result = run("check", "--content", str(CONTENT))
    assert result.exit_code == 0, result.output
    [summary] = result.stdout.splitlines()
    assert summary.startswith("Senior ML Engineer Interview: 13 questions in 3 categories, ")


@pytest.mark.parametrize(
    ("args", "pdf_engine"),
    [
        (["--help"], False),
        (["check", "--content", str(CONTENT)], False),
        (["build", "--content", str(CONTENT), "--id", "ab-testing", "--only", "anki"], False),
        (["build", "--content", str(CONTENT), "--id", "ab-testing", "--only", "cheatsheet"], True),
    ],
    ids=["help", "check", "deck", "cheatsheet"],
)
def test_only_commands_that_make_pdfs_load_the_pdf_engine(args, pdf_engine, tmp_path):
    """WeasyPrint takes about half a second to load: help, checks and decks start without it."""
    out = ["--out", str(tmp_path / "build"), "--no-cache"] if args[0] == "build" else []
    code = textwrap.dedent(f"""\
        import sys
        from generator.cli import main
        try:
            main({[*args, *out]!r}, prog_name="prepdeck")
        except SystemExit as stop:
            assert not stop.code, stop.code
        print("weasyprint" in sys.modules, file=sys.stderr)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stderr.splitlines()[-1] == str(pdf_engine), done.stderr


def test_list_prints_the_ids_of_the_hard_shipped_questions():
    result = run("list", "--content", str(CONTENT), "--difficulty", "hard", "--format", "ids")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == HARD_IDS


def meets(row: dict, criteria: dict) -> bool:
    """Return True when a ``list --format json`` row meets a subset's criteria from bank.yaml."""
    criteria = {name: value if isinstance(value, list) else [value] for name, value in criteria.items()}
    checks = {
        "category": lambda wanted: row["category"] in wanted,
        "difficulty": lambda wanted: row["difficulty"] in wanted,
        "rarity": lambda wanted: row["rarity"] in wanted,
        "id": lambda wanted: row["id"] in wanted,
        "tag": lambda wanted: any(t == w or t.startswith(w + "::") for t in row["tags"] for w in wanted),
    }
    return all(check(criteria[name]) for name, check in checks.items() if name in criteria)


@pytest.mark.parametrize("subset", SHIPPED_SUBSETS, ids=[s["name"] for s in SHIPPED_SUBSETS])
def test_list_shows_exactly_the_questions_of_each_shipped_subset(subset: dict):
    everything = json.loads(run("list", "--content", str(CONTENT), "--format", "json").stdout)
    result = run("list", "--content", str(CONTENT), "--subset", subset["name"], "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows
    assert rows == [row for row in everything if meets(row, subset)]


# Listing, on a bank written for the test.


def test_list_prints_a_table_with_a_header_and_a_count(bank: Path):
    result = run("list")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "#  id  category  difficulty  rarity  tags\n"
        "1  q1  alpha     medium      common  topic topic::sub\n"
        "2  q2  beta      hard        common  topic topic::sub\n"
        "2 of 2 questions\n"
    )


def test_list_json_is_one_object_per_question(bank: Path):
    result = run("list", "--format", "json", "--tag", "topic::sub", "--rarity", "common")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "id": "q1",
            "number": 1,
            "category": "alpha",
            "difficulty": "medium",
            "rarity": "common",
            "tags": ["topic", "topic::sub"],
        },
        {
            "id": "q2",
            "number": 2,
            "category": "beta",
            "difficulty": "hard",
            "rarity": "common",
            "tags": ["topic", "topic::sub"],
        },
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--subset", "hard"], ["q2"]),
        (["--subset", "hard", "--tag", "topic"], ["q2"]),
        (["--category", "alpha", "--category", "beta", "--difficulty", "medium"], ["q1"]),
    ],
)
def test_list_options_narrow_and_repeats_widen(args: list[str], expected: list[str], bank: Path):
    result = run("list", "--format", "ids", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--category", "alpha", "--difficulty", "hard"],
            "error: the selection (--category alpha --difficulty hard) matches no question",
        ),
        (
            ["--subset", "hard", "--category", "alpha"],
            "error: the selection (--subset hard --category alpha) matches no question",
        ),
    ],
)
def test_list_explains_a_selection_it_cannot_make(args: list[str], message: str, bank: Path):
    result = run("list", *args)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [message, "prepdeck: 1 error"]


# Warnings, --strict, and content that does not load.

WARNED = {"questions/q1.yaml": edit(Q1.split("examples:")[0], "Summary 1.", "S" * 150)}
WARNINGS = [
    "content/questions/q1.yaml:5: warning: question 'q1': 'summary' is 150 characters; "
    "the cheat sheet prints one line, keep it under 140",
    "content/questions/q1.yaml:1: warning: question 'q1': no code example; add one under 'examples'",
]


def test_warnings_are_printed_and_do_not_fail_the_check(tmp_path: Path, monkeypatch):
    write_text_bank(tmp_path, WARNED)
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == WARNINGS
    assert result.stdout == ("Test Bank: 2 questions in 2 categories, 1 code example, 1 subset, 2 warnings\n")


def test_strict_makes_warnings_fatal(tmp_path: Path, monkeypatch):
    write_text_bank(tmp_path, WARNED)
    monkeypatch.chdir(tmp_path)
    result = run("check", "--strict")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        *sorted(line.replace(": warning: ", ": error: ") for line in WARNINGS),
        "prepdeck: 2 errors in 1 file",
    ]


@pytest.mark.parametrize("command", [["list"], ["build", "--out", "out"]])
def test_commands_stop_on_bad_content_before_writing_anything(
    command: list[str], tmp_path: Path, monkeypatch
):
    write_text_bank(tmp_path, {"questions/q1.yaml": edit(Q1, "number: 1", "number: 0")})
    monkeypatch.chdir(tmp_path)
    result = run(*command)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        "content/questions/q1.yaml:2: error: question 'q1': 'number' must be a positive whole number, "
        "found integer '0'",
        "prepdeck: 1 error in 1 file",
    ]
    assert not (tmp_path / "out").exists()


# Help and version.

COMMANDS = [[], *([name] for name in main.commands)]


@pytest.mark.parametrize("command", COMMANDS, ids=["prepdeck", *main.commands])
def test_every_command_has_help_with_an_example(command: list[str]):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert result.stdout.startswith(" ".join(["Usage: prepdeck", *command]) + " [OPTIONS]")


def test_help_is_checked_for_the_documented_commands():
    assert isinstance(main, click.Group)
    assert {"build", "check", "list"} <= set(main.commands)


def test_version_comes_from_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'(?ms)^\[project\]$.*?^version = "([^"]+)"$', pyproject).group(1)
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"prepdeck, version {version}\n"


@pytest.mark.parametrize("module", ["generator", "generator.cli"])
def test_python_dash_m_runs_the_command_line(module: str):
    # For an environment without the ``prepdeck`` script, e.g. a bare checkout on PYTHONPATH.
    result = subprocess.run(
        [sys.executable, "-m", module, "check", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: prepdeck check [OPTIONS]")


def test_a_build_reports_progress_to_a_callback_and_only_a_summary_to_logs(bank: Path, tmp_path: Path):
    from generator.build import BuildRequest, build

    messages: list[str] = []
    build(BuildRequest(content=bank, out=tmp_path / "progress", epoch=1_700_000_000, jobs=1), messages.append)
    first = re.match(r"validated (\d+) questions in [\d.]+ s; rendering (\d+) files$", messages[0])
    assert first, messages[0]
    total = int(first.group(2))
    assert [m.split(" (")[0] for m in messages[1:]] == [f"{n}/{total} files" for n in range(1, total + 1)]
    assert messages[-1].startswith(f"{total}/{total} files ({total} rendered, 0 reused): ")

    # Not a terminal (a CI log): no progress lines, one summary with files, sizes, time and the cache.
    result = run("build", "--content", str(bank), "--out", str(tmp_path / "log"))
    assert result.exit_code == 0
    assert not re.search(r"\d+/\d+ files", result.output + result.stderr)
    summary = rf"^built {total} files \(\d+\.\d KB\) in \d+\.\d s, {total} rendered, 0 reused \["
    assert re.search(summary, result.output, flags=re.M)

    # Again, unchanged: every output comes from the cache, and the progress says so.
    messages.clear()
    build(BuildRequest(content=bank, out=tmp_path / "progress", epoch=1_700_000_000, jobs=1), messages.append)
    assert messages[-1].startswith(f"{total}/{total} files (0 rendered, {total} reused): ")


def test_every_card_size_and_paper_the_cli_offers_has_its_geometry():
    from generator.model import CardSize, Paper
    from generator.render.flashcards import CARD_FORMATS
    from generator.render.pdf import PAPER_MM

    build_options = {param.name: param for param in main.commands["build"].params}
    assert list(build_options["card_size"].type.choices) == [size.value for size in CARD_FORMATS]
    assert list(CARD_FORMATS) == list(CardSize)
    assert list(build_options["paper"].type.choices) == [paper.value for paper in PAPER_MM]
    assert list(PAPER_MM) == list(Paper)


# What a build prints.

#: Runs the CLI as on a machine without HarfBuzz-Subset, where WeasyPrint warns once per font per PDF.
WITHOUT_HARFBUZZ_SUBSET = (
    "import sys, weasyprint.pdf.fonts; weasyprint.pdf.fonts.harfbuzz_subset = None; "
    "from generator.cli import main; main(sys.argv[1:], prog_name='prepdeck')"
)


@pytest.mark.slow
@pytest.mark.parametrize("verbose", [False, True], ids=["default", "verbose"])
def test_a_build_prints_its_files_its_summary_and_one_hint_but_no_library_logs(verbose: bool, tmp_path: Path):
    content = write_text_bank(tmp_path)
    out = tmp_path / "out"
    args = [*(["-v"] if verbose else []), "build", "--content", str(content), "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_HARFBUZZ_SUBSET, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    *files, summary = result.stdout.splitlines()
    assert summary.startswith(f"built {len(files)} files") and len(files) >= 6  # two targets' decks and PDFs
    hint = (
        "prepdeck: hint: PDFs build faster with the HarfBuzz-Subset library: install libharfbuzz-subset0 "
        "(Debian, Ubuntu) or harfbuzz (Homebrew); the files stay reproducible without it"
    )
    lines = result.stderr.splitlines()
    assert lines.count(hint) == 1
    if verbose:  # prepdeck's own steps, and still nothing from its libraries
        assert any(line.startswith("DEBUG: generator.") for line in lines)
        assert all(line.split(": ")[1].startswith("generator.") for line in lines if line != hint), lines
    else:
        assert lines == [hint]


def test_calibrate_writes_only_the_calibration_sheet_and_says_what_to_do(bank: Path, tmp_path: Path):
    result = run("build", "--calibrate", "--out", "out", "--paper", "letter", "--duplex", "short")
    assert result.exit_code == 0, result.output
    # Only the sheet: no deck or sheet of the bank is built.
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == [
        "flashcards-calibration.pdf"
    ]
    assert "--back-offset X,Y" in result.output
    refused = run("build", "--calibrate", "--out", "out", "--duplex", "none")
    assert refused.exit_code == 1
    assert "error: a calibration page needs a duplex printer" in refused.output


def test_check_warns_about_code_lines_wider_than_the_banks_width(content_copy: Path, monkeypatch):
    monkeypatch.chdir(content_copy.parent)
    assert run("check", "--strict").exit_code == 0  # the shipped examples fit the bank's code_width

    def widen(file: str, region: str, lengths: list[int]) -> int:
        """Add comment lines of ``lengths`` characters at the top of a region; return the longest's line."""
        path = content_copy / "examples" / file
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        start = next(i for i, line in enumerate(lines) if line.strip() == f"# region {region}")
        comments = [f"# {'w' * (n - 2)}\n" for n in lengths]
        lines[start + 1 : start + 1] = comments
        path.write_text("".join(lines), encoding="utf-8")
        return start + 2 + lengths.index(max(lengths))

    drift = widen("drift_detection.py", "drift-checks", [90])
    batcher = widen("inference_latency.py", "micro-batcher", [80, 85])
    result = run("check")  # warnings only
    assert result.exit_code == 0
    assert sorted(result.stderr.splitlines()) == [
        f"content/examples/drift_detection.py:{drift}: warning: example region 'drift-checks': 1 shown "
        "line longer than 72 characters (longest 90); they wrap on a phone",
        f"content/examples/inference_latency.py:{batcher}: warning: example region 'micro-batcher': 2 shown "
        "lines longer than 72 characters (longest 85); they wrap on a phone",
    ]  # one per region, at its longest line
    strict = run("check", "--strict")  # the bank's width, 72, as an error
    assert strict.exit_code == 1
    assert strict.stderr.splitlines()[-1] == "prepdeck: 2 errors in 2 files"
    wider = run("check", "--strict", "--code-width", "88")  # the option overrides the bank's width
    assert wider.exit_code == 1
    assert wider.stderr.splitlines() == [
        f"content/examples/drift_detection.py:{drift}: error: example region 'drift-checks': 1 shown "
        "line longer than 88 characters (longest 90); they wrap on a phone",
        "prepdeck: 1 error in 1 file",
    ]
    bank = content_copy / "bank.yaml"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(re.sub(r"(?m)^code_width: \d+$", "code_width: 90", text), encoding="utf-8")
    assert run("check", "--strict").exit_code == 0


@pytest.mark.parametrize(
    ("sheet", "problem"),
    [
        ("2-3", None),
        ("missing-region", "example file 'examples/feature_store.py' has no region 'missing-region'"),
        ("5-400", "sheet lines '5-400' are not within the region's"),
    ],
)
def test_an_example_marks_what_the_cheat_sheet_shows(content_copy: Path, monkeypatch, sheet, problem):
    monkeypatch.chdir(content_copy.parent)
    question = content_copy / "questions" / "mlops" / "feature-store.yaml"
    text = question.read_text(encoding="utf-8")
    marked = text.replace(
        "    region: point-in-time-join\n", f"    region: point-in-time-join\n    sheet: {sheet}\n"
    )
    question.write_text(marked, encoding="utf-8")
    result = run("check")
    if problem is None:
        assert result.exit_code == 0, result.output
        from generator.build import check as check_bank

        (example,) = next(
            q for q in check_bank(content_copy).bank.questions if q.id == "feature-store"
        ).examples
        lines = "\n".join(example.code.splitlines()[1:3])
        assert example.sheet_code == textwrap.dedent(lines) + "\n"
    else:
        assert result.exit_code == 1
        assert problem in result.stderr and "feature-store.yaml:" in result.stderr
