"""Loading: YAML becomes values that know their line, whichever parser reads it, within hard bounds."""

from __future__ import annotations

import functools
import os
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from malformed import CASES, Q1, write_text_bank

from generator import load
from generator.build import check
from generator.errors import GeneratorError, Problems
from generator.load import MAX_FILE_BYTES, Raw, load_file, parse_yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_YAML = [ROOT / "content" / "bank.yaml", *sorted((ROOT / "content" / "questions").rglob("*.yaml"))]

# Block scalars, flow and quoted forms, comments, non-ASCII text and numbers kept as written.
SAMPLE = (
    Q1
    + """\
follow_ups:
  - >-
    Folded text
    over two lines, naïve café.
  - |
    Literal text
      keeps its indent.
  - "Double \\"quoted\\" with an escape\\t"
  - 'Single ''quoted'''
pitfalls: [1.10, 007, yes, ~, 2024-01-31]  # a comment
"""
)


def requires_libyaml(test):
    """Skip a test of the libyaml parser where PyYAML lacks it; in CI (``CI`` set), fail it instead.

    CI must test the parser users get: PyYAML's wheels include libyaml, so a
    CI without it has installed something else.
    """
    if yaml.__with_libyaml__:
        return test
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):

        @functools.wraps(test)
        def fail(*args, **kwargs):
            pytest.fail("PyYAML was built without libyaml; CI must test the libyaml parser")

        return fail
    return pytest.mark.skip(reason="PyYAML was built without libyaml")(test)


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fails"), ("", "skips")])
def test_without_libyaml_its_tests_fail_in_ci_and_skip_elsewhere(ci: str, outcome: str, monkeypatch):
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    monkeypatch.setenv("CI", ci)

    def a_libyaml_test():
        pass

    guarded = requires_libyaml(a_libyaml_test)
    if outcome == "fails":
        with pytest.raises(pytest.fail.Exception, match="without libyaml"):
            guarded()
    else:
        assert [mark.name for mark in guarded.pytestmark] == ["skip"]


def parse(text: str, parser=None) -> tuple[Raw | None, list[str]]:
    """Parse ``text`` with a parser class (default: the loader's own); return the value and problems."""
    saved = load.Parser
    load.Parser = parser or saved
    try:
        problems = Problems()
        return parse_yaml(text, "f.yaml", problems), [str(p) for p in problems.items]
    finally:
        load.Parser = saved


def plain(raw: Raw):
    """Return the Python value a Raw tree stands for."""
    if isinstance(raw.value, dict):
        return {key: plain(value) for key, value in raw.value.items()}
    if isinstance(raw.value, list):
        return [plain(item) for item in raw.value]
    return raw.value


def load_bytes(tmp_path: Path, data: bytes, name: str = "q.yaml") -> tuple[Raw | None, list[str]]:
    path = tmp_path / name
    path.write_bytes(data)
    problems = Problems()
    loaded = load_file(path, tmp_path, problems)
    return (loaded.data if loaded else None), [str(p) for p in problems.items]


def test_values_keep_their_lines_and_source_text():
    raw, problems = parse(SAMPLE)
    assert problems == []
    assert raw.value["number"].value == 1 and raw.value["number"].location.line == 2
    assert raw.keys["examples"].line == 13
    assert raw.value["examples"].value[0].value["region"].location.line == 15
    assert plain(raw.value["follow_ups"]) == [
        "Folded text over two lines, naïve café.",
        "Literal text\n  keeps its indent.\n",
        'Double "quoted" with an escape\t',
        "Single 'quoted'",
    ]
    pitfalls = raw.value["pitfalls"].value
    assert [item.value for item in pitfalls] == [1.1, 7, True, None, "2024-01-31"]
    assert [item.text for item in pitfalls] == ["1.10", "007", "yes", "~", "2024-01-31"]


