import time

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
    cached = dp.FeatureDataset(dp.cached_features(raw, tmp_path))
    parallel = dp.make_loader(cached, batch_size=50, num_workers=2, seed=7)
    sequential = dp.make_loader(dp.FeatureDataset(dp.preprocess(raw)), batch_size=50, num_workers=0, seed=7)

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


STEP_S = 0.04  # one training step on the accelerator; the host CPU is idle meanwhile


def train_epoch(loader) -> tuple[float, float, list]:
    """Run one epoch of simulated training; return its wall time, this process's CPU time and the labels."""
    labels = []
    started, cpu = time.perf_counter(), time.process_time()
    for _, y in loader:
        labels.append(y.clone())
        time.sleep(STEP_S)  # the GPU computes; a tuned loader decodes the next batches now
    return time.perf_counter() - started, time.process_time() - cpu, labels


def test_tuned_loader_decodes_in_its_workers_while_the_training_loop_waits():
    images = dp.make_jpegs(n=192, size=160)
    dataset = dp.JpegDataset(images, [i % 10 for i in range(len(images))])
    naive = dp.make_loader(dataset, batch_size=16, num_workers=0, seed=3)
    tuned = dp.make_loader(dataset, batch_size=16, num_workers=2, seed=3)

    train_epoch(tuned)  # starts the persistent workers
    tuned_s, tuned_cpu, tuned_labels = train_epoch(tuned)
    naive_s, naive_cpu, naive_labels = train_epoch(naive)
    del tuned

    assert sorted(torch.cat(tuned_labels).tolist()) == sorted(torch.cat(naive_labels).tolist())
    # Serial: the training loop decodes every batch between steps. Tuned: the workers decode
    # while the step runs, and the loop only receives finished batches. CPU time, not wall
    # time: how much faster the epoch ends depends on what else the machine runs.
    print(f"naive {naive_s:.2f} s ({naive_cpu:.2f} s CPU), tuned {tuned_s:.2f} s ({tuned_cpu:.2f} s CPU)")
    assert tuned_cpu < naive_cpu / 2


def test_workers_decode_exactly_what_the_main_process_decodes():
    images = dp.make_jpegs(n=8, size=96, seed=5)
    dataset = dp.JpegDataset(images, list(range(8)), side=64)
    [(x0, y0)] = batches(dp.make_loader(dataset, batch_size=8, num_workers=0))
    [(x1, y1)] = batches(dp.make_loader(dataset, batch_size=8, num_workers=2))
    assert x0.shape == (8, 3, 64, 64) and x0.min() >= 0 and x0.max() <= 1
    assert torch.equal(x0, x1) and torch.equal(y0, y1)
