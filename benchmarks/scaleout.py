"""What the distributed path (API + broker + Celery workers, PostgreSQL, S3) costs and buys against
the embedded one (`sfumato serve` with its supervised child worker), side by side in one run.

  a) jobs/s: N tiny generations (64x64) submitted at once, first POST to last COMPLETE: embedded,
     scale-out with 1 and 2 workers on Redis (and RabbitMQ with `--rabbitmq`).
  b) added latency per job: generations one at a time, p50/p99 of POST -> COMPLETE, embedded vs
     scale-out with 1 worker, and the p50 difference.
  c) API latency under load: 50 polling clients (GET /generations/{id} every `--poll-interval` s)
     and one POST stream while the worker renders larger tiny jobs (256x256) back to back: GET and
     POST p50/p99 for embedded with SFUMATO_WORKER_PROCESS=true (child worker) and =false (threads
     in the server process), and the scale-out API.
Nothing is asserted: it prints figures. Clients, moto's S3 server and every process share this
machine's cores, so compare rows of one run, not figures across machines or runs.

Run: `.venv/bin/python benchmarks/scaleout.py [--quick] [--rabbitmq]` (needs PostgreSQL and Redis
on loopback, as the integration suite does; a missing service is reported and its rows skipped).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.polling import poll_until
from tests.support.scaleout import deployment
from tests.support.server import TERMINAL, TINY_MODEL_ID, Server, wait_for_generation

ENV = {
    "SFUMATO_TORCH_THREADS": "1",
    "SFUMATO_JOB_POLL_INTERVAL_S": "0.5",
    # Measure throughput and latency, not the per-key limits (100 creates/min, 200 pending by default).
    "SFUMATO_KEY_RATE_PER_MINUTE": "1000000",
    "SFUMATO_KEY_QUEUE_CAP": "1000000",
}


def body(size: int, steps: int, seed: int = 0) -> dict[str, Any]:
    return {
        "prompt": "a lighthouse at dusk",
        "modelId": TINY_MODEL_ID,
        "width": size,
        "height": size,
        "num_images": 1,
        "num_inference_steps": steps,
        "seed": seed,
        "alchemy": False,
        "presetStyle": "NONE",
        "scheduler": "EULER_DISCRETE",
    }


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def ms(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q) * 1000:8.1f}"


@dataclass(frozen=True)
class Options:
    jobs: int
    steps: int
    serial: int
    clients: int
    poll_interval_s: float
    load_s: float
    rabbitmq: bool


def post(client: httpx.Client, request: dict[str, Any]) -> str:
    response = client.post("/generations", json=request)
    response.raise_for_status()
    return str(response.json()["sdGenerationJob"]["generationId"])


def status(client: httpx.Client, generation_id: str) -> str:
    return str(client.get(f"/generations/{generation_id}").json()["generations_by_pk"]["status"])


def warm_up(client: httpx.Client, steps: int) -> None:
    """One render first, so model loading (per worker process) is not in the timings."""
    done = wait_for_generation(client, post(client, body(64, steps)), timeout_s=300)
    assert done["status"] == "COMPLETE", done


def throughput(client: httpx.Client, opts: Options) -> tuple[float, int]:
    """(jobs/s, how many ended COMPLETE) for `opts.jobs` generations POSTed at once by 8 threads."""
    start = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda seed: post(client, body(64, opts.steps, seed)), range(opts.jobs)))
    pending, complete = set(ids), 0

    def all_done() -> bool:
        nonlocal complete
        for generation_id in list(pending):
            state = status(client, generation_id)
            if state in TERMINAL:
                pending.discard(generation_id)
                complete += state == "COMPLETE"
        return not pending

    poll_until(all_done, timeout_s=900, interval_s=0.05, message="burst not finished")
    return opts.jobs / (time.perf_counter() - start), complete


def serial_latencies(client: httpx.Client, opts: Options) -> list[float]:
    """POST -> COMPLETE (seen by a client polling every 20 ms), one generation at a time."""
    latencies = []
    for seed in range(opts.serial):
        start = time.perf_counter()
        done = wait_for_generation(client, post(client, body(64, opts.steps, seed)), timeout_s=300, poll_s=0.02)
        latencies.append(time.perf_counter() - start)
        assert done["status"] == "COMPLETE", done
    return latencies


def under_load(server: Server, key: str, opts: Options) -> dict[str, Any]:
    """GET and POST latencies (s) while the worker renders 256x256 jobs back to back, and how many it finished."""
    big = body(256, 10)
    with server.http(key) as client:
        target = post(client, body(64, opts.steps))
        backlog = [post(client, {**big, "seed": seed}) for seed in range(3)]  # busy before the clients start
        poll_until(lambda: status(client, backlog[0]) != "PENDING", 120, 0.05, "the worker never started")
    stop = threading.Event()
    gets: list[float] = []
    posts: list[float] = []
    created: list[str] = []
    lock = threading.Lock()

    def poller() -> None:
        with server.http(key) as client:
            while not stop.is_set():
                start = time.perf_counter()
                client.get(f"/generations/{target}").raise_for_status()
                took = time.perf_counter() - start
                with lock:
                    gets.append(took)
                stop.wait(max(0.0, opts.poll_interval_s - took))

    def poster() -> None:
        # A new 256x256 job every 0.25 s (plus the POST's own time): more than one worker renders.
        with server.http(key) as client:
            seed = 100
            while not stop.is_set():
                start = time.perf_counter()
                created.append(post(client, {**big, "seed": seed}))
                posts.append(time.perf_counter() - start)
                seed += 1
                stop.wait(0.25)

    threads = [threading.Thread(target=poller) for _ in range(opts.clients)] + [threading.Thread(target=poster)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop.wait(opts.load_s)
    stop.set()
    for thread in threads:
        thread.join(60)
    wall = time.perf_counter() - started
    with server.http(key) as client:
        rendered = sum(status(client, i) == "COMPLETE" for i in backlog + created)
    return {"gets": gets, "posts": posts, "wall": wall, "rendered": rendered, "queued": len(backlog + created)}


def print_load(label: str, result: dict[str, Any]) -> None:
    gets, posts, wall = result["gets"], result["posts"], result["wall"]
    print(
        f"  {label:<34} GET p50 {ms(gets, 0.5)} p99 {ms(gets, 0.99)} ms ({len(gets) / wall:6.1f}/s)"
        f"  POST p50 {ms(posts, 0.5)} p99 {ms(posts, 0.99)} ms (n={len(posts)})"
        f"  rendered {result['rendered']}/{result['queued']} in {wall:.0f} s"
    )


def measure(
    label: str,
    start: Callable[[], AbstractContextManager[Server]],
    opts: Options,
    parts: str,
    figures: dict[str, Any],
) -> None:
    """Run `parts` (a, b, c) on one deployment; a missing service skips it with the reason."""
    try:
        with start() as server:
            key = str(server.create_key("bench")["apiKey"])
            with server.http(key) as client:
                warm_up(client, opts.steps)
                if "a" in parts:
                    rate, complete = throughput(client, opts)
                    figures[f"a:{label}"] = rate
                    print(f"  {label:<34} {rate:6.2f} jobs/s  ({complete}/{opts.jobs} COMPLETE)")
                if "b" in parts:
                    latencies = serial_latencies(client, opts)
                    figures[f"b:{label}"] = percentile(latencies, 0.5)
                    print(f"  {label:<34} POST->COMPLETE p50 {ms(latencies, 0.5)} p99 {ms(latencies, 0.99)} ms")
            if "c" in parts:
                print_load(label, under_load(server, key, opts))
    except pytest.skip.Exception as skipped:
        print(f"  {label:<34} skipped: {skipped}")


@contextmanager
def embedded(data_dir: Path, worker_process: bool) -> Iterator[Server]:
    env = {**ENV, "SFUMATO_WORKER_PROCESS": "true" if worker_process else "false"}
    with Server(data_dir, env=env).running() as server:
        yield server


@contextmanager
def scaled(data_dir: Path, broker: str, workers: int) -> Iterator[Server]:
    with deployment(data_dir, broker=broker, workers=workers, s3_process=True, **ENV) as running:
        yield running.server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer jobs and a shorter load phase")
    parser.add_argument("--rabbitmq", action="store_true", help="also the 1- and 2-worker bursts on RabbitMQ")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between one client's GETs")
    args = parser.parse_args()
    opts = Options(
        jobs=24 if args.quick else 60,
        steps=10,  # the API refuses fewer than 10 (Leonardo's range)
        serial=10 if args.quick else 30,
        clients=args.clients,
        poll_interval_s=args.poll_interval,
        load_s=8.0 if args.quick else 20.0,
        rabbitmq=args.rabbitmq,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every S3 request otherwise
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}; torch 1 thread per process")
    print(f"jobs: 64x64, {opts.steps} steps, 1 image (tiny model)")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"-- a) jobs/s, {opts.jobs} generations POSTed at once, first POST to last COMPLETE")
        print("-- b) one at a time, POST -> COMPLETE")
        print(f"-- c) {opts.clients} clients polling every {opts.poll_interval_s:g} s + POSTs, worker rendering")
        print("      256x256 10-step jobs (printed with each deployment, after its a/b rows)")
        measure("embedded (child worker process)", lambda: embedded(root / "emb", True), opts, "abc", figures)
        measure("embedded (worker threads in server)", lambda: embedded(root / "emb-t", False), opts, "ac", figures)
        measure("scale-out redis, 1 worker", lambda: scaled(root / "r1", "redis", 1), opts, "abc", figures)
        measure("scale-out redis, 2 workers", lambda: scaled(root / "r2", "redis", 2), opts, "a", figures)
        if opts.rabbitmq:
            measure("scale-out rabbitmq, 1 worker", lambda: scaled(root / "q1", "rabbitmq", 1), opts, "ab", figures)
            measure("scale-out rabbitmq, 2 workers", lambda: scaled(root / "q2", "rabbitmq", 2), opts, "a", figures)
    embedded_rate = figures.get("a:embedded (child worker process)")
    for workers in ("1 worker", "2 workers"):
        rate = figures.get(f"a:scale-out redis, {workers}")
        if rate and embedded_rate:
            print(f"jobs_ratio_redis_{workers.split()[0]}={rate / embedded_rate:.2f} (scale-out over embedded)")
    one, two = figures.get("a:scale-out redis, 1 worker"), figures.get("a:scale-out redis, 2 workers")
    if one and two:
        print(f"scaling_2_over_1={two / one:.2f} (on {os.cpu_count()} CPUs shared with the API, clients and services)")
    base, dist = figures.get("b:embedded (child worker process)"), figures.get("b:scale-out redis, 1 worker")
    if base and dist:
        print(f"added_latency_p50_ms={(dist - base) * 1000:.1f} (scale-out 1 worker minus embedded)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