@pytest.mark.parametrize(
    ("prefix", "newline"),
    [(b"\xef\xbb\xbf", b"\n"), (b"", b"\r\n"), (b"\xef\xbb\xbf", b"\r\n")],
    ids=["bom", "crlf", "bom-crlf"],
)
def test_bom_and_crlf_files_load_like_plain_ones(prefix: bytes, newline: bytes, tmp_path: Path):
    expected, _ = load_bytes(tmp_path, SAMPLE.encode(), "plain.yaml")
    raw, problems = load_bytes(tmp_path, prefix + SAMPLE.encode().replace(b"\n", newline), "plain.yaml")
    assert problems == []
    assert raw == expected


def test_bom_does_not_shift_the_reported_bad_byte(tmp_path: Path):
    data = b"\xef\xbb\xbfid: q1\nanswer: caf\xe9\n"
    raw, problems = load_bytes(tmp_path, data)
    assert raw is None
    offset = data.index(0xE9)
    assert problems == [f"{tmp_path}/q.yaml:2: error: file is not valid UTF-8 (byte 0xe9 at offset {offset})"]


def test_file_over_the_size_limit_is_refused(tmp_path: Path):
    # How fast: scripts/bench.py ("1 MiB file refused").
    raw, problems = load_bytes(tmp_path, b"a: " + b"x" * MAX_FILE_BYTES)
    assert raw is None
    assert problems == [
        f"{tmp_path}/q.yaml:1: error: file is larger than 1024 KiB; split it into smaller files"
    ]


PARSERS = [pytest.param(load.Parser, id="default"), pytest.param(yaml.SafeLoader, id="pure-python")]

LIMITS = [
    pytest.param(
        "".join("  " * depth + "a:\n" for depth in range(100)) + "  " * 100 + "leaf\n",
        "f.yaml:17: error: nesting is deeper than 16 levels",
        id="deep-block-nesting",
    ),
    pytest.param(
        "items:\n" + "  - x\n" * 10_000, "f.yaml:2: error: list has more than 500 items", id="10000-item-list"
    ),
    pytest.param(
        "keys: {" + ", ".join(f"k{i}: {i}" for i in range(10_000)) + "}\n",
        "f.yaml:1: error: mapping has more than 500 keys",
        id="10000-key-mapping",
    ),
    pytest.param(
        "answer: " + "x" * 1_000_000 + "\n",
        "f.yaml:1: error: text is longer than 20,000 characters",
        id="1mb-string",
    ),
]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(("text", "expected"), LIMITS)
def test_oversized_structures_fail_with_one_clear_message(text: str, expected: str, parser):
    # How fast: scripts/bench.py ("oversized YAML refused").
    raw, problems = parse(text, parser)
    assert raw is None
    assert problems == [expected]


@pytest.mark.parametrize("parser", PARSERS)
def test_deep_flow_nesting_fails_with_one_message(parser):
    # libyaml stops at its own limit of 1,000 flow levels before we see level 17.
    raw, problems = parse("[" * 10_000 + "]" * 10_000, parser)
    assert raw is None
    assert len(problems) == 1
    assert problems[0].startswith("f.yaml:1: error: ") and "nesting" in problems[0]


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!int '12'\nb: !!str 12\nc: !!float '1'\n", {"a": 12, "b": "12", "c": 1.0}),
        ("a: 1\na: 2\nb: 3\n", {"a": 1, "b": 3}),  # a duplicate key is an error; the first value stands
    ],
)
def test_explicit_standard_tags_and_duplicate_keys(text: str, expected: dict, parser):
    raw, _ = parse(text, parser)
    assert plain(raw) == expected


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: !!bool maybe\n", "f.yaml:1: error: 'maybe' is not a valid boolean"),
        ("a: !!float one\n", "f.yaml:1: error: 'one' is not a valid number"),
        ("a: !!int ''\n", "f.yaml:1: error: '' is not a valid integer"),
        ("a: " + "9" * 5000 + "\n", f"f.yaml:1: error: '{'9' * 40}…' is not a valid integer"),
        (
            "a: !!binary aGk=\n",
            "f.yaml:1: error: YAML tag 'tag:yaml.org,2002:binary' is not allowed in content",
        ),
        ("a: !local x\n", "f.yaml:1: error: YAML tag '!local' is not allowed in content"),
        ("? [a]\n: b\n", "f.yaml:1: error: mapping keys must be plain text"),
        (
            "a: 1\nb: café \x1b[0m\n",
            "f.yaml:2: error: invalid YAML: character U+001B is not allowed; remove it",
        ),
    ],
)
def test_values_no_python_type_accepts_are_errors_not_tracebacks(text: str, expected: str, parser):
    raw, problems = parse(text, parser)
    assert raw is None
    assert problems == [expected]


