"""The shipped bank reads as its learners need: every follow-up answered, one house style."""

from __future__ import annotations

import re

import pytest
from example_support import EXAMPLES_DIR, shipped_bank

BANK = shipped_bank()
QUESTIONS = {q.id: q for q in BANK.questions}
# British spellings that have crept into technical writing before.
BRITISH = re.compile(
    r"\b(?:\w*(?:normalis|optimis|initialis|serialis|utilis|prioritis|minimis|maximis|recognis"
    r"|summaris|visualis|customis|standardis|categoris|penalis|regularis|tokenis|vectoris"
    r"|synchronis|generalis|analys(?=e|ed|es|ing\b))\w*"
    r"|(?:paralleli|quanti|randomi)s(?:e|ed|es|ing|ation)"
    r"|\w*(?:behaviour|colour|favour|neighbour|honour|flavour|labour)\w*"
    r"|modelling|modelled|labelled|labelling|cancelled|cancelling|travelled|signalled"
    r"|centre|centres|catalogue|catalogues|licence|judgement|whilst|amongst|programme|artefacts?"
    r"|grey|fulfil)\b",
    re.IGNORECASE,
)


def texts(question):
    yield question.question
    yield question.summary
    yield question.answer
    for group in question.key_points:
        yield group.title
        yield from group.items
    for follow_up in question.follow_ups:
        yield follow_up.question
        yield follow_up.answer
    yield from question.pitfalls
    for example in question.examples:
        yield example.title


@pytest.mark.parametrize("question_id", sorted(QUESTIONS))
def test_every_follow_up_has_a_short_answer(question_id):
    question = QUESTIONS[question_id]
    assert len(question.follow_ups) >= 2
    for follow_up in question.follow_ups:
        sentences = re.findall(r"[.!?](?=\s|$)", follow_up.answer)
        assert 2 <= len(sentences) <= 4, follow_up.question


@pytest.mark.parametrize("question_id", sorted(QUESTIONS))
def test_us_spelling_multiplication_sign_and_sentence_case(question_id):
    question = QUESTIONS[question_id]
    for text in texts(question):
        british = set(BRITISH.findall(text))
        assert not british, (british, text)
        assert not re.search(r"\w x \w|\d ?x ?\d|\dx\b", text), text  # "×", not "x"
    for group in question.key_points:
        words = group.title.split()
        assert all(w == w.lower() or w.isupper() for w in words[1:]), group.title


def test_example_code_uses_us_spelling():
    for path in sorted(EXAMPLES_DIR.rglob("*")):
        if path.suffix not in (".py", ".yaml"):
            continue
        comments = re.findall(r"#.*|\"\"\"[\s\S]*?\"\"\"", path.read_text())
        british = {w for c in comments for w in BRITISH.findall(c)}
        assert not british, (path.name, british)
