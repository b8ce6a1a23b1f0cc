"""A small valid bank written into ``tmp_path``, and a corpus of ways to break it.

``write_text_bank`` writes ``content/`` with two categories, two questions and one
example file; a mapping of changes replaces, adds or removes files. Each
``Case`` in ``CASES`` breaks the bank in one way (the last ones in several)
and gives the exact lines ``prepdeck check`` must print for it, with paths
relative to the directory that holds ``content/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bank_support
from bank_support import FileChange, Link

from generator.load import MAX_FILE_BYTES

BANK = """\
id: test-bank
slug: test
title: Test Bank
version: "1.10"
description: A bank for tests.
categories:
  - slug: alpha
    title: Alpha
    colour: "#1f5fa8"
  - slug: beta
    title: Beta
    colour: "#b5521b"
subsets:
  - name: hard
    description: The hard ones.
    difficulty: [hard]
"""

EXAMPLE = '''\
"""A companion example for the test bank."""


# region main
def answer():
    return 42
# endregion
'''


def question(
    number: int,
    *,
    category: str = "alpha",
    difficulty: str = "medium",
    rarity: str = "common",
    tags: str = "[topic, topic::sub]",
) -> str:
    """Return a valid question file; every field sits on a fixed line (id on 1, region on 15)."""
    return f"""\
id: q{number}
number: {number}
category: {category}
question: What is question {number}?
summary: Summary {number}.
answer: Answer {number} with `code`.
key_points:
  - title: Points
    items: [first, second]
rarity: {rarity}
difficulty: {difficulty}
tags: {tags}
examples:
  - file: examples/demo.py
    region: main
"""


Q1 = question(1)
Q2 = question(2, category="beta", difficulty="hard")


def write_text_bank(root: Path, changes: Mapping[str, FileChange] | None = None) -> Path:
    """Write the test bank as these fixed texts into ``root/content`` and return that directory.

    ``changes`` maps a path inside ``content/`` to new text or bytes, a ``Link``,
    or None to leave the file out. Every value sits on a known line, for exact
    ``path:line`` messages.
    """
    files: dict[str, FileChange] = {
        "bank.yaml": BANK,
        "questions/q1.yaml": Q1,
        "questions/q2.yaml": Q2,
        "examples/demo.py": EXAMPLE,
    }
    return bank_support.write_bank(root, questions=[], files={**files, **(changes or {})})


def edit(text: str, old: str, new: str) -> str:
    """Return ``text`` with ``old`` replaced by ``new``; ``old`` must occur exactly once."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


@dataclass(frozen=True, slots=True)
class Case:
    """One malformed bank: the changes to the valid one and the error lines ``check`` prints."""

    name: str
    changes: Mapping[str, FileChange]
    errors: tuple[str, ...]
    summary: str = "prepdeck: 1 error in 1 file"
    outside: Mapping[str, str] = field(default_factory=dict)  # files next to content/, for links


Q1_PATH = "content/questions/q1.yaml"
BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
LATIN1_ANSWER = edit(Q1, "Answer 1", "Réponse 1").encode("latin-1")