def test_parsing_does_not_keep_values_alive():
    text = "numbers: [" + ", ".join(str(i) for i in range(400)) + "]\n"
    parse(text)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(20):
        parse(text)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 256 * 1024  # before the fix: 1.7 MB


@requires_libyaml
@pytest.mark.parametrize(
    "path", SHIPPED_YAML, ids=[str(p.relative_to(ROOT / "content")) for p in SHIPPED_YAML]
)
def test_libyaml_and_pure_python_agree_on_shipped_content(path: Path):
    text = path.read_text(encoding="utf-8")
    c_raw, c_problems = parse(text, yaml.CSafeLoader)
    py_raw, py_problems = parse(text, yaml.SafeLoader)
    assert c_problems == py_problems == []
    assert c_raw == py_raw


@requires_libyaml
@pytest.mark.parametrize(
    "text",
    [SAMPLE, SAMPLE.replace("\n", "\r\n"), "a: é\nb: [x\nc: 3\n", "a:\n  b: 1\n c: 2\n"],
    ids=["sample", "crlf", "syntax-after-unicode", "bad-indent"],
)
def test_libyaml_and_pure_python_agree_on_values_and_lines(text: str):
    c_raw, c_problems = parse(text, yaml.CSafeLoader)
    py_raw, py_problems = parse(text, yaml.SafeLoader)
    assert c_raw == py_raw
    # The two word syntax errors differently; the line is what an author acts on.
    assert [p.split(": error:")[0] for p in c_problems] == [p.split(": error:")[0] for p in py_problems]


@requires_libyaml
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_libyaml_and_pure_python_report_the_same_problems(case, tmp_path: Path, monkeypatch):
    for name, text in case.outside.items():
        (tmp_path / name).write_text(text)
    content = write_text_bank(tmp_path, case.changes)

    def problems_with(parser) -> list[str]:
        monkeypatch.setattr(load, "Parser", parser)
        with pytest.raises(GeneratorError) as caught:
            check(content)
        return [str(p) for p in caught.value.problems]

    assert problems_with(yaml.CSafeLoader) == problems_with(yaml.SafeLoader)


# safe_dump writes NEL, LS and PS unescaped, and a reader folds them as line breaks: PyYAML's
# round trip changes them whichever parser reads, so they are left out.
texts = st.text(st.characters(exclude_characters="\x85\u2028\u2029", exclude_categories=["Cs"]), max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
documents = st.dictionaries(
    texts.filter(bool),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts.filter(bool), inner, max_size=4),
        max_leaves=12,
    ),
    max_size=5,
)


@requires_libyaml
@settings(max_examples=100, deadline=None)
@given(data=documents, flow=st.sampled_from([None, True, False]))
def test_any_document_reads_back_the_same_with_both_parsers(data: dict, flow):
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow, sort_keys=False, width=40)
    c_raw, c_problems = parse(text, yaml.CSafeLoader)
    py_raw, py_problems = parse(text, yaml.SafeLoader)
    assert c_problems == py_problems == []
    assert c_raw == py_raw
    assert plain(c_raw) == data


TOKENS = [
    *"!&*[]{}:-?,#|>'\"%@` \n\t\r0123456789abex.~_\\",
    "!!int ",
    "!!bool ",
    "!!float ",
    "!!str ",
    "!!python/name:os.system ",
    "&a ",
    "*a",
    "---\n",
    "...\n",
    "é",
    "\x85",
    "\ufeff",
    "\x07",
    "\U0001f600",
]
yaml_ish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=yaml_ish, pure=st.booleans())
def test_any_text_gives_values_or_one_line_problems_never_an_exception(text: str, pure: bool):
    _, problems = parse(text, yaml.SafeLoader if pure else None)
    assert all(p.startswith("f.yaml:") and "\n" not in p for p in problems)
