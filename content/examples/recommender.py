"""Two-stage recommendation: item co-occurrence candidates, a ranking score, and a popularity fallback."""

from __future__ import annotations

import numpy as np


# region recommend
class CoOccurrenceRecommender:
    """Item-to-item collaborative filtering on a binary user x item interaction matrix."""

    def __init__(self, interactions: np.ndarray, n_candidates: int = 50):
        self.seen = interactions.astype(bool)
        counts = self.seen.astype(np.float64)
        self.popularity = counts.sum(axis=0)
        co_counts = counts.T @ counts  # [i, j] = number of users who interacted with both
        np.fill_diagonal(co_counts, 0)
        # Cosine-normalise so that blockbusters are not "similar" to everything.
        self.similarity = co_counts / np.sqrt(np.outer(self.popularity, self.popularity)).clip(min=1)
        self.by_popularity = np.lexsort((np.arange(len(self.popularity)), -self.popularity))  # ties: id
        self.n_candidates = n_candidates

    def recommend(self, user: int | None, k: int = 10) -> list[int]:
        """Top-k unseen items for a known user, or for a new one (``None``)."""
        seen = self.seen[user] if user is not None else np.zeros(len(self.popularity), bool)
        # 1. Candidates: items co-consumed with the user's history (cheap, high recall).
        affinity = self.similarity[seen].sum(axis=0)
        affinity[seen] = 0  # never recommend what the user already has
        candidates = np.flatnonzero(affinity > 0)
        candidates = candidates[np.argsort(-affinity[candidates], kind="stable")[: self.n_candidates]]
        # 2. Ranking: in production a learned model on user/item/context features; here, affinity
        #    plus a small popularity prior. lexsort makes ties deterministic (by item id).
        score = affinity[candidates] + 1e-3 * np.log1p(self.popularity[candidates])
        ranked = candidates[np.lexsort((candidates, -score))]
        # 3. Fallback for cold-start users and short lists: the most popular unseen items.
        excluded = seen.copy()
        excluded[ranked] = True
        backfill = self.by_popularity[~excluded[self.by_popularity]]
        return np.concatenate([ranked, backfill])[:k].tolist()
        # endregion


def make_interactions(n_users: int = 300, n_items: int = 60, seed: int = 0) -> np.ndarray:
    """Three taste groups, each mostly consuming its own block of items; item 0 is a hit for everyone."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n_users)
    block = np.arange(n_items) * 3 // n_items  # item -> taste group
    p = np.where(block[None, :] == group[:, None], 0.15, 0.01)
    p[:, 0] = 0.6
    return rng.random((n_users, n_items)) < p
