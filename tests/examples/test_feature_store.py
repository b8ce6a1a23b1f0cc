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
    rows = features[(features[fs.ENTITY] == entity_id) & (features["feature_ts"] < label_ts)]
    rows = rows[label_ts - rows["feature_ts"] <= MAX_AGE]
    return None if rows.empty else rows.loc[rows["feature_ts"].idxmax()]


def test_region_fits_on_a_card():
    assert_fits_on_card("feature_store.py", "point-in-time-join")


def test_naive_latest_join_leaks_future_values(data):
    features, labels = data
    naive = fs.naive_latest_join(labels, features)
    assert (naive["feature_ts"] > naive["label_ts"]).mean() > 0.5


def test_point_in_time_join_never_uses_a_feature_stamped_at_or_after_the_label(data):
    features, labels = data
    ties = labels.merge(features, left_on=[fs.ENTITY, "label_ts"], right_on=[fs.ENTITY, "feature_ts"])
    assert len(ties) > 0  # the data contains exact-timestamp ties, so the boundary is exercised

    joined = fs.point_in_time_join(labels, features, MAX_AGE)
    assert len(joined) == len(labels)
    matched = joined.dropna(subset=["feature_ts"])
    assert (matched["feature_ts"] < matched["label_ts"]).all()
    assert (matched["label_ts"] - matched["feature_ts"] <= MAX_AGE).all()
    assert 0 < len(matched) < len(joined)  # some labels have no fresh enough history


def test_point_in_time_join_picks_the_latest_eligible_row(data):
    features, labels = data
    joined = fs.point_in_time_join(labels, features, MAX_AGE)
    for row in joined.itertuples(index=False):
        expected = brute_force_latest(features, getattr(row, fs.ENTITY), row.label_ts)
        if expected is None:
            assert pd.isna(row.feature_ts)
        else:
            assert row.feature_ts == expected["feature_ts"]
            assert row.orders_7d == expected["orders_7d"]


def test_online_store_serves_the_same_values_as_the_offline_join(data):
    features, labels = data
    joined = fs.point_in_time_join(labels, features, MAX_AGE)
    online = fs.materialize(features, MAX_AGE)
    for row in joined.itertuples(index=False):
        served = online.read(getattr(row, fs.ENTITY), row.label_ts)
        if served is None:
            assert all(math.isnan(getattr(row, name)) for name in fs.FEATURES)
        else:
            assert served == {name: getattr(row, name) for name in fs.FEATURES}


def test_exact_timestamp_and_staleness_boundaries():
    t = pd.Timestamp("2024-03-01 12:00")
    features = pd.DataFrame(
        {
            fs.ENTITY: [1, 1, 2],
            "feature_ts": [t - pd.Timedelta(hours=1), t, t - MAX_AGE - pd.Timedelta(seconds=1)],
            "orders_7d": [5, 99, 7],
            "avg_basket_7d": [10.0, 99.0, 20.0],
        }
    )
    labels = pd.DataFrame({fs.ENTITY: [1, 2], "label_ts": [t, t], "churned": [0, 1]})
    joined = fs.point_in_time_join(labels, features, MAX_AGE).set_index(fs.ENTITY)
    online = fs.materialize(features, MAX_AGE)

    assert joined.loc[1, "orders_7d"] == 5  # the value stamped exactly at label time is not used
    assert online.read(1, t) == {"orders_7d": 5, "avg_basket_7d": 10.0}
    assert pd.isna(joined.loc[2, "orders_7d"])  # older than max_age: missing
    assert online.read(2, t) is None
    assert online.read(3, t) is None  # unknown entity
