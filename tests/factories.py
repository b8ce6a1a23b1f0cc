"""Banks built in memory for renderer tests: valid by default, any field replaceable."""

from __future__ import annotations

from pathlib import Path

from generator.model import (
    Bank,
    Category,
    Difficulty,
    Example,
    FollowUp,
    KeyPointGroup,
    Location,
    Question,
    Rarity,
)

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TEMPLATES = ROOT / "templates"


def make_question(number: int, **changes) -> Question:
    """Return a valid question; keyword arguments replace fields."""
    fields = dict(
        id=f"q{number}",
        number=number,
        category="alpha",
        question=f"What is question {number}?",
        answer=f"Answer {number} with `code` and **emphasis**.",
        summary=f"Summary {number}.",
        key_points=(
            KeyPointGroup("points", "Points", (f"first {number}", f"second {number}"), cloze=True),
            KeyPointGroup("notes", "Notes", (f"note {number}",), cloze=False),
        ),
        rarity=Rarity.COMMON,
        difficulty=Difficulty.MEDIUM,
        tags=("topic", "topic::sub"),
        follow_ups=(FollowUp(f"Follow-up {number}?", f"Answer to follow-up {number}."),),
        pitfalls=(f"Pitfall {number}.",),
        examples=(
            Example(
                file="examples/demo.py",
                region="main",
                code=f"def answer():\n    return {number}\n",
                title="Demo",
                language="python",
                start_line=2,
                location=Location("content/questions/q.yaml", 1),
            ),
        ),
        location=Location(f"content/questions/q{number}.yaml", 1),
        file=f"questions/q{number}.yaml",
    )
    fields.update(changes)
    return Question(**fields)


def make_bank(questions=None, **changes) -> Bank:
    """Return a small valid bank of two categories; keyword arguments replace fields."""
    if questions is None:
        questions = [make_question(1), make_question(2, category="beta", difficulty=Difficulty.HARD)]
    fields = dict(
        id="test-bank",
        slug="test",
        title="Test Bank",
        version="0.1.0",
        description="A bank for tests.",
        categories=(
            Category("alpha", "Alpha", "#1f5fa8", "First category."),
            Category("beta", "Beta", "#b5521b", "Second category."),
        ),
        subsets=(),
        questions=tuple(questions),
        root=CONTENT,
    )
    fields.update(changes)
    return Bank(**fields)
