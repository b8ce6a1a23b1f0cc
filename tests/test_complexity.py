"""Keep every function readable: radon's cyclomatic complexity grade C (at most 20) or better."""

from __future__ import annotations

from pathlib import Path

from factories import ROOT
from radon.visitors import ComplexityVisitor

#: Grade C ends here; D and worse say a function has more than one job.
MAX_COMPLEXITY = 20


def blocks(path: Path):
    """Yield every function, method and nested function of a source file."""
    visitor = ComplexityVisitor.from_code(path.read_text(encoding="utf-8"))
    pending = [*visitor.functions, *(method for cls in visitor.classes for method in cls.methods)]
    while pending:
        block = pending.pop()
        pending.extend(block.closures)
        yield block


def test_no_function_is_above_grade_c():
    sources = sorted(
        [*ROOT.glob("generator/**/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("tests/**/*.py")]
    )
    too_complex = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} ({block.complexity})"
        for path in sources
        for block in blocks(path)
        if block.complexity > MAX_COMPLEXITY
    ]
    assert len(sources) > 40
    assert too_complex == []
