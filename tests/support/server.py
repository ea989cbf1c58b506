"""A real `sfumato serve` process for tests and benchmarks: free port, own data dir,
keys made by the real CLI, and the official Leonardo Python SDK pointed at it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from leonardo_ai_sdk import LeonardoAiSDK

from tests.support.fake_hub import CLOSED_HUB_URL
from tests.support.polling import poll_until

TINY_MODEL_ID = "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c"
TERMINAL = {"COMPLETE", "FAILED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`sfumato ARGS --data-dir D`; raises on a non-zero exit unless `check` is False."""
    return subprocess.run(
        [sys.executable, "-m", "sfumato", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Server:
    """A `sfumato serve` process; restartable on the same data dir."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    args: tuple[str, ...] = ()  # more `sfumato serve` options (`--no-worker`)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/rest/v1"

    def start(self, timeout_s: float = 120) -> None:
        self.log_path = self.data_dir / f"server-{time.monotonic_ns()}.log"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        # The hub is a refused loopback port unless the test names one: tests never reach the real hub.
        env = {**os.environ, "SFUMATO_TORCH_THREADS": "1", "SFUMATO_HUB_ENDPOINT": CLOSED_HUB_URL, **self.env}
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "sfumato", "serve", "--data-dir", str(self.data_dir)),
                *("--port", str(self.port), *self.args),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout_s}s:\n{self.log_path.read_text()}")

    @contextmanager
    def running(self) -> Iterator[Server]:
        """Started for the `with` block, stopped after it (what every server fixture does)."""
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def create_key(self, name: str, *extra: str) -> dict[str, Any]:
        result = run_cli(self.data_dir, "keys", "create", "--name", name, *extra, env=self.env)
        return dict(json.loads(result.stdout))

    def sdk(self, api_key: str, client: httpx.Client | None = None) -> LeonardoAiSDK:
        """The official Python SDK; `client` lets a test see the bytes the SDK sends."""
        return LeonardoAiSDK(bearer_auth=api_key, server_url=self.api_url, client=client)

    def http(self, api_key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)


def wait_for_generation(
    client: httpx.Client, generation_id: str, timeout_s: float = 120, poll_s: float = 0.1
) -> dict[str, Any]:
    """Poll GET /generations/{id} as Leonardo's clients do, until COMPLETE or FAILED."""

    def finished() -> dict[str, Any] | None:
        body = client.get(f"/generations/{generation_id}").json()["generations_by_pk"]
        return dict(body) if body is not None and body["status"] in TERMINAL else None

    return poll_until(finished, timeout_s, poll_s, f"generation {generation_id} not finished")
