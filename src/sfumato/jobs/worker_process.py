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
import select
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
READY = b"ready\n"
# The status `sfumato worker` exits with when it refuses its settings (`cli.common.refuse`): a child
# that does so before it ever served is not restarted, and the server does not start either.
REFUSED = 2
# How long `start()` waits for the first child to say it serves (it loads torch and the catalog).
READY_TIMEOUT_S = 300.0


class WorkerRefused(Exception):
    """The worker refused the server's settings (it said why on stderr, shared with the server's)."""


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
    def alive(self) -> bool:
        """Whether the worker process runs now (between a death and its restart it does not)."""
        process = self._process
        return process is not None and process.poll() is None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the child and wait until it serves, so settings it cannot honour (a device this machine
        lacks, an engine option) stop the server at start, as an in-process worker's would: WorkerRefused.
        A child that dies otherwise is restarted by the watcher, as later."""
        if self._watcher is not None:
            return  # started already (`sfumato serve` starts it before the app's lifespan does)
        ready_read = self._spawn(report_ready=True)
        code = self._await_ready(ready_read, ready_timeout_s)
        if code == REFUSED:
            self._stopping.set()
            raise WorkerRefused(f"the worker process refused its settings (exit status {code})")
        self._watcher = threading.Thread(target=self._watch, name="sfumato-worker-supervisor", daemon=True)
        self._watcher.start()

    def _await_ready(self, ready_read: int | None, timeout_s: float) -> int | None:
        """None once the child says it serves (or has not said so in `timeout_s`); its exit status if it
        ended first."""
        assert ready_read is not None
        deadline = time.monotonic() + timeout_s
        said = b""
        try:
            while READY not in said:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([ready_read], [], [], left)[0]:
                    return None
                chunk = os.read(ready_read, 64)
                if not chunk:  # the child closed it without saying so: it is ending
                    process = self._process
                    assert process is not None
                    try:
                        return process.wait(30)
                    except subprocess.TimeoutExpired:
                        return None
                said += chunk
            return None
        finally:
            os.close(ready_read)

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

    def _spawn(self, report_ready: bool = False) -> int | None:
        """Start a child; with `report_ready`, the read end of the pipe it says "ready" on."""
        command = [sys.executable, "-m", "sfumato", "worker", "--control-stdin"]
        ready_read, ready_write = os.pipe() if report_ready else (None, None)
        if ready_write is not None:
            command += ["--ready-fd", str(ready_write)]
        try:
            # A session of its own: a terminal's Ctrl-C reaches the server only, which then stops the
            # child in order (a child stopped first would be restarted mid-shutdown).
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                env=child_environment(self.settings),
                start_new_session=True,
                pass_fds=() if ready_write is None else (ready_write,),
            )
        finally:
            if ready_write is not None:
                os.close(ready_write)
        with self._lock:
            self._process, self._stdin = process, process.stdin
        log.info("worker process %d started", process.pid)
        return ready_read

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