CASES = [
    Case(
        "yaml-syntax-error",
        {"questions/q1.yaml": edit(Q1, "answer: Answer 1", 'answer: "Answer 1')},
        # libyaml reports where it gave up looking for the closing quote: the end of the file.
        (
            f"{Q1_PATH}:16: error: invalid YAML: while scanning a quoted scalar "
            "found unexpected end of stream",
        ),
    ),
    Case(
        "duplicate-key",
        {"questions/q1.yaml": Q1 + "rarity: rare\n"},
        (f"{Q1_PATH}:16: error: duplicate key 'rarity' (first given on line 10)",),
    ),
    Case(
        "unknown-field",
        {"questions/q1.yaml": Q1 + "pitfall: Forgetting it.\n"},
        (f"{Q1_PATH}:16: error: question 'q1': unknown field 'pitfall'; did you mean 'pitfalls'?",),
    ),
    Case(
        "missing-field",
        {"questions/q1.yaml": edit(Q1, "answer: Answer 1 with `code`.\n", "")},
        (f"{Q1_PATH}:1: error: question 'q1': missing field 'answer'",),
    ),
    Case(
        "number-as-text",
        {"questions/q1.yaml": edit(Q1, "number: 1", "number: one")},
        (f"{Q1_PATH}:2: error: question 'q1': 'number' must be a positive whole number, found string 'one'",),
    ),
    Case(
        "explicit-tag-bad-integer",
        {"questions/q1.yaml": edit(Q1, "number: 1", "number: !!int one")},
        (f"{Q1_PATH}:2: error: 'one' is not a valid integer",),
    ),
    Case(
        "list-as-text",
        {"questions/q1.yaml": edit(Q1, "question: What is question 1?", "question: [What, is, this]")},
        (f"{Q1_PATH}:4: error: question 'q1': 'question' must be text, found sequence",),
    ),
    Case(
        "mapping-expected",
        {
            "questions/q1.yaml": edit(
                Q1, "  - title: Points\n    items: [first, second]", "  - Points are first and second"
            )
        },
        (f"{Q1_PATH}:8: error: question 'q1': expected a mapping, found string",),
    ),
    Case(
        "file-not-a-mapping",
        {"questions/q1.yaml": "- id: q1\n- number: 1\n"},
        (f"{Q1_PATH}:1: error: question: expected a mapping, found sequence",),
    ),
    Case(
        "unknown-difficulty",
        {"questions/q1.yaml": edit(Q1, "difficulty: medium", "difficulty: meduim")},
        (
            f"{Q1_PATH}:11: error: question 'q1': unknown difficulty 'meduim'; did you mean 'medium'? "
            "(expected one of easy, medium, hard)",
        ),
    ),
    Case(
        "unknown-rarity",
        {"questions/q1.yaml": edit(Q1, "rarity: common", "rarity: very common")},
        (
            f"{Q1_PATH}:10: error: question 'q1': unknown rarity 'very common'; did you mean 'very-common'? "
            "(expected one of rare, medium, common, very-common)",
        ),
    ),
    Case(
        "duplicate-id",
        {"questions/q2.yaml": edit(Q2, "id: q2", "id: q1")},
        (
            "content/questions/q2.yaml:1: error: question 'q1': duplicate id "
            "(first defined at content/questions/q1.yaml:1)",
        ),
    ),
    Case(
        "duplicate-number",
        {"questions/q2.yaml": edit(Q2, "number: 2", "number: 1")},
        (
            "content/questions/q2.yaml:1: error: question 'q2': number 1 is already used by question 'q1' "
            "(content/questions/q1.yaml:1)",
        ),
    ),
    Case(
        "unknown-category",
        {"questions/q1.yaml": edit(Q1, "category: alpha", "category: alfa")},
        (
            f"{Q1_PATH}:3: error: question 'q1': unknown category 'alfa'; did you mean 'alpha'? "
            "(expected one of alpha, beta)",
        ),
    ),
    Case(
        "line-break-in-id",
        {"questions/q1.yaml": edit(Q1, "id: q1", 'id: "q\\n1"')},
        (
            f"{Q1_PATH}:1: error: question 'q\\n1': 'id' 'q\\n1' is not a slug "
            "(lowercase letters, digits, hyphens)",
        ),
    ),
    Case(
        "tag-with-space",
        {"questions/q1.yaml": edit(Q1, "[topic, topic::sub]", "[topic, 'topic sub']")},
        (
            f"{Q1_PATH}:12: error: question 'q1': tag 'topic sub' is not a tag "
            "(lowercase slugs joined by '::')",
        ),
    ),
    Case(
        "tag-uppercase",
        {"questions/q1.yaml": edit(Q1, "[topic, topic::sub]", "[topic, Topic::Sub]")},
        (
            f"{Q1_PATH}:12: error: question 'q1': tag 'Topic::Sub' is not a tag "
            "(lowercase slugs joined by '::')",
        ),
    ),
    Case(
        "tag-reserved-root",
        {"questions/q1.yaml": edit(Q1, "[topic, topic::sub]", "[topic, difficulty::hard]")},
        (
            f"{Q1_PATH}:12: error: question 'q1': tag 'difficulty::hard' uses a reserved root; "
            "the deck adds category::, difficulty::, rarity::, card:: tags itself",
        ),
    ),
    Case(
        "no-questions",
        {"questions/q1.yaml": None, "questions/q2.yaml": None},
        ("content/bank.yaml:1: error: the bank has no questions: add YAML files under content/questions",),
    ),
    Case(
        "no-bank-file",
        {"bank.yaml": None},
        (
            "error: no bank.yaml in 'content': pass --content with the folder that holds bank.yaml, "
            "or start a bank with 'prepdeck init content'",
        ),
        summary="prepdeck: 1 error",
    ),
    Case("empty-file", {"questions/q1.yaml": "# nothing yet\n"}, (f"{Q1_PATH}:1: error: file is empty",)),
    Case(
        "not-utf8",
        {"questions/q1.yaml": LATIN1_ANSWER},
        (f"{Q1_PATH}:6: error: file is not valid UTF-8 (byte 0xe9 at offset {LATIN1_ANSWER.index(0xE9)})",),
    ),
    Case(
        "control-character",
        {"questions/q1.yaml": edit(Q1, "Answer 1", "Answer\x071")},
        (f"{Q1_PATH}:6: error: invalid YAML: character U+0007 is not allowed; remove it",),
    ),
    Case(
        "file-too-large",
        {"questions/q1.yaml": Q1 + "# " + "x" * MAX_FILE_BYTES + "\n"},
        (f"{Q1_PATH}:1: error: file is larger than 1024 KiB; split it into smaller files",),
    ),
    Case(
        "alias-bomb",
        {"questions/q1.yaml": BILLION_LAUGHS},
        (f"{Q1_PATH}:1: error: YAML anchors (&name) are not allowed in content",),
    ),
    Case(
        "alias",
        {"questions/q2.yaml": edit(Q2, "rarity: common", "rarity: *common")},
        ("content/questions/q2.yaml:10: error: YAML aliases (*name) are not allowed in content",),
    ),
    Case(
        "python-object-tag",
        {
            "questions/q1.yaml": edit(
                Q1, "answer: Answer 1 with `code`.", "answer: !!python/object/apply:os.system [echo]"
            )
        },
        (
            f"{Q1_PATH}:6: error: YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' "
            "is not allowed in content",
        ),
    ),
    Case(
        "multiple-documents",
        {"questions/q1.yaml": Q1 + "---\nid: q3\n"},
        (f"{Q1_PATH}:16: error: expected one YAML document, found several",),
    ),
    Case(
        "example-file-missing",
        {"questions/q1.yaml": edit(Q1, "examples/demo.py", "examples/dmeo.py")},
        (f"{Q1_PATH}:14: error: question 'q1': example file 'examples/dmeo.py' does not exist",),
    ),
    Case(
        "example-region-missing",
        {"questions/q1.yaml": edit(Q1, "region: main", "region: mian")},
        (
            f"{Q1_PATH}:14: error: question 'q1': example file 'examples/demo.py' has no region 'mian'; "
            "did you mean 'main'? (regions: main)",
        ),
    ),
    Case(
        "example-path-dotdot",
        {"questions/q1.yaml": edit(Q1, "file: examples/demo.py", "file: examples/../../secret.py")},
        (
            f"{Q1_PATH}:14: error: question 'q1': example file 'examples/../../secret.py' "
            "must be a relative path inside the content directory",
        ),
    ),
    Case(
        "example-path-absolute",
        {"questions/q1.yaml": edit(Q1, "file: examples/demo.py", "file: /etc/passwd")},
        (
            f"{Q1_PATH}:14: error: question 'q1': example file '/etc/passwd' "
            "must be a relative path inside the content directory",
        ),
    ),
    Case(
        "question-symlink-outside",
        {"questions/q3.yaml": Link("outside.yaml")},
        ("content/questions/q3.yaml:1: error: file links outside the content directory",),
        outside={"outside.yaml": question(3)},
    ),
    Case(
        "subset-unknown-category",
        {"bank.yaml": edit(BANK, "difficulty: [hard]", "category: [alpah]")},
        ("content/bank.yaml:16: error: subset 'hard': unknown category 'alpah'; did you mean 'alpha'?",),
    ),
    Case(
        "subset-matches-nothing",
        {"bank.yaml": edit(BANK, "difficulty: [hard]", "difficulty: [easy]")},
        ("content/bank.yaml:14: error: subset 'hard': matches no question",),
    ),
    Case(
        "key-point-group-empty",
        {"questions/q1.yaml": edit(Q1, "items: [first, second]", "items: []")},
        (f"{Q1_PATH}:9: error: question 'q1': key point group 'Points' has no items",),
    ),
    Case(
        "empty-string",
        {"questions/q1.yaml": edit(Q1, "answer: Answer 1 with `code`.", 'answer: "  "')},
        (f"{Q1_PATH}:6: error: question 'q1': 'answer' must not be empty",),
    ),
    Case(
        "follow-up-without-answer",
        {"questions/q1.yaml": Q1 + "follow_ups:\n  - question: Why?\n"},
        (f"{Q1_PATH}:17: error: question 'q1', follow-up 1: missing field 'answer'",),
    ),
    Case(
        "follow-up-misspelled-field",
        {
            "questions/q1.yaml": Q1
            + "follow_ups:\n  - Why?\n  - question: How?\n    answr: Thus.\n    answer: So.\n"
        },
        (f"{Q1_PATH}:19: error: question 'q1', follow-up 2: unknown field 'answr'; did you mean 'answer'?",),
    ),
    Case(
        "follow-up-answer-as-list",
        {"questions/q1.yaml": Q1 + "follow_ups:\n  - question: Why?\n    answer: [a, b]\n"},
        (f"{Q1_PATH}:18: error: question 'q1', follow-up 1: 'answer' must be text, found sequence",),
    ),
    Case(
        "follow-up-as-list",
        {"questions/q1.yaml": Q1 + "follow_ups:\n  - [Why, Because]\n"},
        (f"{Q1_PATH}:17: error: question 'q1': item in 'follow_ups' must be text, found sequence",),
    ),
    Case(
        "several-problems",
        {
            "bank.yaml": edit(BANK, "description: A bank", "descripton: A bank"),
            "questions/q1.yaml": edit(
                Q1 + "pitfall: Forgetting it.\n", "difficulty: medium", "difficulty: hrad"
            ),
            "questions/q2.yaml": Q2 + "number: 3\n",
        },
        (
            "content/bank.yaml:5: error: bank: unknown field 'descripton'; did you mean 'description'?",
            f"{Q1_PATH}:11: error: question 'q1': unknown difficulty 'hrad'; did you mean 'hard'? "
            "(expected one of easy, medium, hard)",
            f"{Q1_PATH}:16: error: question 'q1': unknown field 'pitfall'; did you mean 'pitfalls'?",
            "content/questions/q2.yaml:16: error: duplicate key 'number' (first given on line 2)",
        ),
        "prepdeck: 4 errors in 3 files",
    ),
]
