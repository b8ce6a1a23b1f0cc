"""A recommendation funnel: two-tower retrieval from an ANN index, then a learned ranker.

The towers embed users and items separately, so item embeddings are computed
offline and searched with faiss in milliseconds; the ranker then scores only the
few hundred candidates, with features retrieval cannot use: the request's context
crossed with item attributes. The data are synthetic, from a known click model.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import torch
from torch import nn

TASTE_DIM = 8


@dataclass(frozen=True)
class World:
    """Users and items with hidden tastes; ``clicks`` samples what a user clicks."""

    user_x: np.ndarray  # observed user features (noisy tastes)
    item_x: np.ndarray  # observed item features (noisy tastes)
    item_short: np.ndarray  # an item attribute, e.g. short-form video (0/1)
    user_taste: np.ndarray
    item_taste: np.ndarray

    def utility(self, user: int, items: np.ndarray, mobile: int) -> np.ndarray:
        # On mobile, users favor short items; on desktop, long ones.
        context = 1.5 * (2 * mobile - 1) * (2 * self.item_short[items] - 1)
        return self.item_taste[items] @ self.user_taste[user] + context

    def clicks(self, user: int, items: np.ndarray, mobile: int, rng) -> np.ndarray:
        p = 1 / (1 + np.exp(-(self.utility(user, items, mobile) - 2.0)))
        return rng.random(len(items)) < p


def make_world(n_users: int = 2_000, n_items: int = 4_000, seed: int = 0) -> World:
    rng = np.random.default_rng(seed)
    user_taste = rng.normal(size=(n_users, TASTE_DIM))
    item_taste = rng.normal(size=(n_items, TASTE_DIM)) / np.sqrt(TASTE_DIM) * 1.5
    noisy = lambda a: (a + rng.normal(scale=0.3 * a.std(), size=a.shape)).astype(np.float32)  # noqa: E731
    return World(noisy(user_taste), noisy(item_taste), rng.integers(0, 2, n_items), user_taste, item_taste)


class TwoTower(nn.Module):
    """A user tower and an item tower; relevance is the dot product of their embeddings."""

    def __init__(self, n_features: int = TASTE_DIM, dim: int = 16):
        super().__init__()
        self.user = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, dim))
        self.item = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, dim))


def train_towers(world: World, users: np.ndarray, seed: int = 0, epochs: int = 4) -> TwoTower:
    """Learn from clicked (user, item) pairs with in-batch negatives: the other items in the batch."""
    rng, torch_rng = np.random.default_rng(seed), torch.manual_seed(seed)
    pairs = []
    for user in users:
        shown = rng.choice(len(world.item_x), 200, replace=False)
        clicked = shown[world.clicks(user, shown, rng.integers(0, 2), rng)]
        pairs.append(np.stack([np.full(len(clicked), user), clicked], axis=1))
    pairs = torch.from_numpy(np.concatenate(pairs))
    model = TwoTower()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    user_x, item_x = torch.from_numpy(world.user_x), torch.from_numpy(world.item_x)
    for _ in range(epochs):
        for batch in pairs[torch.randperm(len(pairs), generator=torch_rng)].split(512):
            u, v = model.user(user_x[batch[:, 0]]), model.item(item_x[batch[:, 1]])
            logits = u @ v.T  # row b: its own item is the positive, the rest negatives
            loss = nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def build_index(towers: TwoTower, world: World, nlist: int = 64, nprobe: int = 16) -> faiss.Index:
    """An IVF index over all item embeddings, built offline; ``nprobe`` trades recall for speed."""
    with torch.no_grad():
        items = towers.item(torch.from_numpy(world.item_x)).numpy()
    quantizer = faiss.IndexFlatIP(items.shape[1])
    index = faiss.IndexIVFFlat(quantizer, items.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(items)
    index.add(items)
    index.nprobe = nprobe
    return index


def exact_index(towers: TwoTower, world: World) -> faiss.Index:
    """Brute-force inner-product search: the ground truth for the ANN index's recall."""
    with torch.no_grad():
        items = towers.item(torch.from_numpy(world.item_x)).numpy()
    index = faiss.IndexFlatIP(items.shape[1])
    index.add(items)
    return index


class Ranker(nn.Module):
    """A small learned ranker over retrieval score, context and item attributes."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features).squeeze(-1)


def ranking_features(scores: np.ndarray, mobile: int, short: np.ndarray) -> torch.Tensor:
    columns = [scores, np.full(len(scores), mobile), short, mobile * short]
    return torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)


def retrieve(
    towers: TwoTower, index: faiss.Index, user_x: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        query = towers.user(torch.from_numpy(user_x[None])).numpy()
    scores, ids = index.search(query, n)
    keep = ids[0] >= 0
    return ids[0][keep], scores[0][keep]


def train_ranker(world, towers, index, users, seed: int = 0, n_candidates: int = 100) -> Ranker:
    """Fit on logged impressions: the candidates retrieval produced, and which were clicked."""
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for user in users:
        mobile = int(rng.integers(0, 2))
        ids, scores = retrieve(towers, index, world.user_x[user], n_candidates)
        features.append(ranking_features(scores, mobile, world.item_short[ids]))
        labels.append(torch.tensor(world.clicks(user, ids, mobile, rng), dtype=torch.float32))
    x, y = torch.cat(features), torch.cat(labels)
    torch.manual_seed(seed)
    ranker = Ranker()
    optimizer = torch.optim.Adam(ranker.parameters(), lr=1e-2)
    for _ in range(200):
        loss = nn.functional.binary_cross_entropy_with_logits(ranker(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return ranker.eval()


@dataclass(frozen=True)
class Funnel:
    towers: TwoTower
    index: faiss.Index  # item embeddings, built offline
    ranker: Ranker
    item_short: np.ndarray  # item attributes the ranker reads
    n_candidates: int = 100


# region recommend
def recommend(f: Funnel, user_x, mobile: int, seen: set, k: int = 10):
    """Retrieve with the ANN index, drop seen items, re-rank, top k."""
    # 1. Retrieval: one user embedding, one index lookup (milliseconds).
    ids, scores = retrieve(f.towers, f.index, user_x, f.n_candidates)
    fresh = ~np.isin(ids, list(seen))  # never what they already have
    ids, scores = ids[fresh], scores[fresh]
    # 2. Ranking: richer features on a few hundred candidates; here
    #    the request's context crossed with an item attribute.
    features = ranking_features(scores, mobile, f.item_short[ids])
    with torch.no_grad():
        order = np.argsort(-f.ranker(features).numpy(), kind="stable")
    return ids[order][:k].tolist()
    # endregion
