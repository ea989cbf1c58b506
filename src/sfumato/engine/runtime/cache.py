"""A memory-bounded, thread-safe LRU cache of loaded pipelines, with one load per cold model.

Pipelines are big (GBs on a real model), so an unbounded dict eventually runs a server out of
accelerator or host memory once operators serve more than a few models. The cache instead keeps
the most recently used pipelines that fit a byte budget, one for the accelerator and one for host
RAM, because they run out independently. Loads are slow (seconds to minutes), so concurrent
requests for the same cold model share a single load, and loads of different models never wait
for each other: the global lock is held only for bookkeeping, never across a load.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

import torch

log = logging.getLogger(__name__)

P = TypeVar("P")


@dataclass(frozen=True)
class Footprint:
    """Bytes of parameters and buffers a pipeline holds, split by where they live."""

    host_bytes: int = 0
    device_bytes: int = 0


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of the cache's work (what a benchmark or status page reads); counters are cumulative."""

    hits: int
    misses: int  # requests that found no entry, including those that joined another's load
    loads: int  # loader calls, successful or not
    load_failures: int
    evictions: int
    entries: int
    host_bytes: int
    device_bytes: int


def pipeline_weights(pipe: object) -> Iterator[tuple[str, torch.Tensor]]:
    """(component name, tensor) for every parameter and buffer of each torch module in
    `pipe.components`; tensors shared between components (tied weights) come once."""
    components = getattr(pipe, "components", None) or {}
    seen: set[int] = set()
    for name, module in components.items():
        if not isinstance(module, torch.nn.Module):
            continue
        for tensor in [*module.parameters(), *module.buffers()]:
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor


def pipeline_footprint(pipe: object) -> Footprint:
    """Sum parameter + buffer bytes of a pipeline's weights (`pipeline_weights`), by device.

    Anything not on the CPU counts against the accelerator, except meta tensors: in a cached
    pipeline they are the placeholders sequential CPU offload leaves while accelerate's hooks keep
    the real weights in host RAM, so their size counts against the host.
    """
    host = device = 0
    for _name, tensor in pipeline_weights(pipe):
        if tensor.device.type in ("cpu", "meta"):
            host += tensor.nbytes
        else:
            device += tensor.nbytes
    return Footprint(host_bytes=host, device_bytes=device)


class PipelineCache(Generic[P]):
    """LRU cache of pipelines keyed by model path, bounded by device and host byte budgets.

    A budget of None means unbounded. Eviction only drops the cache's reference: a render that
    already holds the pipeline keeps using it, and its memory goes when that render ends.
    """

    def __init__(self, device_budget_bytes: int | None = None, host_budget_bytes: int | None = None) -> None:
        self.device_budget_bytes = device_budget_bytes
        self.host_budget_bytes = host_budget_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[P, Footprint]] = OrderedDict()  # least recently used first
        self._pending: dict[str, Future[P]] = {}
        self._hits = self._misses = self._loads = self._load_failures = self._evictions = 0

    def get_or_load(self, key: str, loader: Callable[[], P]) -> P:
        """Return the cached pipeline for `key`, or load it once however many threads ask at once.

        If the load raises, every caller waiting on it gets that exception and nothing is cached (a later
        request retries). Budgets are enforced after a load, since a pipeline's size is known only then.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                return entry[0]
            self._misses += 1
            future = self._pending.get(key)
            if leader := future is None:
                future = self._pending[key] = Future()
                self._loads += 1
        if not leader:
            return future.result()  # re-raises the leader's exception
        try:
            pipe = loader()
            footprint = pipeline_footprint(pipe)
        except BaseException as exc:
            with self._lock:
                self._load_failures += 1
                del self._pending[key]
            future.set_exception(exc)
            raise
        with self._lock:
            self._entries[key] = (pipe, footprint)
            del self._pending[key]
            evicted = self._evict_over_budget(keep=key)
        future.set_result(pipe)
        if evicted:
            log.info("pipeline cache evicted %s to make room for %s", evicted, key)
            _release_accelerator_memory()
        return pipe

    def _evict_over_budget(self, keep: str) -> list[str]:
        """Drop least recently used entries (never `keep`) until each budget is met; lock held."""
        evicted: list[str] = []
        while True:
            host_used, device_used = self._used()
            over_host = self.host_budget_bytes is not None and host_used > self.host_budget_bytes
            over_device = self.device_budget_bytes is not None and device_used > self.device_budget_bytes
            if not (over_host or over_device):
                return evicted
            # Only entries holding bytes in an over-budget pool help; skip the others.
            victim = next(
                (k for k, e in self._entries.items() if k != keep and self._helps(e, over_host, over_device)), None
            )
            if victim is None:
                log.warning("pipeline %s alone exceeds the cache budget (host %d/%s, device %d/%s bytes); keeping it",
                            keep, host_used, self.host_budget_bytes, device_used, self.device_budget_bytes)  # fmt: skip
                return evicted
            del self._entries[victim]
            self._evictions += 1
            evicted.append(victim)

    @staticmethod
    def _helps(entry: tuple[P, Footprint], over_host: bool, over_device: bool) -> bool:
        return bool((over_host and entry[1].host_bytes) or (over_device and entry[1].device_bytes))

    def _used(self) -> tuple[int, int]:
        host = sum(f.host_bytes for _, f in self._entries.values())
        device = sum(f.device_bytes for _, f in self._entries.values())
        return host, device

    def stats(self) -> CacheStats:
        """Counters and the bytes each budget currently holds."""
        with self._lock:
            host_used, device_used = self._used()
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                loads=self._loads,
                load_failures=self._load_failures,
                evictions=self._evictions,
                entries=len(self._entries),
                host_bytes=host_used,
                device_bytes=device_used,
            )


def _release_accelerator_memory() -> None:
    """Hand freed CUDA blocks back to the driver, so other processes and allocators see them."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
