import asyncio

from example_support import assert_fits_on_card, load_example

sv = load_example("serving")

FALLBACK = -1.0


class FakeModel:
    """An async batch model that records its calls; it can be told to fail or to be slow."""

    def __init__(self, fail: bool = False, delay_s: float = 0.0):
        self.batches: list[tuple] = []
        self.fail, self.delay_s = fail, delay_s
        self.server = None  # set to watch the server's queue from inside each model call
        self.queue_depths: list[int] = []

    async def __call__(self, batch):
        self.batches.append(tuple(batch))
        if self.server is not None:
            self.queue_depths.append(self.server.queue.qsize())
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("model crashed")
        return [float(sum(features)) for features in batch]


def serve(model, requests, **config):
    """Send ``requests`` (lists of features sent concurrently, one list after another) to a fresh server."""

    async def main():
        server_config = sv.ServerConfig(**{"timeout_s": 1.0, **config})
        async with sv.BatchingServer(model, lambda features: FALLBACK, server_config) as server:
            return [await asyncio.gather(*(server.predict(f) for f in wave)) for wave in requests]

    return asyncio.run(main())


def test_region_fits_on_a_card():
    assert_fits_on_card("serving.py", "batching-server")


def test_concurrent_requests_share_one_model_call():
    model = FakeModel()
    [answers] = serve(model, [[(i, 1) for i in range(10)]])
    assert len(model.batches) == 1 and len(model.batches[0]) == 10
    assert [a.value for a in answers] == [float(i + 1) for i in range(10)]  # each caller gets its own
    assert {a.source for a in answers} == {"model"}


def test_batches_never_exceed_the_maximum_size():
    model = FakeModel()
    [answers] = serve(model, [[(i,) for i in range(25)]], max_batch_size=8)
    assert [len(b) for b in model.batches] == [8, 8, 8, 1]
    assert [a.value for a in answers] == [float(i) for i in range(25)]


def test_cache_hits_skip_the_model_and_evict_least_recently_used():
    model = FakeModel()
    waves = [[(1,), (2,)], [(1,)], [(3,)], [(1,), (2,)]]  # (3,) evicts (2,), the least recently used
    answers = serve(model, waves, cache_size=2)
    assert [[a.source for a in wave] for wave in answers] == [
        ["model", "model"],
        ["cache"],
        ["model"],
        ["cache", "model"],
    ]
    assert model.batches == [((1,), (2,)), ((3,),), ((2,),)]


def test_model_failure_falls_back_and_is_not_cached():
    model = FakeModel(fail=True)
    answers = serve(model, [[(1,), (2,)], [(1,)]])
    assert all(a == sv.Prediction(FALLBACK, "fallback") for wave in answers for a in wave)
    assert len(model.batches) == 2  # the fallback was not cached: the model was asked again


def test_timeout_falls_back_and_the_server_keeps_serving():
    slow = FakeModel(delay_s=5.0)
    [[answer]] = serve(slow, [[(1,)]], timeout_s=0.05)  # gives up long before the model answers
    assert answer == sv.Prediction(FALLBACK, "fallback")

    async def slow_then_fast():
        model = FakeModel(delay_s=0.3)
        async with sv.BatchingServer(model, lambda f: FALLBACK, sv.ServerConfig(timeout_s=0.1)) as server:
            first = await server.predict((1,))
            model.delay_s = 0.0
            await asyncio.sleep(0.3)  # the late answer arrives after its caller left: ignored
            return first, await server.predict((2,))

    first, second = asyncio.run(slow_then_fast())
    assert first.source == "fallback"
    assert second == sv.Prediction(2.0, "model")


def flood(model, n_requests, **config):
    """Send ``n_requests`` at once, then, after every caller has its answer, one fresh request."""

    async def main():
        async with sv.BatchingServer(model, lambda f: FALLBACK, sv.ServerConfig(**config)) as server:
            model.server = server
            answers = await asyncio.gather(*(server.predict((i,)) for i in range(n_requests)))
            return answers, await server.predict((-1,))

    return asyncio.run(main())


def test_a_flood_is_shed_at_the_queue_bound_and_the_server_recovers_at_once():
    # The model serves 4 rows per 50 ms; 400 callers arrive together.
    model = FakeModel(delay_s=0.05)
    answers, fresh = flood(model, 400, max_batch_size=4, max_queue=8, timeout_s=1.0)

    sources = [a.source for a in answers]
    assert sources.count("shed") == 400 - 8  # answered at once, never queued
    assert sources.count("model") == 8  # the queued ones, all within their budget
    assert all(a.value == FALLBACK for a in answers if a.source == "shed")
    assert max(model.queue_depths) <= 8
    assert fresh == sv.Prediction(-1.0, "model")  # no backlog left to work through


def test_requests_that_expired_in_the_queue_are_never_computed():
    # The queue admits more than the model can serve within the budget.
    model = FakeModel(delay_s=0.05)
    answers, fresh = flood(model, 100, max_batch_size=4, max_queue=60, timeout_s=0.2)

    sources = [a.source for a in answers]
    served = sources.count("model")
    assert sources.count("shed") == 40 and sources.count("fallback") == 60 - served > 0
    computed = sum(len(batch) for batch in model.batches) - 1  # less the fresh request
    # Only the batch in flight when the budget ran out may finish for callers who left.
    assert served <= computed <= served + 4
    assert fresh == sv.Prediction(-1.0, "model")


def test_a_full_batch_goes_to_the_model_without_waiting_out_the_window():
    # A window far longer than the budget: waiting it out would time every caller out.
    model = FakeModel()
    [answers] = serve(model, [[(i,) for i in range(8)]], max_batch_size=8, max_wait_s=30.0, timeout_s=1.0)
    assert {a.source for a in answers} == {"model"}
    assert [len(b) for b in model.batches] == [8]
