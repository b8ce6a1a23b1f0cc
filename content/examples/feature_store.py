"""Point-in-time correct training data, and an online store that serves the same values."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

import numpy as np
import pandas as pd

ENTITY = "user_id"
FEATURES = ["orders_7d", "avg_basket_7d"]


# region point-in-time-join
def point_in_time_join(labels: pd.DataFrame, features: pd.DataFrame, max_age: pd.Timedelta) -> pd.DataFrame:
    """Give each label row the latest feature row stamped strictly before its label time."""
    return pd.merge_asof(
        labels.sort_values("label_ts"),
        features.sort_values("feature_ts"),
        left_on="label_ts",
        right_on="feature_ts",
        by=ENTITY,
        direction="backward",  # only look into the past
        allow_exact_matches=False,  # a value stamped at label time may already reflect the label
        tolerance=max_age,  # too-old values become missing, exactly as they expire online
    )


class OnlineStore:
    """Serving-time reads: per entity, values in time order; read the latest strictly before ``as_of``."""

    def __init__(self, max_age: pd.Timedelta):
        self.max_age = max_age
        self._history: dict[object, list[tuple[pd.Timestamp, dict]]] = defaultdict(list)

    def write(self, entity_id, ts: pd.Timestamp, values: dict) -> None:
        self._history[entity_id].append((ts, values))  # materialized in time order

    def read(self, entity_id, as_of: pd.Timestamp) -> dict | None:
        history = self._history.get(entity_id, [])
        i = bisect_left(history, as_of, key=lambda row: row[0]) - 1  # last ts < as_of
        if i < 0 or as_of - history[i][0] > self.max_age:
            return None
        return history[i][1]
        # endregion


def naive_latest_join(labels: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The leaky version: each entity's most recent feature value, whenever it was computed."""
    latest = features.sort_values("feature_ts").groupby(ENTITY).tail(1)
    return labels.merge(latest, on=ENTITY, how="left")


def materialize(features: pd.DataFrame, max_age: pd.Timedelta) -> OnlineStore:
    """Replay the feature log into the online store, as the streaming job would."""
    store = OnlineStore(max_age)
    for row in features.sort_values("feature_ts").itertuples(index=False):
        store.write(getattr(row, ENTITY), row.feature_ts, {name: getattr(row, name) for name in FEATURES})
    return store


def make_data(n_users: int = 30, n_labels: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A feature log and label events on an hourly grid over 30 days (so exact timestamp ties happen)."""
    rng = np.random.default_rng(seed)
    start, hours = pd.Timestamp("2024-01-01"), 30 * 24
    n_rows = n_users * 12
    features = pd.DataFrame(
        {
            ENTITY: rng.integers(0, n_users, n_rows),
            "feature_ts": start + pd.to_timedelta(rng.choice(hours, n_rows, replace=False), unit="h"),
            "orders_7d": rng.poisson(3, n_rows),
            "avg_basket_7d": rng.gamma(2.0, 20.0, n_rows).round(2),
        }
    )
    labels = pd.DataFrame(
        {
            ENTITY: rng.integers(0, n_users + 2, n_labels),  # two users never have features
            "label_ts": start + pd.to_timedelta(rng.integers(0, hours, n_labels), unit="h"),
            "churned": rng.integers(0, 2, n_labels),
        }
    )
    return features, labels


if __name__ == "__main__":
    features, labels = make_data()
    pit = point_in_time_join(labels, features, pd.Timedelta(days=7))
    naive = naive_latest_join(labels, features)
    print("naive rows using future features:", int((naive["feature_ts"] > naive["label_ts"]).sum()))
    print("PIT rows using future features:", int((pit["feature_ts"] >= pit["label_ts"]).sum()))
