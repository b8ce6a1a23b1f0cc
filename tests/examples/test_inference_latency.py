import threading

import pytest
import torch
from example_support import assert_fits_on_card, load_example

il = load_example("inference_latency")

pytestmark = pytest.mark.filterwarnings(
    "ignore:torch.ao.quantization is deprecated:DeprecationWarning",
    "ignore:.*quantized tensor creation functions.*:UserWarning",
)


class RecordingModel:
    """A batch model whose output identifies each input row; records every batch size."""

    def __init__(self):
        self.batch_sizes: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        with self.lock:
            self.batch_sizes.append(len(batch))
        return batch * 2 + 1


@pytest.mark.parametrize("region", ["quantize", "micro-batcher"])
def test_regions_fit_on_a_card(region):
    assert_fits_on_card("inference_latency.py", region)


def test_int8_dynamic_quantization_shrinks_the_model_and_keeps_outputs_close():
    model = il.make_model().eval()
    quantized = il.quantize_int8(il.make_model())
    x = torch.randn(64, 256, generator=torch.Generator().manual_seed(1))

    with torch.inference_mode():
        expected, actual = model(x), quantized(x)
    assert il.serialized_bytes(quantized) < 0.35 * il.serialized_bytes(model)  # ~4x smaller weights
    assert all(isinstance(quantized[i], torch.ao.nn.quantized.dynamic.Linear) for i in (0, 2, 4))
    assert (actual - expected).norm() < 0.05 * expected.norm()  # a few percent relative error


def test_latency_percentiles_reports_ordered_tail_latencies():
    model = il.make_model().eval()
    x = torch.randn(1, 256)
    with torch.inference_mode():
        report = il.latency_percentiles(lambda: model(x), runs=50, warmup=5)
    assert set(report) == {"p50_ms", "p95_ms", "p99_ms", "mean_ms", "runs"}
    assert report["runs"] == 50
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["p99_ms"]


def test_queued_requests_are_split_into_full_batches_then_a_partial_one():
    model = RecordingModel()
    batcher = il.MicroBatcher(model, max_batch_size=8, max_wait_s=0.02)
    inputs = [torch.full((3,), float(i)) for i in range(20)]
    futures = [batcher.submit(x) for x in inputs]  # queued before the worker starts: deterministic

    worker = batcher.start()
    results = [f.result(timeout=10) for f in futures]
    batcher.stop(worker)

    assert model.batch_sizes == [8, 8, 4]  # the last 4 are flushed by max_wait, not by size
    for x, result in zip(inputs, results, strict=True):
        assert torch.equal(result, x * 2 + 1)  # each caller gets its own row back


def test_concurrent_callers_never_exceed_max_batch_and_get_their_own_result():
    model = RecordingModel()
    batcher = il.MicroBatcher(model, max_batch_size=5, max_wait_s=0.01)
    worker = batcher.start()
    results: dict[int, torch.Tensor] = {}

    def client(i: int) -> None:
        results[i] = batcher.submit(torch.tensor([float(i)])).result(timeout=10)

    clients = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    batcher.stop(worker)

    assert max(model.batch_sizes) <= 5
    assert sum(model.batch_sizes) == 40
    assert all(torch.equal(results[i], torch.tensor([2.0 * i + 1])) for i in range(40))


def test_a_failing_model_fails_its_callers_and_the_worker_keeps_serving():
    calls = []

    def flaky(batch: torch.Tensor) -> torch.Tensor:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return batch

    batcher = il.MicroBatcher(flaky, max_batch_size=4, max_wait_s=0.01)
    first = [batcher.submit(torch.zeros(1)) for _ in range(4)]
    worker = batcher.start()
    for future in first:
        with pytest.raises(RuntimeError, match="out of memory"):
            future.result(timeout=10)
    assert torch.equal(batcher.submit(torch.ones(1)).result(timeout=10), torch.ones(1))
    batcher.stop(worker)


def test_int8_pays_off_at_large_batches_not_at_batch_one():
    model, quantized = il.make_model(), il.quantize_int8(il.make_model())
    # Measured here: about 0.7 at batch 1 and 2-3 at 256 rows. On a machine busy with
    # other work one sweep can be off, so a second sweep may confirm: a false claim
    # fails both.
    for _ in range(2):
        speedup = il.speedup_by_batch(model, quantized, sizes=(1, 256))
        print("fp32 time / int8 time by batch size:", {n: round(r, 2) for n, r in speedup.items()})
        if speedup[256] > 1.3 and speedup[1] < speedup[256] / 1.3:
            break
    assert speedup[256] > 1.3
    assert speedup[1] < speedup[256] / 1.3  # the gain grows with the batch
