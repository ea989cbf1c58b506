"""PipelineCache on real Sfumato Tiny pipelines loaded from disk: hits, LRU eviction, single-flight."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from sfumato.engine.runtime.cache import PipelineCache, pipeline_footprint
from sfumato.engine.weights.tiny import ensure_tiny_model


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Three model folders; identical weights, which is fine since the cache keys by path."""
    root = tmp_path_factory.mktemp("cache-models")
    return [str(ensure_tiny_model(root / f"tiny-{i}")) for i in range(3)]


class CountingLoader:
    """Loads a model from disk for real, counting calls per path."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, path: str) -> Callable[[], DiffusionPipeline]:
        def load() -> DiffusionPipeline:
            with self._lock:
                self.calls[path] = self.calls.get(path, 0) + 1
            return DiffusionPipeline.from_pretrained(path, local_files_only=True)

        return load


@pytest.fixture(scope="module")
def one_pipeline_bytes(models: list[str]) -> int:
    pipe = DiffusionPipeline.from_pretrained(models[0], local_files_only=True)
    footprint = pipeline_footprint(pipe)
    assert footprint.device_bytes == 0  # loaded on the CPU
    assert footprint.host_bytes > 100_000  # unet + vae + text encoder are all counted
    return footprint.host_bytes


def test_hit_returns_the_same_object(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    load = CountingLoader()
    first = cache.get_or_load(models[0], load(models[0]))
    assert cache.get_or_load(models[0], load(models[0])) is first
    assert load.calls == {models[0]: 1}
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.loads, stats.entries) == (1, 1, 1, 1)
    assert stats.host_bytes == pipeline_footprint(first).host_bytes and stats.device_bytes == 0


def test_loading_a_third_evicts_the_least_recently_used(models: list[str], one_pipeline_bytes: int) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(host_budget_bytes=int(2.5 * one_pipeline_bytes))
    load = CountingLoader()
    a, b, c = models
    evicted_a = cache.get_or_load(a, load(a))
    cache.get_or_load(b, load(b))
    cache.get_or_load(c, load(c))
    assert cache.keys() == [b, c]
    assert cache.stats().evictions == 1
    assert cache.stats().host_bytes <= 2.5 * one_pipeline_bytes
    # The evicted object still works for whoever holds it; asking again loads a fresh one.
    assert evicted_a.unet is not None
    assert cache.get_or_load(a, load(a)) is not evicted_a
    assert load.calls[a] == 2
    assert cache.keys() == [c, a]


def test_touching_an_entry_changes_which_is_evicted(models: list[str], one_pipeline_bytes: int) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(host_budget_bytes=int(2.5 * one_pipeline_bytes))
    load = CountingLoader()
    a, b, c = models
    cache.get_or_load(a, load(a))
    cache.get_or_load(b, load(b))
    cache.get_or_load(a, load(a))  # a is now the most recently used
    cache.get_or_load(c, load(c))
    assert cache.keys() == [a, c]
    assert b not in cache


def test_a_device_budget_does_not_evict_host_entries(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(device_budget_bytes=1)
    load = CountingLoader()
    for path in models:
        cache.get_or_load(path, load(path))
    assert cache.keys() == models and cache.stats().evictions == 0


def test_concurrent_cold_requests_share_one_load(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    load = CountingLoader()
    start = threading.Barrier(8)

    def request(_: int) -> DiffusionPipeline:
        start.wait()
        return cache.get_or_load(models[1], load(models[1]))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(request, range(8)))
    assert load.calls == {models[1]: 1}
    assert all(r is results[0] for r in results)
    stats = cache.stats()
    assert stats.loads == 1 and stats.hits + stats.misses == 8


def test_loads_of_different_keys_run_side_by_side(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    load = CountingLoader()
    b_loaded = threading.Event()

    def slow_a() -> DiffusionPipeline:
        # Finishes only after b's whole load, which a global lock held across loads would forbid.
        assert b_loaded.wait(5), "b's load was blocked behind a's"
        return load(models[0])()

    def load_b() -> None:
        cache.get_or_load(models[1], load(models[1]))
        b_loaded.set()

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(cache.get_or_load, models[0], slow_a)
        pool.submit(load_b).result()
        a.result()
    assert sorted(cache.keys()) == sorted(models[:2])


def test_a_failing_load_reaches_every_waiter_and_caches_nothing(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    calls = 0
    release = threading.Event()

    def broken() -> DiffusionPipeline:
        nonlocal calls
        calls += 1
        release.wait(5)  # hold the load open until every waiter has joined it
        return DiffusionPipeline.from_pretrained(models[0] + "-missing", local_files_only=True)

    def request(_: int) -> BaseException | None:
        try:
            cache.get_or_load("broken", broken)
        except Exception as exc:  # collected for the assertions below
            return exc
        return None

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(request, i) for i in range(8)]
        while cache.stats().misses < 8:
            threading.Event().wait(0.005)
        release.set()
        errors = [f.result() for f in futures]
    assert calls == 1
    assert all(isinstance(e, ValueError) for e in errors), errors  # diffusers: not a valid local path
    assert len({id(e) for e in errors}) == 1  # the very same exception object
    assert "broken" not in cache and cache.keys() == []
    assert cache.stats().load_failures == 1
    # The key is not poisoned: the next request loads again.
    assert cache.get_or_load("broken", CountingLoader()(models[0])) is not None


def test_an_entry_larger_than_the_budget_is_still_served(
    models: list[str], one_pipeline_bytes: int, caplog: pytest.LogCaptureFixture
) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(host_budget_bytes=one_pipeline_bytes // 2)
    load = CountingLoader()
    first = cache.get_or_load(models[0], load(models[0]))
    assert "alone exceeds the cache budget" in caplog.text
    assert cache.keys() == [models[0]]
    assert cache.get_or_load(models[0], load(models[0])) is first
    cache.get_or_load(models[1], load(models[1]))  # replaces the oversized one
    assert cache.keys() == [models[1]]


def test_pop_and_clear(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    load = CountingLoader()
    for path in models[:2]:
        cache.get_or_load(path, load(path))
    assert cache.pop(models[0]) and not cache.pop(models[0])
    assert cache.keys() == [models[1]]
    cache.clear()
    assert cache.keys() == [] and cache.stats().host_bytes == 0


def test_footprint_of_a_non_pipeline_is_zero(tmp_path: Path) -> None:
    assert pipeline_footprint(object()).host_bytes == 0


def test_footprint_counts_offload_placeholders_as_host_memory() -> None:
    """Sequential CPU offload leaves meta placeholders while its hooks hold the weights in host RAM."""
    import types

    import torch

    resident, streamed = torch.nn.Linear(4, 4), torch.nn.Linear(8, 8, device="meta")
    pipe = types.SimpleNamespace(components={"a": resident, "b": streamed, "tokenizer": object()})
    footprint = pipeline_footprint(pipe)
    assert footprint.host_bytes == (16 + 4 + 64 + 8) * 4 and footprint.device_bytes == 0


def test_renderer_keeps_loaded_models_within_its_host_budget(models: list[str], one_pipeline_bytes: int) -> None:
    from pathlib import Path

    from sfumato.engine.renderer import Renderer
    from sfumato.engine.request import RenderRequest
    from sfumato.engine.weights.loaders import ModelSource

    renderer = Renderer(host_budget_bytes=int(1.5 * one_pipeline_bytes))
    request = RenderRequest("a cat", "", 32, 32, 1, 0, 7.0, 2, "EULER_DISCRETE")
    first, second = (ModelSource.from_folder(Path(m)) for m in models[:2])
    assert len(renderer.render(first, request)) == 1
    assert len(renderer.render(second, request)) == 1
    assert renderer.loaded() == [second.key]  # the first was evicted to fit the budget
