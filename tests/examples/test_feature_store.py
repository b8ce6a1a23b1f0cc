import math

import pandas as pd
import pytest
from example_support import assert_fits_on_card, load_example

fs = load_example("feature_store")

MAX_AGE = pd.Timedelta(days=7)


@pytest.fixture(scope="module")
def data():
    return fs.make_data(seed=0)


def brute_force_latest(features, entity_id, label_ts):
    """The definition, written the slow obvious way."""
    rows = features[(features[fs.ENTITY] == entity_id) & (features["created_ts"] < label_ts)]
    rows = rows[label_ts - rows["created_ts"] <= MAX_AGE]
    return None if rows.empty else rows.loc[rows["created_ts"].idxmax()]


def test_region_fits_on_a_card():
    assert_fits_on_card("feature_store.py", "point-in-time-join")


def test_naive_latest_join_leaks_future_values(data):
    features, labels = data
    naive = fs.naive_latest_join(labels, features)
    assert (naive["feature_ts"] > naive["label_ts"]).mean() > 0.5


def test_point_in_time_join_never_uses_a_value_written_at_or_after_the_label(data):
    features, labels = data
    ties = labels.merge(features, left_on=[fs.ENTITY, "label_ts"], right_on=[fs.ENTITY, "created_ts"])
    assert len(ties) > 0  # the data contains exact-timestamp ties, so the boundary is exercised

    joined = fs.point_in_time_join(labels, features, MAX_AGE)
    assert len(joined) == len(labels)
    matched = joined.dropna(subset=["created_ts"])
    assert (matched["created_ts"] < matched["label_ts"]).all()
    assert (matched["label_ts"] - matched["created_ts"] <= MAX_AGE).all()
    assert 0 < len(matched) < len(joined)  # some labels have no fresh enough history


def test_point_in_time_join_picks_the_latest_eligible_row(data):
    features, labels = data
    joined = fs.point_in_time_join(labels, features, MAX_AGE)
    for row in joined.itertuples(index=False):
        expected = brute_force_latest(features, getattr(row, fs.ENTITY), row.label_ts)
        if expected is None:
            assert pd.isna(row.created_ts)
        else:
            assert row.created_ts == expected["created_ts"]
            assert row.orders_7d == expected["orders_7d"]


def served_equals_joined(log, joined) -> list[bool]:
    """Per label: did training see exactly the values serving logged (both missing counts)?"""
    key = [fs.ENTITY, "label_ts", "churned"]
    both = log.merge(joined, on=key, suffixes=("_served", "_train"))
    assert len(both) == len(log)
    return [
        all(
            (math.isnan(a) and math.isnan(b)) or a == b
            for a, b in ((getattr(row, f"{n}_served"), getattr(row, f"{n}_train")) for n in fs.FEATURES)
        )
        for row in both.itertuples(index=False)
    ]


def test_training_sees_exactly_what_serving_served(data):
    features, labels = data
    labels = labels.drop_duplicates([fs.ENTITY, "label_ts"])  # one request per user and instant
    log = fs.serve_and_log(labels, features, MAX_AGE)  # the online store keeps no history

    same = served_equals_joined(log, fs.point_in_time_join(labels, features, MAX_AGE))
    assert all(same)
    assert log[fs.FEATURES[0]].notna().sum() > 100  # most requests were served real values


def test_joining_on_event_time_instead_of_availability_is_timing_skew(data):
    features, labels = data
    labels = labels.drop_duplicates([fs.ENTITY, "label_ts"])
    log = fs.serve_and_log(labels, features, MAX_AGE)

    by_event_time = fs.point_in_time_join(labels, features, MAX_AGE, on="feature_ts")
    mismatches = len(log) - sum(served_equals_joined(log, by_event_time))
    print(f"{mismatches} of {len(log)} training rows differ from what serving saw")
    assert mismatches > 10  # values the model would train on before serving could read them


def test_exact_timestamp_and_staleness_boundaries():
    t = pd.Timestamp("2024-03-01 12:00")
    features = pd.DataFrame(
        {
            fs.ENTITY: [1, 1, 2],
            "feature_ts": [t - pd.Timedelta(hours=3), t - pd.Timedelta(hours=1), t - MAX_AGE],
            "created_ts": [t - pd.Timedelta(hours=1), t, t - MAX_AGE - pd.Timedelta(seconds=1)],
            "orders_7d": [5, 99, 7],
            "avg_basket_7d": [10.0, 99.0, 20.0],
        }
    )
    labels = pd.DataFrame({fs.ENTITY: [1, 2, 3], "label_ts": [t, t, t], "churned": [0, 1, 0]})
    joined = fs.point_in_time_join(labels, features, MAX_AGE).set_index(fs.ENTITY)
    log = fs.serve_and_log(labels, features, MAX_AGE).set_index(fs.ENTITY)

    assert joined.loc[1, "orders_7d"] == log.loc[1, "orders_7d"] == 5  # written at label time: not yet
    assert pd.isna(joined.loc[2, "orders_7d"]) and pd.isna(log.loc[2, "orders_7d"])  # too old
    assert pd.isna(log.loc[3, "orders_7d"])  # unknown entity

    store = fs.OnlineStore(MAX_AGE)
    store.write(1, t, {"orders_7d": 1})
    store.write(1, t + pd.Timedelta(hours=1), {"orders_7d": 2})
    assert store.read(1, t + pd.Timedelta(hours=2)) == {"orders_7d": 2}  # only the latest is kept
    assert store.read(1, t + MAX_AGE + pd.Timedelta(hours=2)) is None
