"""Resource limits: oversized, deep, badly encoded or escaping content fails fast, clearly and cheaply.

Each broken bank is checked in a fresh Python process, which reports the
problems it found, how long ``check`` took and how much its peak memory grew
(``ru_maxrss``, which counts libyaml's C allocations too). Legitimate oddities
(a byte-order mark, CRLF line endings) must simply work, through a full build.
"""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bank_support import EPOCH, EXAMPLE, dump, line_of, question, write_bank

from generator.build import BuildRequest, build, check
from generator.load import MAX_DEPTH, MAX_DUPLICATES, MAX_FILE_BYTES, MAX_ITEMS, MAX_STRING
from generator.model import OutputKind

#: Peak memory a check may add for any of these files (how fast: scripts/bench.py).
MAX_EXTRA_MEMORY = 200 * 1024 * 1024

PROBE = """
import json, resource, sys
from pathlib import Path
from generator.build import check
from generator.errors import GeneratorError

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    problems = [str(p) for p in check(Path(sys.argv[1])).warnings]
    ok = True
except GeneratorError as exc:
    problems = [str(p) for p in exc.problems]
    ok = False
extra = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # KiB on Linux
print(json.dumps({"ok": ok, "problems": problems, "extra_bytes": extra}))
"""

Q1 = "content/questions/q1.yaml"
DEMO = "content/examples/demo.py"


