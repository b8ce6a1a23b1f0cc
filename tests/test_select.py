"""Selection: OR within a criterion, AND across criteria and across a subset and ad-hoc options."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from factories import make_question
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.build import select_subset
from generator.errors import GeneratorError
from generator.model import (
    Bank,
    Category,
    Difficulty,
    Location,
    Question,
    Rarity,
    Selection,
    Subset,
)
from generator.select import select_questions

D, R = Difficulty, Rarity


def question(
    number: int, category: str, difficulty: Difficulty, rarity: Rarity, tags: tuple[str, ...]
) -> Question:
    """Return a question that differs from the others only in what selection looks at."""
    return make_question(number, category=category, difficulty=difficulty, rarity=rarity, tags=tags)


def subset(name: str, **criteria) -> Subset:
    return Subset(name, f"The {name} subset.", Selection(**criteria), Location("content/bank.yaml", 1))


QUESTIONS = (
    question(1, "alpha", D.EASY, R.RARE, ("parallelism::data", "pytorch")),
    question(2, "alpha", D.HARD, R.COMMON, ("parallelism::model",)),
    question(3, "beta", D.HARD, R.VERY_COMMON, ("parallelism", "serving")),
    question(4, "beta", D.MEDIUM, R.COMMON, ("parallelism-io", "pytorch")),
)
BANK = Bank(
    id="test-bank",
    slug="test",
    title="Test Bank",
    version="1",
    description="",
    categories=(Category("alpha", "Alpha", "#1f5fa8", ""), Category("beta", "Beta", "#b5521b", "")),
    subsets=(
        subset("alpha", categories=frozenset({"alpha"})),
        subset("parallel", tags=frozenset({"parallelism"})),
        subset("hard", difficulties=frozenset({D.HARD})),
    ),
    questions=QUESTIONS,
    root=Path("content"),
)


def ids(bank: Bank) -> list[str]:
    return [q.id for q in bank.questions]


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (Selection(), ["q1", "q2", "q3", "q4"]),
        (Selection(difficulties=frozenset({D.EASY, D.HARD})), ["q1", "q2", "q3"]),
        (Selection(rarities=frozenset({R.RARE, R.VERY_COMMON})), ["q1", "q3"]),
        (Selection(ids=frozenset({"q4", "q2"})), ["q2", "q4"]),
        (Selection(categories=frozenset({"alpha"}), difficulties=frozenset({D.HARD})), ["q2"]),
        (
            Selection(
                categories=frozenset({"alpha", "beta"}),
                rarities=frozenset({R.COMMON}),
                tags=frozenset({"pytorch", "parallelism"}),
            ),
            ["q2", "q4"],
        ),
    ],
    ids=["nothing-set", "or-difficulty", "or-rarity", "or-id", "and-across", "or-within-and-across"],
)
def test_or_within_a_criterion_and_across_criteria(selection: Selection, expected: list[str]):
    assert ids(select_questions(BANK, selection)) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("parallelism", ["q1", "q2", "q3"]),  # itself and every tag below it, not "parallelism-io"
        ("parallelism::data", ["q1"]),  # not the parent tag "parallelism" of q3
        ("parallelism-io", ["q4"]),
    ],
)
def test_a_tag_matches_itself_and_the_tags_below_it(tag: str, expected: list[str]):
    assert ids(select_questions(BANK, Selection(tags=frozenset({tag})))) == expected


def test_a_selection_matching_nothing_is_an_error_naming_it():
    with pytest.raises(GeneratorError) as caught:
        select_questions(BANK, Selection(tags=frozenset({"parallel"}), difficulties=frozenset({D.EASY})))
    assert str(caught.value) == "error: the selection (--tag parallel --difficulty easy) matches no question"


def test_select_returns_a_new_bank_and_leaves_the_original_alone():
    before = dataclasses.astuple(BANK)
    chosen = select_questions(BANK, Selection(categories=frozenset({"beta"})))
    assert ids(chosen) == ["q3", "q4"]
    assert chosen is not BANK and chosen.questions[0] is BANK.questions[2]
    assert dataclasses.replace(chosen, questions=BANK.questions) == BANK
    assert dataclasses.astuple(BANK) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.questions = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "adhoc", "expected"),
    [
        ("alpha", Selection(), ["q1", "q2"]),
        ("alpha", Selection(difficulties=frozenset({D.HARD})), ["q2"]),
        ("alpha", Selection(categories=frozenset({"alpha", "beta"})), ["q1", "q2"]),
        ("parallel", Selection(tags=frozenset({"pytorch"})), ["q1"]),  # a tag of each, not either
        ("parallel", Selection(tags=frozenset({"parallelism::model"})), ["q2"]),
        ("hard", Selection(rarities=frozenset({R.VERY_COMMON, R.RARE})), ["q3"]),
    ],
)
def test_a_subset_with_adhoc_options_is_narrowed_by_both(name: str, adhoc: Selection, expected: list[str]):
    assert ids(select_subset(BANK, adhoc, name)) == expected


@pytest.mark.parametrize(
    ("name", "adhoc", "described"),
    [
        ("alpha", Selection(categories=frozenset({"beta"})), "--subset alpha --category beta"),
        ("hard", Selection(ids=frozenset({"q1"})), "--subset hard --id q1"),
    ],
)
def test_a_subset_and_options_with_nothing_in_common_match_nothing(name, adhoc, described):
    with pytest.raises(GeneratorError) as caught:
        select_subset(BANK, adhoc, name)
    assert str(caught.value) == f"error: the selection ({described}) matches no question"


def test_an_unknown_subset_is_an_error_naming_the_known_ones():
    with pytest.raises(GeneratorError) as caught:
        select_subset(BANK, Selection(), "hrad")
    assert str(caught.value) == (
        "error: --subset: unknown subset 'hrad'; did you mean 'hard'? "
        "(this bank's subsets: alpha, parallel, hard)"
    )


def frozensets(values) -> st.SearchStrategy[frozenset]:
    return st.frozensets(st.sampled_from(values), max_size=2)


selections = st.builds(
    Selection,
    categories=frozensets(["alpha", "beta"]),
    tags=frozensets(["parallelism", "parallelism::data", "pytorch", "serving", "parallelism-io"]),
    difficulties=frozensets(list(D)),
    rarities=frozensets(list(R)),
    ids=frozensets(["q1", "q2", "q3", "q4"]),
)


def chosen_ids(selection: Selection) -> set[str]:
    try:
        return set(ids(select_questions(BANK, selection)))
    except GeneratorError:
        return set()


@settings(max_examples=150, deadline=None)
@given(selection=selections)
def test_every_criterion_narrows_on_its_own(selection: Selection):
    alone = [
        Selection(**{name: value})
        for name, value in (
            ("categories", selection.categories),
            ("tags", selection.tags),
            ("difficulties", selection.difficulties),
            ("rarities", selection.rarities),
            ("ids", selection.ids),
        )
    ]
    expected = {q.id for q in QUESTIONS}.intersection(*(chosen_ids(one) for one in alone))
    assert chosen_ids(selection) == expected


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["alpha", "parallel", "hard"]), adhoc=selections)
def test_a_subset_with_options_is_the_questions_both_choose(name: str, adhoc: Selection):
    expected = chosen_ids(BANK.subset(name).selection) & chosen_ids(adhoc)
    try:
        assert set(ids(select_subset(BANK, adhoc, name))) == expected
    except GeneratorError:
        assert expected == set()
