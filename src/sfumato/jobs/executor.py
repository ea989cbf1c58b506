"""Running claimed jobs in this process, for either worker kind (`LocalWorker` claiming from the
database, `CeleryWorker` claiming the job a message names).

A running pipeline's step callback stops it between steps when this process shuts down (the job goes
back to QUEUED without spending an attempt), when its generation was deleted (told here by
`cancel()`, or read from the database within about a second from any process), and renews the lease.
"""

from __future__ import annotations

import logging
import threading
import time

from sfumato.engine import StepCallback
from sfumato.jobs.lease import Lease, LeaseLost
from sfumato.jobs.queue import record_progress
from sfumato.jobs.runner import JobContext, JobInterrupted, abandon_job, run_job

log = logging.getLogger(__name__)

# How often a running job's step is written for progress streams, at most.
PROGRESS_INTERVAL_S = 0.25


class JobExecutor:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}  # job id -> generation id, for jobs this process runs
        self._cancelled: set[str] = set()  # generation ids deleted while running here

    def cancel(self, generation_id: str) -> None:
        """A generation was deleted: if it runs here, stop its pipeline at the next step."""
        with self._lock:
            if generation_id in self._running.values():
                self._cancelled.add(generation_id)

    def stop(self) -> None:
        """Running pipelines stop at their next step; their jobs go back to the queue."""
        self.stopping.set()

    def execute(self, lease: Lease) -> None:
        """Run the job held under `lease` to its end (or back to the queue); never raises."""
        with self._lock:
            self._running[lease.job_id] = lease.generation_id
        log.info("running job %s of generation %s", lease.job_id, lease.generation_id)
        try:
            run_job(self.ctx, lease, on_step=self._step_guard(lease))
        except Exception as error:  # run_job records a job's own failure; this is a bug or the DB
            log.exception("running job %s broke outside its own failure handling", lease.job_id)
            self._abandon(lease, error)
        finally:
            with self._lock:
                self._running.pop(lease.job_id, None)
                self._cancelled.discard(lease.generation_id)

    def _step_guard(self, lease: Lease) -> StepCallback:
        """The per-step callback: shutdown and DELETE checks, the lease's upkeep, then the progress
        (written at most every `PROGRESS_INTERVAL_S`, and at the last step)."""
        keep_lease = lease.guard()
        last_written = 0.0

        def on_step(done: int, total: int) -> None:
            nonlocal last_written
            if self.stopping.is_set():
                raise JobInterrupted
            with self._lock:
                if lease.generation_id in self._cancelled:
                    raise LeaseLost
            keep_lease()
            now = time.monotonic()
            if now - last_written >= PROGRESS_INTERVAL_S or done >= total:
                last_written = now
                self._record_progress(lease, done, total)

        return on_step

    def _record_progress(self, lease: Lease, done: int, total: int) -> None:
        try:
            with self.ctx.session_factory() as session:
                record_progress(session, lease.job_id, lease.owner, done, total)
        except Exception:  # progress is for watchers: a busy database must not stop the render
            log.warning("could not record the progress of job %s", lease.job_id, exc_info=True)

    def _abandon(self, lease: Lease, error: Exception) -> None:
        """Retry or end a job whose run broke, now; only if even that fails (the database is down)
        is it left to the lease sweep."""
        try:
            abandon_job(self.ctx, lease, f"internal error: {type(error).__name__}")
        except Exception:
            log.exception("could not end job %s; the lease sweep will retry it", lease.job_id)
