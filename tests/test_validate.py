"""Validation: every problem in a bank is reported once, compiler-style, and a good bank loads whole."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from malformed import BILLION_LAUGHS, CASES, EXAMPLE, Q1, Case, edit, question, write_text_bank

from generator.build import check
from generator.cli import main
from generator.errors import GeneratorError
from generator.model import Difficulty, FollowUp, Location, Rarity


def run_check(*args: str):
    return CliRunner().invoke(main, ["check", *args])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_malformed_bank_is_reported_with_file_and_line(case: Case, tmp_path: Path, monkeypatch):
    for name, text in case.outside.items():
        (tmp_path / name).write_text(text)
    write_text_bank(tmp_path, case.changes)
    monkeypatch.chdir(tmp_path)

    result = run_check()

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [*case.errors, case.summary]


def test_corpus_has_one_case_per_problem_and_one_with_several():
    assert len({case.name for case in CASES}) == len(CASES) >= 20
    assert any(len(case.errors) >= 3 and "files" in case.summary for case in CASES)


def test_alias_bomb_fails_in_bounded_memory(tmp_path: Path):
    # Nine levels of nine aliases: expanded, this is 9**9 (387 million) strings.
    content = write_text_bank(tmp_path, {"questions/q1.yaml": BILLION_LAUGHS})
    tracemalloc.start()
    with pytest.raises(GeneratorError) as caught:
        check(content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [p.message for p in caught.value.problems] == ["YAML anchors (&name) are not allowed in content"]
    assert peak < 5 * 1024 * 1024  # expanded, it would take gigabytes; how fast: scripts/bench.py


def test_content_outside_the_working_directory_keeps_its_full_path(tmp_path: Path, monkeypatch):
    content = write_text_bank(tmp_path / "bank", {"questions/q1.yaml": edit(Q1, "number: 1", "number: 0")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    result = run_check("--content", str(content))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{content}/questions/q1.yaml:2: error: question 'q1': "
        "'number' must be a positive whole number, found integer '0'"
    )


# Numbered out of file order, with a repeated tag, a key point group with an
# explicit key and cloze, and a second example in a YAML file.
Q7 = (
    question(7, tags="[topic, topic::sub, topic]").replace(
        "    items: [first, second]\n",
        """\
    items: [first, second]
  - title: Trade-offs
    key: costs
    cloze: true
    items: [one]
""",
    )
    + """\
  - file: examples/deploy.yaml
    region: deployment
    title: Deploy
"""
)
DEPLOY = """\
kind: Deployment
# region deployment
  replicas: 2
  image: demo
# endregion
"""


FOLLOW_UPS = """\
follow_ups:
  - What does SyncBatchNorm change?
  - question: Why not `eval()` mode?
    answer: >-
      Running statistics are stale
      early in training.
"""


def test_valid_bank_becomes_the_values_its_files_give(tmp_path: Path):
    content = write_text_bank(
        tmp_path, {"questions/q1.yaml": Q7 + FOLLOW_UPS, "examples/deploy.yaml": DEPLOY}
    )

    bank = check(content).bank

    assert (bank.id, bank.slug, bank.title, bank.version) == ("test-bank", "test", "Test Bank", "1.10")
    assert [c.slug for c in bank.categories] == ["alpha", "beta"]
    assert [s.name for s in bank.subsets] == ["hard"]
    assert bank.subset("hard").selection.difficulties == {Difficulty.HARD}
    assert [q.id for q in bank.questions] == ["q2", "q7"]
    q7 = bank.questions[1]
    assert q7.number == 7
    assert q7.tags == ("topic", "topic::sub")
    assert q7.rarity is Rarity.COMMON and q7.difficulty is Difficulty.MEDIUM
    assert [(g.key, g.title, g.items, g.cloze) for g in q7.key_points] == [
        ("points", "Points", ("first", "second"), False),
        ("costs", "Trade-offs", ("one",), True),
    ]
    main_region, deploy = q7.examples
    assert (main_region.code, main_region.start_line, main_region.language, main_region.title) == (
        "def answer():\n    return 42\n",
        EXAMPLE.splitlines().index("# region main") + 2,
        "python",
        "main",
    )
    assert (deploy.code, deploy.start_line, deploy.language, deploy.title) == (
        "replicas: 2\nimage: demo\n",
        3,
        "yaml",
        "Deploy",
    )
    assert q7.follow_ups == (
        FollowUp("What does SyncBatchNorm change?"),
        FollowUp("Why not `eval()` mode?", "Running statistics are stale early in training."),
    )
    assert q7.location == Location(f"{content}/questions/q1.yaml", 1)


def test_problems_in_every_file_are_reported_in_one_run(tmp_path: Path):
    broken = {f"questions/q{n}.yaml": edit(question(n), "rarity: common", "rarity: often") for n in (1, 2, 3)}
    content = write_text_bank(tmp_path, broken)
    with pytest.raises(GeneratorError) as caught:
        check(content)
    assert [(Path(p.location.path).name, p.location.line) for p in caught.value.problems] == [
        ("q1.yaml", 10),
        ("q2.yaml", 10),
        ("q3.yaml", 10),
    ]
    assert caught.value.summary() == "3 errors in 3 files"


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        ("# region main\nx = 1\n", "content/examples/demo.py:1: error: region 'main' has no '# endregion'"),
        (
            "# region main\n# region inner\nx = 1\n# endregion\n",
            "content/examples/demo.py:2: error: region 'inner' starts inside region 'main'; "
            "regions do not nest",
        ),
        (
            "# region main\nx = 1\n# endregion\n# region main\nx = 2\n# endregion\n",
            "content/examples/demo.py:4: error: region 'main' is defined twice",
        ),
    ],
)
def test_broken_regions_in_an_example_file_point_at_the_example(example, expected, tmp_path, monkeypatch):
    write_text_bank(tmp_path, {"examples/demo.py": example})
    monkeypatch.chdir(tmp_path)
    result = run_check()
    assert result.exit_code == 1
    assert expected in result.stderr.splitlines()


@pytest.mark.parametrize("name", ["notes.txt", ".draft.yaml", "q3.yml"])
def test_only_visible_yaml_files_are_questions(name: str, tmp_path: Path):
    content = write_text_bank(tmp_path, {f"questions/{name}": question(3)})
    ids = [q.id for q in check(content).bank.questions]
    assert ids == (["q1", "q2", "q3"] if name.endswith(".yml") and not name.startswith(".") else ["q1", "q2"])
