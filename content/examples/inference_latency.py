"""Cutting inference latency and cost: int8 dynamic quantization, latency percentiles, micro-batching."""

from __future__ import annotations

import io
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import torch
from torch import nn


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


# region quantize
def quantize_int8(model: nn.Module) -> nn.Module:
    """Dynamic quantization: int8 weights, int8 activations per call.

    No calibration data; for Linear- or LSTM-heavy models on CPU.
    It pays off once matmuls dominate (batches of tens of rows); at
    batch 1, quantizing activations costs what int8 kernels save.
    """
    linear = {nn.Linear}
    return torch.ao.quantization.quantize_dynamic(model.eval(), linear)


def speedup_by_batch(model, quantized, sizes=(1, 8, 64, 256)):
    """fp32 time / int8 time per batch size: measure, never assume."""
    with torch.inference_mode():
        xs = {n: torch.randn(n, 256) for n in sizes}
        return {n: time_ratio(model, quantized, xs[n]) for n in sizes}

    # endregion


def serialized_bytes(model: nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def time_ratio(slow: Callable, fast: Callable, x: torch.Tensor, rounds: int = 9, calls: int = 10) -> float:
    """Median over rounds of slow(x) time / fast(x) time, alternating the two so load drift cancels."""
    for _ in range(3):  # warm-up: caches, allocator, lazy initialization
        slow(x), fast(x)
    ratios = []
    for _ in range(rounds):
        timings = []
        for fn in (slow, fast):
            start = time.perf_counter()
            for _ in range(calls):
                fn(x)
            timings.append(time.perf_counter() - start)
        ratios.append(timings[0] / timings[1])
    return float(np.median(ratios))


def latency_percentiles(fn: Callable[[], object], runs: int = 200, warmup: int = 20) -> dict[str, float]:
    """Call ``fn`` repeatedly and report tail latency in milliseconds (means hide the tail)."""
    for _ in range(warmup):  # caches, allocator, lazy initialization
        fn()
    timings = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        fn()
        timings[i] = (time.perf_counter() - start) * 1e3
    p50, p95, p99 = np.percentile(timings, [50, 95, 99]).tolist()
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "mean_ms": float(timings.mean()), "runs": runs}


# region micro-batcher
class MicroBatcher:
    """Answer many threads with batched model calls: at most
    ``max_batch_size`` inputs, sent ``max_wait_s`` after the first."""

    def __init__(self, predict, max_batch_size=32, max_wait_s=0.005):
        self.predict, self.max_batch_size = predict, max_batch_size
        self.max_wait_s = max_wait_s
        self._requests = queue.Queue()  # (x, Future) pairs; None: stop

    def run(self) -> None:  # the worker loop, in one background thread
        while (request := self._requests.get()) is not None:
            batch = [request]
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch_size:
                wait = max(deadline - time.monotonic(), 0)
                try:  # queued requests join even after the deadline
                    request = self._requests.get(timeout=wait)
                except queue.Empty:
                    break
                if request is None:  # stop after answering this batch
                    self._requests.put(None)
                    break
                batch.append(request)
            inputs, futures = zip(*batch, strict=True)
            try:
                outputs = self.predict(torch.stack(inputs))
                for future, out in zip(futures, outputs, strict=True):
                    future.set_result(out)
            except Exception as error:  # fail callers, not the thread
                for future in futures:
                    future.set_exception(error)
                    # endregion

    def submit(self, x: torch.Tensor) -> Future:
        future: Future = Future()
        self._requests.put((x, future))
        return future

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread

    def stop(self, thread: threading.Thread) -> None:
        """Answer everything already submitted, then end the worker thread."""
        self._requests.put(None)
        thread.join()


if __name__ == "__main__":
    model = make_model()
    quantized = quantize_int8(make_model())
    x = torch.randn(1, 256)
    print(f"size: {serialized_bytes(model):,} -> {serialized_bytes(quantized):,} bytes")
    with torch.inference_mode():
        for name, m in [("fp32", model), ("int8", quantized)]:
            print(name, {k: round(v, 3) for k, v in latency_percentiles(lambda m=m: m(x)).items()})
    print(
        "int8 speedup by batch size:", {n: round(r, 2) for n, r in speedup_by_batch(model, quantized).items()}
    )
