"""An async model server: micro-batching, a latency budget with a fallback, and an LRU cache."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

BatchModel = Callable[[Sequence[Hashable]], Awaitable[Sequence[float]]]


@dataclass(frozen=True)
class Prediction:
    value: float
    source: str  # "model", "cache" or "fallback"


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
    cache_size: int = 10_000


# region batching-server
class BatchingServer:
    """Groups concurrent requests into one model call; answers within ``timeout_s`` or falls back."""

    def __init__(self, model: BatchModel, fallback: Callable[[Hashable], float], config: ServerConfig):
        self.model, self.fallback, self.config = model, fallback, config
        self.cache, self.queue = LRUCache(config.cache_size), asyncio.Queue()

    async def serve_batches(self) -> None:  # one batch in flight: the accelerator is the bottleneck
        while True:
            batch = [await self.queue.get()]
            await asyncio.sleep(self.config.max_wait_s)  # let concurrent requests join the batch
            while len(batch) < self.config.max_batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            inputs, futures = zip(*batch, strict=True)
            try:
                for future, value in zip(futures, await self.model(inputs), strict=True):
                    if not future.done():  # its caller may have timed out already
                        future.set_result(value)
            except Exception as error:
                for future in futures:
                    if not future.done():
                        future.set_exception(error)

    async def predict(self, features: Hashable) -> Prediction:
        if (cached := self.cache.get(features)) is not None:
            return Prediction(cached, "cache")  # no model call at all
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((features, future))
        try:
            value = await asyncio.wait_for(future, self.config.timeout_s)
        except Exception:  # model error or latency budget exceeded: degrade, don't fail
            return Prediction(self.fallback(features), "fallback")
        self.cache.put(features, value)  # only real model answers are cached
        return Prediction(value, "model")
        # endregion

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
