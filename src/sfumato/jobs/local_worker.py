"""The embedded worker: threads in the server process that claim jobs from the database.

The database is the queue, so nothing is lost when the process stops: QUEUED jobs wait
in their rows, and a job interrupted by shutdown goes back to QUEUED. `notify()` wakes an
idle worker at once; otherwise it polls.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sfumato.jobs.runner import JobContext, JobInterrupted, run_job
from sfumato.store.repositories import claim_next_job, requeue_lapsed_jobs

log = logging.getLogger(__name__)


class LocalWorker:
    def __init__(self, ctx: JobContext, threads: int, poll_interval_s: float, lease_s: float) -> None:
        self.ctx = ctx
        self.thread_count = threads
        self.poll_interval_s = poll_interval_s
        self.lease_s = lease_s
        # Unique per process start: a lease names who holds a job.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self.ctx.session_factory() as session:
            recovered = requeue_lapsed_jobs(session)
        if recovered:
            log.warning("re-queued %d job(s) whose worker died", recovered)
        for index in range(self.thread_count):
            thread = threading.Thread(target=self._loop, name=f"sfumato-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        """A job was queued: wake an idle worker instead of waiting for the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop claiming; a running pipeline stops at its next step and its job is re-queued."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def _check_stopping(self, _done: int, _total: int) -> None:
        if self._stopping.is_set():
            raise JobInterrupted

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before claiming, so a notify during the claim is kept
            try:
                with self.ctx.session_factory() as session:
                    job = claim_next_job(session, self.owner, self.lease_s)
            except Exception:  # a database hiccup must not kill the worker
                log.exception("claiming a job failed; retrying")
                job = None
            if job is None:
                self._wake.wait(self.poll_interval_s)
                continue
            run_job(self.ctx, job.id, on_step=self._check_stopping)
