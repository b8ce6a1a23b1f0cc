"""An async model server: micro-batching, a bounded queue that sheds load, a latency budget with a
fallback, and an LRU cache."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

BatchModel = Callable[[Sequence[Hashable]], Awaitable[Sequence[float]]]


@dataclass(frozen=True)
class Prediction:
    value: float
    source: str  # "model", "cache", "fallback" (late or failed) or "shed" (overload)


class LRUCache(OrderedDict):
    """A bounded mapping that evicts the least recently used entry."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def get(self, key, default=None):
        if key not in self:
            return default
        self.move_to_end(key)  # now the most recently used
        return self[key]

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.capacity:
            self.popitem(last=False)


@dataclass(frozen=True)
class ServerConfig:
    max_batch_size: int = 32
    max_wait_s: float = 0.005  # batching window: latency traded for throughput
    timeout_s: float = 0.1  # latency budget per request, including queueing
    max_queue: int = 64  # about what the model serves within one timeout
    cache_size: int = 10_000


# region batching-server
class BatchingServer:
    """Batches concurrent requests; sheds load rather than queue it."""

    def __init__(self, model: BatchModel, fallback, config):
        self.model, self.fallback, self.config = model, fallback, config
        self.cache = LRUCache(config.cache_size)
        self.queue = asyncio.Queue(maxsize=config.max_queue)  # bounded

    async def predict(self, features: Hashable) -> Prediction:
        if (hit := self.cache.get(features)) is not None:
            return Prediction(hit, "cache")  # no model call at all
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((features, future))
        except asyncio.QueueFull:  # saturated: answer now, cheaply
            return Prediction(self.fallback(features), "shed")
        try:
            budget = self.config.timeout_s
            value = await asyncio.wait_for(future, budget)
        except Exception:  # model error or budget spent: degrade
            return Prediction(self.fallback(features), "fallback")
        self.cache.put(features, value)  # only model answers are cached
        return Prediction(value, "model")

    async def serve_batches(self) -> None:  # one batch in flight
        while True:
            batch = await self.next_batch()
            live = [(x, f) for x, f in batch if not f.done()]
            if live:  # a timed-out caller's future is canceled
                await self.run(live)
        # endregion

    async def next_batch(self) -> list[tuple[Hashable, asyncio.Future]]:
        """Wait for one request, then up to ``max_wait_s`` for a full batch, never longer."""
        loop, config = asyncio.get_running_loop(), self.config
        batch = [await self.queue.get()]
        window_closes = loop.time() + config.max_wait_s
        while len(batch) < config.max_batch_size:
            if not self.queue.empty():
                batch.append(self.queue.get_nowait())
                continue
            left = window_closes - loop.time()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), left))
            except TimeoutError:
                break
        return batch

    async def run(self, batch: list[tuple[Hashable, asyncio.Future]]) -> None:
        """Call the model once for the batch and hand each caller its answer."""
        inputs, futures = zip(*batch, strict=True)
        try:
            for future, value in zip(futures, await self.model(inputs), strict=True):
                if not future.done():  # its caller may have timed out meanwhile
                    future.set_result(value)
        except Exception as error:
            for future in futures:
                if not future.done():
                    future.set_exception(error)

    async def __aenter__(self) -> BatchingServer:
        self._worker = asyncio.create_task(self.serve_batches())
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)


async def demo() -> None:
    async def model(batch):
        await asyncio.sleep(0.01)  # e.g. a GPU forward pass
        return [sum(features) for features in batch]

    async with BatchingServer(model, lambda features: 0.0, ServerConfig()) as server:
        answers = await asyncio.gather(*(server.predict((i, i)) for i in range(10)))
        print([a.source for a in answers], (await server.predict((3, 3))).source)


if __name__ == "__main__":
    asyncio.run(demo())
