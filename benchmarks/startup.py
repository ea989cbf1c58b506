"""How fast a Sfumato process starts, API-only against one that also renders.

Measured side by side in one run, each a fresh interpreter, `--repeat` times (median shown):
  1. `import sfumato.api.app` + `create_app(...)` with `worker_threads=0` (API only) and with 1
     worker thread (which loads torch and the engine's renderer at startup);
  2. `sfumato serve` from process start to the first 200 from `/healthz`, API-only and with a worker.
The last line is `serve_ratio=<worker serve / API-only serve>` (issue #10's goal: API-only answers
`/healthz` within 3 s on a quiet 2-core machine).

Run: `.venv/bin/python benchmarks/startup.py [--repeat 3]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import free_port

_BUILD_APP = (
    "import sys, time; t = time.monotonic(); from sfumato.api.app import create_app; "
    "from sfumato.config import Settings; create_app(Settings(data_dir=sys.argv[1], worker_threads=int(sys.argv[2]))); "
    "print(time.monotonic() - t)"
)
DEADLINE_S = 120.0


def build_app_s(workers: int) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        ran = subprocess.run(
            [sys.executable, "-c", _BUILD_APP, data_dir, str(workers)],
            capture_output=True,
            text=True,
            check=True,
            timeout=DEADLINE_S,
            env={**os.environ, "SFUMATO_TORCH_THREADS": "1"},
        )
        return float(ran.stdout.strip().splitlines()[-1])


def serve_to_healthz_s(workers: int) -> float:
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "SFUMATO_WORKER_THREADS": str(workers), "SFUMATO_TORCH_THREADS": "1"}
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "sfumato", "serve", "--data-dir", data_dir, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            while time.monotonic() - started < DEADLINE_S:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            raise RuntimeError(f"no /healthz answer in {DEADLINE_S} s")
        finally:
            process.terminate()
            process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    for label, measure in (("create_app", build_app_s), ("serve_to_healthz", serve_to_healthz_s)):
        for workers, mode in ((0, "api_only"), (1, "with_worker")):
            samples = [measure(workers) for _ in range(args.repeat)]
            figures[f"{label}_{mode}"] = statistics.median(samples)
            print(f"{label} {mode}: median {figures[f'{label}_{mode}']:.2f} s over {args.repeat} runs")
    print(f"serve_ratio={figures['serve_to_healthz_with_worker'] / figures['serve_to_healthz_api_only']:.2f}")


if __name__ == "__main__":
    main()
