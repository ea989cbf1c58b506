"""What PipelineCache saves: a cold model load from disk vs a cache hit, and one load per cold burst.

Builds Sfumato Tiny in a temporary folder, then measures in one run:
  1. cold load: `DiffusionPipeline.from_pretrained(path, local_files_only=True)` (median of --cold runs);
  2. cache hit: `PipelineCache.get_or_load` on a warm key (median of --hits calls);
  3. --threads concurrent requests for one cold key: how many loads they cause (should be 1) and
     their wall time next to one cold load.
Tiny is ~a few MB, so the cold figure is mostly from_pretrained's fixed cost; real models take
seconds to minutes to load, which makes the hit's advantage larger still.
The last line is `hit_vs_cold_ratio=<median hit / median cold load>` (smaller is better).

Run: `.venv/bin/python benchmarks/model_cache.py [--cold 10] [--hits 10000] [--threads 8]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sfumato.engine.runtime.library_noise import quiet_ml_libraries

quiet_ml_libraries()  # before diffusers loads: its import-time advisories are not benchmark output

from diffusers.pipelines.pipeline_utils import DiffusionPipeline  # noqa: E402

from sfumato.engine.runtime.cache import PipelineCache, pipeline_footprint  # noqa: E402
from sfumato.engine.weights.tiny import ensure_tiny_model  # noqa: E402


def load(path: str) -> DiffusionPipeline:
    pipe = DiffusionPipeline.from_pretrained(path, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def cold_load_seconds(path: str, runs: int) -> list[float]:
    load(path)  # warm-up: imports, page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        load(path)
        times.append(time.perf_counter() - start)
    return times


def hit_seconds(path: str, calls: int) -> list[float]:
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    cache.get_or_load(path, lambda: load(path))
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        cache.get_or_load(path, lambda: load(path))
        times.append(time.perf_counter() - start)
    assert cache.stats().loads == 1
    return times


def concurrent_cold(path: str, threads: int) -> tuple[int, int, float]:
    """`threads` requests released together on a cold cache: loader calls, distinct objects, wall (s)."""
    cache: PipelineCache[DiffusionPipeline] = PipelineCache()
    calls = 0
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def loader() -> DiffusionPipeline:
        nonlocal calls
        with lock:
            calls += 1
        return load(path)

    def request(_: int) -> DiffusionPipeline:
        barrier.wait()
        return cache.get_or_load(path, loader)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(request, range(threads)))
    wall = time.perf_counter() - start
    return calls, len({id(r) for r in results}), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", type=int, default=10, help="cold loads timed")
    parser.add_argument("--hits", type=int, default=10000, help="cache hits timed")
    parser.add_argument("--threads", type=int, default=8, help="concurrent requests for one cold model")
    args = parser.parse_args()
    torch.set_num_threads(2)

    with tempfile.TemporaryDirectory() as tmp:
        path = str(ensure_tiny_model(Path(tmp) / "sfumato-tiny"))
        size = pipeline_footprint(load(path))
        cold = statistics.median(cold_load_seconds(path, args.cold))
        hit = statistics.median(hit_seconds(path, args.hits))
        loads, objects, wall = concurrent_cold(path, args.threads)

    print(f"{'model':<28} Sfumato Tiny, {size.host_bytes / 1e6:.2f} MB of parameters+buffers on cpu")
    print(f"{'cold load (median)':<28} {cold * 1000:10.2f} ms  (from_pretrained from disk, n={args.cold})")
    print(f"{'cache hit (median)':<28} {hit * 1e6:10.2f} us  (get_or_load on a warm key, n={args.hits})")
    print(f"{'speed-up':<28} {cold / hit:10.0f} x")
    print(
        f"{f'{args.threads} concurrent cold':<28} loads={loads} distinct_objects={objects} "
        f"wall={wall * 1000:.2f} ms ({wall / cold:.2f}x one cold load)"
    )
    print(f"hit_vs_cold_ratio={hit / cold:.3g}")


if __name__ == "__main__":
    main()
