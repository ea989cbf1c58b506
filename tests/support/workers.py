"""A real `sfumato worker` process for tests: its own log, started until it says it serves,
stopped with SIGTERM (its exit status kept, to see a clean stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.fake_hub import CLOSED_HUB_URL
from tests.support.polling import poll_until

READY = "serving"


@dataclass
class Worker:
    data_dir: Path
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    returncode: int | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path is not None else ""

    def start(self, timeout_s: float = 120) -> None:
        self.spawn()
        self.wait_ready(timeout_s)

    def spawn(self) -> None:
        """Start the process without waiting for it (to start other processes meanwhile)."""
        self.log_path = self.data_dir / f"worker-{time.monotonic_ns()}.log"
        env = {**os.environ, "SFUMATO_TORCH_THREADS": "1", "SFUMATO_HUB_ENDPOINT": CLOSED_HUB_URL, **self.env}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sfumato", "worker", "--data-dir", str(self.data_dir), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def wait_ready(self, timeout_s: float = 120) -> None:
        process = self.process
        assert process is not None, "spawn() first"

        def ready() -> bool | None:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited early ({process.returncode}):\n{self.log()}")
            return True if READY in self.log() else None

        poll_until(ready, timeout_s, 0.2, f"worker not serving in {timeout_s}s")

    def stop(self) -> int:
        """SIGTERM, then its exit status (killed after a deadline, which the status then shows)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.returncode = self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.returncode = self.process.wait()
            self.process = None
        assert self.returncode is not None
        return self.returncode

    @contextmanager
    def running(self) -> Iterator[Worker]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
