"""PipelineCache on real Sfumato Tiny pipelines loaded from disk: hits, LRU eviction, single-flight.

What is cached is observed the way a caller sees it: a cached key is served without calling its
loader, an evicted one calls it again.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline

from sfumato.engine.renderer import LoadedModel, Renderer
from sfumato.engine.request import RenderRequest
from sfumato.engine.runtime.cache import PipelineCache, pipeline_footprint
from sfumato.engine.weights.loaders import ModelSource
from sfumato.engine.weights.tiny import ensure_tiny_model
from tests.support.polling import poll_until


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
    assert (cache.stats().entries, cache.stats().evictions) == (2, 1)
    assert cache.stats().host_bytes <= 2.5 * one_pipeline_bytes
    # The evicted object still works for whoever holds it; asking again loads a fresh one, evicting b (now the LRU).
    assert evicted_a.unet is not None
    assert cache.get_or_load(a, load(a)) is not evicted_a
    assert cache.stats().evictions == 2
    cache.get_or_load(c, load(c))
    assert load.calls == {a: 2, b: 1, c: 1}  # c stayed
    cache.get_or_load(b, load(b))
    assert load.calls == {a: 2, b: 2, c: 1}  # b had left


def test_touching_an_entry_changes_which_is_evicted(models: list[str], one_pipeline_bytes: int) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(host_budget_bytes=int(2.5 * one_pipeline_bytes))
    load = CountingLoader()
    a, b, c = models
    cache.get_or_load(a, load(a))
    cache.get_or_load(b, load(b))
    cache.get_or_load(a, load(a))  # a is now the most recently used
    cache.get_or_load(c, load(c))
    cache.get_or_load(a, load(a))
    cache.get_or_load(c, load(c))
    assert load.calls == {a: 1, b: 1, c: 1}  # a and c stayed
    cache.get_or_load(b, load(b))
    assert load.calls[b] == 2  # b had left


def test_a_device_budget_does_not_evict_host_entries(models: list[str]) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(device_budget_bytes=1)
    load = CountingLoader()
    for path in models:
        cache.get_or_load(path, load(path))
    assert (cache.stats().entries, cache.stats().evictions) == (3, 0)


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
    assert load.calls == {models[0]: 1, models[1]: 1} and cache.stats().entries == 2


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
        poll_until(lambda: cache.stats().misses == 8, 5, 0.005, "8 requests joined the load")
        release.set()
        errors = [f.result() for f in futures]
    assert calls == 1
    assert all(isinstance(e, ValueError) for e in errors), errors  # diffusers: not a valid local path
    assert len({id(e) for e in errors}) == 1  # the very same exception object
    assert cache.stats().entries == 0 and cache.stats().load_failures == 1
    # The key is not poisoned: the next request loads again.
    assert cache.get_or_load("broken", CountingLoader()(models[0])) is not None


def test_an_entry_larger_than_the_budget_is_still_served(models: list[str], one_pipeline_bytes: int) -> None:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache(host_budget_bytes=one_pipeline_bytes // 2)
    load = CountingLoader()
    first = cache.get_or_load(models[0], load(models[0]))
    assert cache.get_or_load(models[0], load(models[0])) is first
    assert cache.stats().entries == 1 and load.calls == {models[0]: 1}
    cache.get_or_load(models[1], load(models[1]))  # replaces the oversized one
    assert (cache.stats().entries, cache.stats().evictions) == (1, 1)


def test_footprint_of_a_non_pipeline_is_zero() -> None:
    assert pipeline_footprint(object()).host_bytes == 0


def test_footprint_counts_offload_placeholders_as_host_memory() -> None:
    """Sequential CPU offload leaves meta placeholders while its hooks hold the weights in host RAM."""
    resident, streamed = torch.nn.Linear(4, 4), torch.nn.Linear(8, 8, device="meta")
    pipe = types.SimpleNamespace(components={"a": resident, "b": streamed, "tokenizer": object()})
    footprint = pipeline_footprint(pipe)
    assert footprint.host_bytes == (16 + 4 + 64 + 8) * 4 and footprint.device_bytes == 0


def test_renderer_keeps_loaded_models_within_its_host_budget(models: list[str], one_pipeline_bytes: int) -> None:
    cache: PipelineCache[LoadedModel] = PipelineCache(host_budget_bytes=int(1.5 * one_pipeline_bytes))
    renderer = Renderer(cache=cache)
    request = RenderRequest("a cat", "", 32, 32, 1, 0, 7.0, 2, "EULER_DISCRETE")
    first, second = (ModelSource.from_folder(Path(m)) for m in models[:2])
    assert len(renderer.render(first, request)) == 1
    assert len(renderer.render(second, request)) == 1
    assert (cache.stats().entries, cache.stats().evictions, cache.stats().loads) == (1, 1, 2)
    renderer.render(second, request)
    assert cache.stats().loads == 2  # the second stayed; the first was evicted to fit the budget
