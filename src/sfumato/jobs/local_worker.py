"""The database worker: threads that claim jobs from the `jobs` table (the embedded default's queue).

The database is the queue, so nothing is lost when the process stops: QUEUED jobs wait in their
rows, and a job interrupted by shutdown goes back to QUEUED. `notify()` wakes an idle thread at once;
otherwise they poll. Running a claimed job is the executor's (`jobs.executor`); a recovery sweep
(`jobs.recovery`), at start and then periodically, re-queues jobs whose worker died.

It runs in the server process (`SFUMATO_WORKER_PROCESS=false`), in the worker process `serve`
supervises, or alone as `sfumato worker`.
"""

from __future__ import annotations

import logging
import threading
import time

from sfumato.jobs.executor import JobExecutor
from sfumato.jobs.lease import claim_next, new_owner
from sfumato.jobs.recovery import recover_lost_jobs
from sfumato.jobs.runner import JobContext

log = logging.getLogger(__name__)


class LocalWorker:
    def __init__(
        self,
        ctx: JobContext,
        threads: int,
        poll_interval_s: float,
        lease_s: float,
        default_concurrency: int = 10,
        models: frozenset[str] | None = None,
    ) -> None:
        self.ctx = ctx
        self.models = models  # claim only these catalog models' jobs (`sfumato worker --models`); None: all
        self.thread_count = threads
        self.poll_interval_s = poll_interval_s
        self.lease_s = lease_s
        self.default_concurrency = default_concurrency
        self.owner = new_owner()  # unique per process start: `host:pid:token`
        self.sweep_interval_s = max(poll_interval_s, min(lease_s / 3, 60.0))
        self.executor = JobExecutor(ctx)
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def start(self) -> None:
        self._sweep()
        for index in range(self.thread_count):
            thread = threading.Thread(target=self._loop, name=f"sfumato-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        """A job was queued: wake an idle worker instead of waiting for the next poll."""
        self._wake.set()

    def cancel(self, generation_id: str) -> None:
        """A generation was deleted: if it runs here, stop its pipeline at the next step."""
        self.executor.cancel(generation_id)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop claiming; a running pipeline stops at its next step and its job is re-queued."""
        self.executor.stop()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def _sweep(self) -> None:
        if recover_lost_jobs(self.ctx, self.owner):
            self._wake.set()

    def _maybe_sweep(self) -> None:
        """Run the recovery sweep from whichever thread gets here first once it is due."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + self.sweep_interval_s
        try:
            self._sweep()
        except Exception:  # a database hiccup must not kill the worker
            log.exception("recovery sweep failed; retrying later")

    def _loop(self) -> None:
        while not self.executor.stopping.is_set():
            self._maybe_sweep()
            self._wake.clear()  # before claiming, so a notify during the claim is kept
            try:
                lease = claim_next(
                    self.ctx.session_factory, self.owner, self.lease_s, self.default_concurrency, self.models
                )
            except Exception:  # a database hiccup must not kill the worker
                log.exception("claiming a job failed; retrying")
                lease = None
            if lease is None:
                self._wake.wait(self.poll_interval_s)
                continue
            self.executor.execute(lease)
            self._wake.set()  # a slot of this job's key is free: another waiting job may start
