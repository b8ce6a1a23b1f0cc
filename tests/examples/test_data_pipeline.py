import torch
from example_support import assert_fits_on_card, load_example

dp = load_example("data_pipeline")


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def assert_same_batches(a, b):
    assert len(a) == len(b) > 0
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(xa, xb)
        assert torch.equal(ya, yb)


def test_region_fits_on_a_card():
    assert_fits_on_card("data_pipeline.py", "loader")


def test_parallel_cached_path_yields_exactly_the_sequential_batches(tmp_path):
    raw = dp.make_raw_events(n=1_000)
    parallel = dp.make_loader(dp.cached_features(raw, tmp_path), batch_size=50, num_workers=2, seed=7)
    sequential = dp.make_loader(dp.preprocess(raw), batch_size=50, num_workers=0, seed=7)

    assert parallel.num_workers == 2 and parallel.prefetch_factor == 4 and parallel.persistent_workers
    assert sequential.num_workers == 0
    epochs = [(batches(parallel), batches(sequential)) for _ in range(2)]  # 2nd epoch reuses the workers
    for from_parallel, from_sequential in epochs:
        assert_same_batches(from_parallel, from_sequential)
    (first, _), (second, _) = epochs
    assert not torch.equal(first[0][0], second[0][0])  # reshuffled each epoch
    labels = torch.cat([y for _, y in first])
    assert len(labels) == 1_000  # 20 full batches, nothing dropped or duplicated
    del parallel  # shuts down the persistent workers


def test_cache_is_written_once_and_keyed_on_the_data(tmp_path, monkeypatch):
    calls = []
    original = dp.preprocess

    def counting_preprocess(raw):
        calls.append(len(raw))
        return original(raw)

    monkeypatch.setattr(dp, "preprocess", counting_preprocess)
    raw = dp.make_raw_events(n=300, seed=1)

    first = dp.cached_features(raw, tmp_path)
    again = dp.cached_features(raw, tmp_path)
    assert calls == [300]  # the second call read the Parquet cache
    assert first.equals(again)
    assert first[dp.FEATURES].equals(original(raw)[dp.FEATURES])  # the cache round-trips exactly

    dp.cached_features(dp.make_raw_events(n=300, seed=2), tmp_path)
    assert calls == [300, 300]  # new data, new cache entry
    assert len(list(tmp_path.glob("features-*.parquet"))) == 2
    assert not list(tmp_path.glob("*.tmp"))
