"""Point-in-time correct training data, and an online store that serves the same values.

Features carry two times: ``feature_ts``, the end of the window a value describes, and
``created_ts``, when the pipeline wrote it and serving could first read it. Joining on
the event time uses values before they existed online: timing skew.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ENTITY = "user_id"
FEATURES = ["orders_7d", "avg_basket_7d"]


# region point-in-time-join
def point_in_time_join(labels, features, max_age, on="created_ts"):
    """Give each label the latest feature row *available* before it:
    ``created_ts`` (written to the store), not the event time."""
    return pd.merge_asof(
        labels.sort_values("label_ts"),
        features.sort_values(on),
        left_on="label_ts",
        right_on=on,
        by=ENTITY,
        direction="backward",  # only look into the past
        allow_exact_matches=False,  # at label time: may reflect it
        tolerance=max_age,  # too old: missing, as it expires online
    )


class OnlineStore:
    """A key-value store: the latest value per entity, no history."""

    def __init__(self, max_age: pd.Timedelta):
        self.max_age, self._latest = max_age, {}

    def write(self, entity_id, created_ts: pd.Timestamp, values: dict):
        self._latest[entity_id] = (created_ts, values)  # overwrites

    def read(self, entity_id, now: pd.Timestamp) -> dict | None:
        created_ts, values = self._latest.get(entity_id, (None, None))
        if created_ts is None or now - created_ts > self.max_age:
            return None
        return values
        # endregion


def serve_and_log(labels: pd.DataFrame, features: pd.DataFrame, max_age: pd.Timedelta) -> pd.DataFrame:
    """Replay time: each feature row becomes readable at its ``created_ts``; each request
    (a label's timestamp) reads the online store, and the values it served are logged.

    At equal timestamps the request is served first: a value written at that instant
    was not there yet, as ``allow_exact_matches=False`` says offline.
    """
    store = OnlineStore(max_age)
    writes = [(row.created_ts, 1, i) for i, row in enumerate(features.itertuples(index=False))]
    requests = [(row.label_ts, 0, i) for i, row in enumerate(labels.itertuples(index=False))]
    served: dict[int, dict | None] = {}
    for ts, kind, i in sorted(writes + requests, key=lambda event: event[:2]):
        if kind == 1:
            row = features.iloc[i]
            store.write(row[ENTITY], ts, {name: row[name] for name in FEATURES})
        else:
            served[i] = store.read(labels.iloc[i][ENTITY], ts)
    log = labels.reset_index(drop=True).copy()
    for name in FEATURES:
        log[name] = [np.nan if served[i] is None else served[i][name] for i in range(len(log))]
    return log


def naive_latest_join(labels: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The leaky version: each entity's most recent feature value, whenever it was computed."""
    latest = features.sort_values("feature_ts").groupby(ENTITY).tail(1)
    return labels.merge(latest, on=ENTITY, how="left")


def make_data(n_users: int = 30, n_labels: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A feature log and label events on an hourly grid over 30 days (so exact timestamp ties happen)."""
    rng = np.random.default_rng(seed)
    start, hours = pd.Timestamp("2024-01-01"), 30 * 24
    n_rows = n_users * 12
    features = pd.DataFrame(
        {
            ENTITY: rng.integers(0, n_users, n_rows),
            "feature_ts": start + pd.to_timedelta(rng.choice(hours, n_rows, replace=False), unit="h"),
            # The pipeline writes each value 0-5 hours after the window it describes closes.
            "lag_h": rng.integers(0, 6, n_rows),
            "orders_7d": rng.poisson(3, n_rows),
            "avg_basket_7d": rng.gamma(2.0, 20.0, n_rows).round(2),
        }
    )
    features["created_ts"] = features["feature_ts"] + pd.to_timedelta(features.pop("lag_h"), unit="h")
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
    print("PIT rows using values not yet written:", int((pit["created_ts"] >= pit["label_ts"]).sum()))
