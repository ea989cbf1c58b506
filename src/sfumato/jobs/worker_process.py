"""The worker `sfumato serve` runs beside itself: a `sfumato worker` child process it starts,
watches and restarts if it dies, so the API answers while a model runs (a render in the server
process would hold its GIL and stretch every request's latency).

The child gets exactly the server's settings (`Settings.as_environment`) and reads commands on its
stdin, one per line: `wake` (a job was queued: claim now instead of at the next poll) and
`cancel <generation id>` (deleted: stop its pipeline at the next step). End of input means the
server is gone, and the child stops too: no orphan keeps rendering after a killed server.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import IO

from sfumato.config import ENV_PREFIX, Settings

log = logging.getLogger(__name__)

# Restart delays after the child dies: doubling from the first, capped at the last.
FIRST_RESTART_DELAY_S = 0.5
MAX_RESTART_DELAY_S = 30.0
# A child that ran this long before dying was healthy: its next restart starts from the first delay.
HEALTHY_RUN_S = 60.0

WAKE = "wake"
CANCEL = "cancel"


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with every `SFUMATO_*` variable replaced by `settings`' own."""
    inherited = {name: value for name, value in os.environ.items() if not name.upper().startswith(ENV_PREFIX)}
    return {**inherited, **settings.as_environment()}


class WorkerSupervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="sfumato-worker-supervisor", daemon=True)
        self._watcher.start()

    def notify(self) -> None:
        """A job was queued: have the worker claim it now."""
        self._tell(WAKE)

    def cancel(self, generation_id: str) -> None:
        """A generation was deleted: stop its pipeline at the next step if the worker runs it."""
        self._tell(f"{CANCEL} {generation_id}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM the worker (a running job goes back to the queue at its next step), then wait;
        killed if it has not stopped in `timeout_s`."""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("worker process %d did not stop in %.0f s; killing it", process.pid, timeout_s)
                process.kill()
                process.wait()
        if self._watcher is not None:
            self._watcher.join(5)

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "sfumato", "worker", "--control-stdin"]
        # A session of its own: a terminal's Ctrl-C reaches the server only, which then stops the child
        # in order (a child stopped first would be restarted mid-shutdown).
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, env=child_environment(self.settings), start_new_session=True
        )
        with self._lock:
            self._process, self._stdin = process, process.stdin
        log.info("worker process %d started", process.pid)

    def _tell(self, line: str) -> None:
        with self._lock:
            stdin = self._stdin
            if stdin is None:
                return
            try:
                stdin.write(f"{line}\n".encode())
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):  # the child died: the watcher restarts it
                return

    def _watch(self) -> None:
        delay = FIRST_RESTART_DELAY_S
        while not self._stopping.is_set():
            with self._lock:
                process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_RUN_S:
                delay = FIRST_RESTART_DELAY_S
            level = logging.WARNING if code == 0 else logging.ERROR  # 0: someone stopped it on purpose
            log.log(level, "worker process %d exited with status %d; restarting in %.1f s", process.pid, code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_RESTART_DELAY_S)
            try:
                self._spawn()
                self.restarts += 1
            except OSError:
                log.exception("could not restart the worker process; trying again")
