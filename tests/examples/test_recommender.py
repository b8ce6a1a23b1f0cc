import numpy as np
import pytest
from example_support import assert_fits_on_card, load_example

rec = load_example("recommender")

K = 100  # candidates retrieved per request


@pytest.fixture(scope="module")
def trained():
    """A world of 2,000 users and 4,000 items; towers and ranker learn from users 0-1,399 only."""
    world = rec.make_world(n_users=2_000, n_items=4_000, seed=0)
    towers = rec.train_towers(world, np.arange(0, 1_000), seed=0, epochs=3)
    index = rec.build_index(towers, world)
    ranker = rec.train_ranker(world, towers, index, np.arange(1_000, 1_400), seed=1)
    return world, towers, index, ranker, np.arange(1_600, 2_000)  # held-out users


def recall_at_k(towers, index, exact, world, users) -> float:
    found = []
    for user in users:
        approximate, _ = rec.retrieve(towers, index, world.user_x[user], K)
        truth, _ = rec.retrieve(towers, exact, world.user_x[user], K)
        found.append(len(set(approximate) & set(truth)) / K)
    return float(np.mean(found))


def ndcg_at_10(ranked_gains: np.ndarray) -> float:
    discount = 1 / np.log2(np.arange(2, 12))
    ideal = np.sort(ranked_gains)[::-1][:10]
    return float((ranked_gains[:10] * discount).sum() / (ideal * discount).sum())


def test_region_fits_on_a_card():
    assert_fits_on_card("recommender.py", "recommend")


def test_ann_index_finds_what_exact_search_finds(trained):
    world, towers, index, _, held_out = trained
    exact = rec.exact_index(towers, world)
    recall = recall_at_k(towers, index, exact, world, held_out)
    print(f"recall@{K} at nprobe={index.nprobe}: {recall:.3f}")
    assert recall >= 0.9
    index.nprobe = 1  # one cluster of 64: fast and visibly approximate
    assert recall_at_k(towers, index, exact, world, held_out[:100]) < 0.8
    index.nprobe = index.nlist  # every cluster: exact
    assert recall_at_k(towers, index, exact, world, held_out[:100]) == 1.0
    index.nprobe = 16


def test_two_tower_retrieval_generalizes_to_unseen_users(trained):
    world, towers, index, _, held_out = trained
    retrieved = [world.utility(u, rec.retrieve(towers, index, world.user_x[u], K)[0], 0) for u in held_out]
    everything = [world.utility(u, np.arange(len(world.item_x)), 0) for u in held_out]
    # The retrieved hundred are far better than the catalog average, for users never trained on.
    assert np.mean(retrieved) > np.mean(everything) + 2.0


def test_learned_ranker_beats_the_retrieval_order_on_held_out_users(trained):
    world, towers, index, ranker, held_out = trained
    funnel = rec.Funnel(towers, index, ranker, world.item_short, n_candidates=K)
    rng = np.random.default_rng(7)
    by_retrieval, by_ranker = [], []
    for user in held_out:
        mobile = int(rng.integers(0, 2))
        ids, _ = rec.retrieve(towers, index, world.user_x[user], K)
        gains = np.exp(world.utility(user, ids, mobile))  # the true click model's preference
        recommended = rec.recommend(funnel, world.user_x[user], mobile, seen=set(), k=K)
        assert sorted(recommended) == sorted(ids.tolist())  # the ranker reorders, it drops nothing
        position = {item: i for i, item in enumerate(ids)}
        by_retrieval.append(ndcg_at_10(gains))
        by_ranker.append(ndcg_at_10(gains[[position[item] for item in recommended]]))
    retrieval, ranked = np.mean(by_retrieval), np.mean(by_ranker)
    print(f"NDCG@10 retrieval order {retrieval:.3f}, learned ranker {ranked:.3f}")
    assert ranked > retrieval + 0.1


def test_never_recommends_a_seen_item(trained):
    world, towers, index, ranker, held_out = trained
    funnel = rec.Funnel(towers, index, ranker, world.item_short)
    user = held_out[0]
    first = rec.recommend(funnel, world.user_x[user], 1, seen=set())
    seen = set(first[:5])
    again = rec.recommend(funnel, world.user_x[user], 1, seen=seen, k=10)
    assert len(again) == len(set(again)) == 10 and not seen & set(again)
    assert again[:5] == first[5:10]  # the rest keep their order
