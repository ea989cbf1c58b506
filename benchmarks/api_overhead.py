"""How much Sfumato's HTTP + queue + storage path costs over calling the pipeline directly.

First the floor: a bare FastAPI route returning a small JSON (`benchmarks/fastapi_floor.py`, same
uvicorn settings), GET under the same concurrent clients. Then real servers on loopback (own data
dir, 1 torch thread), API-only (`SFUMATO_WORKER_THREADS=0`) and with 1 worker rendering, each:
  1. POST /generations latency under concurrent clients (p50/p99, requests/s);
  2. GET /generations/{id} latency under concurrent clients (p50/p99, requests/s);
  and their p50s over the floor's (`get_ratio`, goal <= 2; `post_ratio`, goal <= 3; issue #14).
  3. With the worker: POST -> COMPLETE wall time for one generation at a time, vs the same tiny
     pipeline (64x64, 10 steps, 1 image) called directly in this process with 1 torch thread.
The last line is `overhead_ratio=<POST->COMPLETE / direct>`. The floor moves with the machine's load:
compare ratios from one run, not p50s across runs.

Run: `.venv/bin/python benchmarks/api_overhead.py [--clients 8] [--requests 200] [--serial 20]`
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sfumato.engine.runtime.library_noise import quiet_ml_libraries

quiet_ml_libraries()  # before diffusers loads: its import-time advisories are not benchmark output

from sfumato.engine.renderer import Renderer  # noqa: E402
from sfumato.engine.request import RenderRequest  # noqa: E402
from sfumato.engine.weights.loaders import ModelSource  # noqa: E402
from sfumato.engine.weights.tiny import ensure_tiny_model  # noqa: E402
from tests.support.polling import poll_until  # noqa: E402
from tests.support.server import TINY_MODEL_ID, Server, free_port, wait_for_generation  # noqa: E402

BODY = {
    "prompt": "a lighthouse at dusk",
    "modelId": TINY_MODEL_ID,
    "width": 64,
    "height": 64,
    "num_images": 1,
    "num_inference_steps": 10,
    "alchemy": False,
    "presetStyle": "NONE",
    "scheduler": "EULER_DISCRETE",
}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed_requests(count: int, clients: int, call: object) -> tuple[list[float], float]:
    """Run `call(client)` `count` times over `clients` threads; latencies (s) and wall time."""

    def worker(n: int) -> list[float]:
        latencies = []
        with httpx.Client(timeout=60) as client:
            for _ in range(n):
                start = time.perf_counter()
                call(client)  # type: ignore[operator]
                latencies.append(time.perf_counter() - start)
        return latencies

    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(worker, shares))
    return [x for r in results for x in r], time.perf_counter() - start


def report(name: str, latencies: list[float], wall: float) -> None:
    print(
        f"{name:<28} n={len(latencies):<5} p50={percentile(latencies, 0.5) * 1000:8.2f} ms "
        f"p99={percentile(latencies, 0.99) * 1000:8.2f} ms  {len(latencies) / wall:8.1f} req/s"
    )


def direct_render_seconds(models_dir: Path, runs: int) -> float:
    """The same pipeline, called in-process with the server's thread count (1)."""
    torch.set_num_threads(1)
    model = ModelSource.from_folder(ensure_tiny_model(models_dir / "sfumato-tiny"))
    renderer = Renderer()
    request = RenderRequest(
        prompt=BODY["prompt"], negative_prompt="", width=64, height=64, num_images=1, seed=0,
        guidance_scale=7.0, num_inference_steps=10, scheduler="EULER_DISCRETE",
    )  # fmt: skip
    renderer.render(model, request)  # warm-up: load and first call
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        renderer.render(model, RenderRequest(**{**request.__dict__, "seed": seed}))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def start_floor(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The bare FastAPI floor (`benchmarks/fastapi_floor.py`) on a free port; its base URL once it answers."""
    port = free_port()
    log = (log_dir / "floor.log").open("wb")
    script = Path(__file__).with_name("fastapi_floor.py")
    process = subprocess.Popen([sys.executable, str(script), str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    poll_until(answers, timeout_s=60, interval_s=0.2, message="the FastAPI floor did not start")
    return process, base


def api_latencies(server: Server, requests: int, clients: int) -> tuple[float, float, str, str]:
    """POST and GET bursts on `server`: their p50s (s), the key they used and the last generation's id."""
    key = server.create_key("bench")["apiKey"]
    headers = {"Authorization": f"Bearer {key}"}
    api = server.api_url

    def post(client: httpx.Client) -> None:
        response = client.post(f"{api}/generations", json=BODY, headers=headers)
        assert response.status_code == 200, response.text

    latencies, wall = timed_requests(requests, clients, post)
    report(f"POST /generations x{clients}", latencies, wall)
    post_p50 = percentile(latencies, 0.5)

    with server.http(key) as client:
        target = client.post("/generations", json=BODY).json()["sdGenerationJob"]["generationId"]

    def get(client: httpx.Client) -> None:
        response = client.get(f"{api}/generations/{target}", headers=headers)
        assert response.status_code == 200

    latencies, wall = timed_requests(requests * 2, clients, get)
    report(f"GET /generations/{{id}} x{clients}", latencies, wall)
    return post_p50, percentile(latencies, 0.5), key, target


def ratios(label: str, floor: float, post_p50: float, get_p50: float) -> None:
    print(f"{label}: get_ratio={get_p50 / floor:.2f} (goal <= 2) post_ratio={post_p50 / floor:.2f} (goal <= 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--serial", type=int, default=20, help="generations timed POST -> COMPLETE")
    args = parser.parse_args()
    env = {
        "SFUMATO_TORCH_THREADS": "1",
        "SFUMATO_JOB_POLL_INTERVAL_S": "0.5",
        # Measure the API, not the per-key limits (100 creates/min, 200 pending by default).
        "SFUMATO_KEY_RATE_PER_MINUTE": "1000000",
        "SFUMATO_KEY_QUEUE_CAP": "1000000",
    }

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        print("-- bare FastAPI floor (uvicorn, one `def` route, small JSON)")
        process, base = start_floor(data_dir)
        try:
            latencies, wall = timed_requests(args.requests * 2, args.clients, lambda c: c.get(f"{base}/floor"))
            report(f"GET floor x{args.clients}", latencies, wall)
            floor = percentile(latencies, 0.5)
        finally:
            process.terminate()
            process.wait(30)

        print("-- API only (SFUMATO_WORKER_THREADS=0)")
        with Server(data_dir / "api-only", env={**env, "SFUMATO_WORKER_THREADS": "0"}).running() as server:
            post_p50, get_p50, _, _ = api_latencies(server, args.requests, args.clients)
        ratios("api_only", floor, post_p50, get_p50)

        print("-- with 1 worker rendering the burst (serve's supervised child process, the default)")
        with Server(data_dir / "worker", env=env).running() as server:
            post_p50, get_p50, key, target = api_latencies(server, args.requests, args.clients)
            ratios("with_worker", floor, post_p50, get_p50)
            # Drain the queue the POST burst made, so serial timings see an idle worker.
            with server.http(key) as client:
                wait_for_generation(client, target, timeout_s=600)
                end_to_end = []
                for seed in range(args.serial):
                    start = time.perf_counter()
                    generation_id = client.post("/generations", json={**BODY, "seed": seed}).json()["sdGenerationJob"][
                        "generationId"
                    ]
                    done = wait_for_generation(client, generation_id, poll_s=0.05)
                    end_to_end.append(time.perf_counter() - start)
                    assert done["status"] == "COMPLETE"

        direct = direct_render_seconds(data_dir / "bench-models", args.serial)

    api_median = statistics.median(end_to_end)
    print(f"{'direct pipeline (median)':<28} {direct * 1000:8.2f} ms  (64x64, 10 steps, 1 thread)")
    print(f"{'POST->COMPLETE (median)':<28} {api_median * 1000:8.2f} ms  (same request through the API)")
    print(f"overhead_ratio={api_median / direct:.3f}")


if __name__ == "__main__":
    main()