def probe(root: Path) -> dict:
    """Check ``root/content`` in a new process (working directory ``root``) and return its report."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "content"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def replace_q1(content: Path, text: str | bytes) -> Path:
    path = content / "questions" / "q1.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def q1_text(**changes) -> str:
    return dump(question(1, **changes))


# Each case breaks the bank written by write_bank and returns the exact problems `check` must report.


def alias_bomb(content: Path) -> list[str]:
    lines = ['lol0: &l0 "lol"'] + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    replace_q1(content, q1_text() + "\n".join(lines) + "\n")
    line = line_of(content / "questions" / "q1.yaml", "&l0")
    return [f"{Q1}:{line}: error: YAML anchors (&name) are not allowed in content"]


def file_50_mb(content: Path) -> list[str]:
    path = replace_q1(content, q1_text())
    with path.open("a", encoding="utf-8") as handle:
        chunk = "# padding padding padding padding padding padding padding padding padding\n" * 10_000
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
    return [f"{Q1}:1: error: file is larger than {MAX_FILE_BYTES // 1024} KiB; split it into smaller files"]


def example_50_mb(content: Path) -> list[str]:
    with (content / "examples" / "demo.py").open("a", encoding="utf-8") as handle:
        handle.write("# padding\n" * 5_300_000)
    line = line_of(content / "questions" / "q1.yaml", "file: examples/demo.py")
    return [
        f"{Q1}:{line}: error: question 'q1': example file 'examples/demo.py' is larger than "
        f"{MAX_FILE_BYTES // 1024} KiB"
    ]


def string_1_mb(content: Path) -> list[str]:
    path = replace_q1(content, q1_text(answer="x" * 1_000_000))
    return [f"{Q1}:{line_of(path, 'answer:')}: error: text is longer than {MAX_STRING:,} characters"]


def list_10_000(content: Path) -> list[str]:
    path = replace_q1(content, q1_text(tags=[f"t{i}" for i in range(10_000)]))
    return [f"{Q1}:{line_of(path, '- t0')}: error: list has more than {MAX_ITEMS} items"]


def mapping_10_000(content: Path) -> list[str]:
    path = replace_q1(content, q1_text() + "extra:\n" + "".join(f"  k{i}: {i}\n" for i in range(10_000)))
    return [f"{Q1}:{line_of(path, 'k0:')}: error: mapping has more than {MAX_ITEMS} keys"]


def nesting_100(content: Path) -> list[str]:
    text = "".join("  " * level + f"k{level}:\n" for level in range(100)) + "  " * 100 + "leaf\n"
    replace_q1(content, text)
    # The root mapping is level 1; the mapping under k15, on line 17, would be level 17.
    return [f"{Q1}:{MAX_DEPTH + 1}: error: nesting is deeper than {MAX_DEPTH} levels"]


def nesting_100_000(content: Path) -> list[str]:
    replace_q1(content, "answer: " + "[" * 100_000 + "]" * 100_000 + "\n")
    # libyaml's own limit (1000 levels) stops it first, still with a line.
    return [f"{Q1}:1: error: invalid YAML: while increasing flow level exceeded maximum nesting depth"]


def duplicate_keys_200_000(content: Path) -> list[str]:
    path = replace_q1(content, q1_text() + "x: 1\n" * 200_000)  # just under 1 MiB
    first = line_of(path, "x: 1")
    lines = [
        f"{Q1}:{first + n}: error: duplicate key 'x' (first given on line {first})"
        for n in range(1, MAX_DUPLICATES + 2)
    ]
    last = first + MAX_DUPLICATES + 1
    return [
        *lines,
        f"{Q1}:{last}: error: more than {MAX_DUPLICATES} duplicate keys; the rest of the file is not read",
    ]


def latin_1(content: Path) -> list[str]:
    text = q1_text(answer="Caf\u00e9 au lait.")
    data = text.encode("latin-1")
    replace_q1(content, data)
    offset = data.index(b"\xe9")
    line = data[:offset].count(b"\n") + 1
    return [f"{Q1}:{line}: error: file is not valid UTF-8 (byte 0xe9 at offset {offset})"]


def utf_16(content: Path) -> list[str]:
    replace_q1(content, codecs.BOM_UTF16_LE + q1_text().encode("utf-16-le"))
    return [f"{Q1}:1: error: file is not valid UTF-8 (byte 0xff at offset 0)"]


def latin_1_example(content: Path) -> list[str]:
    data = EXAMPLE.replace("return 42", "return 'caf\u00e9'").encode("latin-1")
    (content / "examples" / "demo.py").write_bytes(data)
    offset = data.index(b"\xe9")
    line = data[:offset].count(b"\n") + 1
    return [f"{DEMO}:{line}: error: file is not valid UTF-8 (byte 0xe9 at offset {offset})"]


def nul_character(content: Path) -> list[str]:
    path = replace_q1(content, q1_text(answer="before\x00after").replace("\\0", "\x00"))
    line = line_of(path, "answer:")
    return [f"{Q1}:{line}: error: invalid YAML: character U+0000 is not allowed; remove it"]


def huge_number(content: Path) -> list[str]:
    path = replace_q1(content, q1_text().replace("number: 1\n", "number: " + "9" * 5_000 + "\n"))
    return [f"{Q1}:{line_of(path, 'number:')}: error: '{'9' * 40}…' is not a valid integer"]


def outside(content: Path, name: str, text: str) -> Path:
    """Write a file next to (not inside) the content directory and return it."""
    path = content.parent / name
    path.write_text(text, encoding="utf-8")
    return path


def linked_question_file(content: Path) -> list[str]:
    target = outside(content, "secret.yaml", q1_text())
    path = content / "questions" / "q1.yaml"
    path.unlink()
    path.symlink_to(target)
    return [f"{Q1}:1: error: file links outside the content directory"]


def linked_questions_directory(content: Path) -> list[str]:
    folder = content.parent / "elsewhere"
    folder.mkdir()
    (folder / "q9.yaml").write_text(dump(question(9)), encoding="utf-8")
    (content / "questions" / "more").symlink_to(folder, target_is_directory=True)
    return ["content/questions/more:1: error: directory links outside the content directory"]


def linked_bank_file(content: Path) -> list[str]:
    target = outside(content, "bank.yaml", (content / "bank.yaml").read_text(encoding="utf-8"))
    (content / "bank.yaml").unlink()
    (content / "bank.yaml").symlink_to(target)
    return ["content/bank.yaml:1: error: file links outside the content directory"]


def linked_example_file(content: Path) -> list[str]:
    target = outside(content, "secret.py", "# region main\nTOKEN = 'do not embed'\n# endregion\n")
    (content / "examples" / "demo.py").unlink()
    (content / "examples" / "demo.py").symlink_to(target)
    line = line_of(content / "questions" / "q1.yaml", "file: examples/demo.py")
    return [
        f"{Q1}:{line}: error: question 'q1': example file 'examples/demo.py' leads outside the content "
        "directory"
    ]


def example_path(file: str) -> Callable[[Path], list[str]]:
    def make(content: Path) -> list[str]:
        outside(content, "secret.py", "# region main\nTOKEN = 'do not embed'\n# endregion\n")
        path = replace_q1(content, q1_text(examples=[{"file": file, "region": "main"}]))
        return [
            f"{Q1}:{line_of(path, 'file:')}: error: question 'q1': example file '{file}' must be a "
            "relative path inside the content directory"
        ]

    return make


def fifo_question_file(content: Path) -> list[str]:
    os.mkfifo(content / "questions" / "q3.yaml")  # opening it for reading would wait for a writer
    return ["content/questions/q3.yaml:1: error: not a regular file"]


def fifo_example_file(content: Path) -> list[str]:
    os.mkfifo(content / "examples" / "pipe.py")
    path = replace_q1(content, q1_text(examples=[{"file": "examples/pipe.py", "region": "main"}]))
    return [
        f"{Q1}:{line_of(path, 'file:')}: error: question 'q1': example file 'examples/pipe.py' is not "
        "a regular file"
    ]


def byte_order_marks(content: Path) -> list[str]:
    for path in [
        content / "bank.yaml",
        *sorted((content / "questions").glob("*.yaml")),
        content / "examples" / "demo.py",
    ]:
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    return []


def crlf_line_endings(content: Path) -> list[str]:
    for path in [
        content / "bank.yaml",
        *sorted((content / "questions").glob("*.yaml")),
        content / "examples" / "demo.py",
    ]:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return []


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    make: Callable[[Path], list[str]]


LIMITS = [
    Limit("alias-bomb", alias_bomb),
    Limit("file-50-mb", file_50_mb),
    Limit("example-file-50-mb", example_50_mb),
    Limit("string-1-mb", string_1_mb),
    Limit("list-10000-items", list_10_000),
    Limit("mapping-10000-keys", mapping_10_000),
    Limit("nesting-100-levels", nesting_100),
    Limit("nesting-100000-levels", nesting_100_000),
    Limit("duplicate-keys-200000", duplicate_keys_200_000),
    Limit("not-utf-8", latin_1),
    Limit("utf-16", utf_16),
    Limit("example-not-utf-8", latin_1_example),
    Limit("nul-character", nul_character),
    Limit("number-5000-digits", huge_number),
    Limit("symlinked-question-leaves-content", linked_question_file),
    Limit("symlinked-directory-leaves-content", linked_questions_directory),
    Limit("symlinked-bank-leaves-content", linked_bank_file),
    Limit("symlinked-example-leaves-content", linked_example_file),
    Limit("example-path-dotdot", example_path("../secret.py")),
    Limit("example-path-dotdot-inside", example_path("examples/../../secret.py")),
    Limit("example-path-absolute", example_path("/etc/passwd")),
    Limit("example-path-backslash", example_path("examples\\..\\..\\secret.py")),
    Limit("fifo-question-file", fifo_question_file),
    Limit("fifo-example-file", fifo_example_file),
    Limit("byte-order-marks", byte_order_marks),
    Limit("crlf-line-endings", crlf_line_endings),
]


@pytest.mark.parametrize("case", LIMITS, ids=[case.name for case in LIMITS])
def test_limit_fails_fast_in_bounded_memory_with_file_and_line(case: Limit, tmp_path: Path):
    content = write_bank(tmp_path)
    expected = case.make(content)

    report = probe(tmp_path)

    assert report["problems"] == expected
    assert report["ok"] is (not expected)
    assert report["extra_bytes"] < MAX_EXTRA_MEMORY


def test_the_corpus_covers_every_limit_the_issue_names():
    names = {case.name for case in LIMITS}
    assert {
        "alias-bomb",
        "file-50-mb",
        "string-1-mb",
        "list-10000-items",
        "nesting-100000-levels",
        "not-utf-8",
        "byte-order-marks",
        "crlf-line-endings",
        "symlinked-question-leaves-content",
        "example-path-dotdot",
    } <= names
    assert len(names) == len(LIMITS)


def test_bom_and_crlf_content_builds_like_plain_content(tmp_path: Path):
    content = write_bank(tmp_path)
    plain = check(content).bank
    byte_order_marks(content)
    crlf_line_endings(content)

    odd = check(content).bank
    report = build(
        BuildRequest(
            content=content,
            out=tmp_path / "out",
            epoch=EPOCH,
            jobs=1,
            outputs=frozenset({OutputKind.ANKI, OutputKind.CHEATSHEET}),
        )
    )

    assert odd == plain
    assert all("\r" not in q.answer and "\ufeff" not in q.id for q in odd.questions)
    assert odd.questions[0].examples[0].code == "def answer():\n    return 42\n"
    assert sorted(p.name for p in report.files) == ["test-cheatsheet.pdf", "test.apkg"]
