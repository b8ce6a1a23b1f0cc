import numpy as np
import pytest
from example_support import assert_fits_on_card, load_example

rec = load_example("recommender")


@pytest.fixture(scope="module")
def data():
    interactions = rec.make_interactions(seed=0)
    return interactions, rec.CoOccurrenceRecommender(interactions)


def test_region_fits_on_a_card():
    assert_fits_on_card("recommender.py", "recommend")


def test_never_recommends_an_already_seen_item(data):
    interactions, model = data
    for user in range(len(interactions)):
        recs = model.recommend(user, k=10)
        assert len(recs) == len(set(recs)) == 10
        assert not interactions[user, recs].any(), f"user {user} already has one of {recs}"


def test_cold_start_user_gets_the_most_popular_items(data):
    interactions, model = data
    popularity = interactions.sum(axis=0)
    recs = model.recommend(None, k=5)
    assert recs[0] == 0  # the global hit
    assert list(popularity[recs]) == sorted(popularity, reverse=True)[:5]


def test_history_drives_the_candidates(data):
    interactions, model = data
    block = np.arange(interactions.shape[1]) * 3 // interactions.shape[1]  # the taste group of each item
    in_taste = []
    for user in range(len(interactions)):
        history = block[np.flatnonzero(interactions[user, 1:]) + 1]  # ignore item 0, the global hit
        if len(history) >= 2 and (history == history[0]).all():  # a clear single taste
            recs = [item for item in model.recommend(user, k=5) if item != 0]
            in_taste.append(np.mean(block[recs] == history[0]))
    assert len(in_taste) > 50
    assert np.mean(in_taste) > 0.9  # random recommendations would score about 1/3


def test_co_occurrence_on_a_hand_made_example():
    # items: 0 = tent, 1 = sleeping bag, 2 = stove, 3 = phone case (bought by everyone else)
    interactions = np.array(
        [
            [1, 1, 1, 0],
            [1, 1, 0, 0],
            [1, 1, 0, 0],
            [0, 0, 0, 1],
            [0, 0, 0, 1],
            [0, 0, 0, 1],
            [0, 0, 0, 1],
            [1, 0, 0, 0],  # has a tent only
        ]
    )
    model = rec.CoOccurrenceRecommender(interactions)
    assert model.recommend(7, k=3) == [1, 2, 3]  # bag (co-bought twice), stove, then popularity backfill
    assert model.recommend(None, k=4) == [0, 3, 1, 2]  # tie between items 0 and 3 broken by id


def test_recommendations_are_deterministic(data):
    interactions, model = data
    again = rec.CoOccurrenceRecommender(interactions.copy())
    for user in [None, 0, 1, 2, 123]:
        assert model.recommend(user, k=10) == model.recommend(user, k=10) == again.recommend(user, k=10)
