"""The embedded worker: threads in the server process that claim jobs from the database.

The database is the queue, so nothing is lost when the process stops: QUEUED jobs wait
in their rows, and a job interrupted by shutdown goes back to QUEUED. `notify()` wakes an
idle worker at once; otherwise it polls.

While a job runs, its step callback renews the lease (every lease/3 seconds), notices a DELETE
(at once for this process via `cancel()`, within about a second from any process through the
database) and stops the pipeline between steps. A sweep, at start and then periodically,
re-queues jobs whose worker died: at once when the lease owner is a dead process on this host,
otherwise when the lease lapses; a job out of attempts ends FAILED.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sfumato.engine import StepCallback
from sfumato.jobs.lease import Lease, LeaseLost, claim_next, new_owner
from sfumato.jobs.queue import requeue_lapsed_jobs, running_lease_owners
from sfumato.jobs.runner import JobContext, JobInterrupted, abandon_job, fail_job, run_job

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
        self.hostname = socket.gethostname()
        self.owner = new_owner()  # unique per process start: `host:pid:token`
        self.sweep_interval_s = max(poll_interval_s, min(lease_s / 3, 60.0))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}  # job id -> generation id, for jobs this process runs
        self._cancelled: set[str] = set()  # generation ids deleted while running here
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
        with self._lock:
            if generation_id in self._running.values():
                self._cancelled.add(generation_id)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop claiming; a running pipeline stops at its next step and its job is re-queued."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout_s)

    def owner_is_dead(self, owner: str) -> bool:
        """True only for a lease owner that was a process on this host and is gone.

        Owners on other hosts, or whose pid still exists (even a reused one), are left to the lease.
        Our own pid with another token is a previous life of this process (e.g. pid 1 in a container).
        """
        host, pid_text, _token = [*owner.rsplit(":", 2), "", ""][:3]
        if host != self.hostname or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            return owner != self.owner
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _sweep(self) -> None:
        """Re-queue jobs whose worker died; end FAILED those that have used every attempt."""
        with self.ctx.session_factory() as session:
            dead = {owner for owner in running_lease_owners(session) if self.owner_is_dead(owner)}
            lapsed = requeue_lapsed_jobs(session, self.ctx.max_attempts, dead)
        if lapsed.requeued:
            log.warning("re-queued %d job(s) whose worker died", lapsed.requeued)
            self._wake.set()
        for job_id, attempts in lapsed.exhausted:
            log.warning("job %s failed: its worker died %d times", job_id, attempts)
            fail_job(self.ctx, job_id, f"worker died {attempts} times")

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

    def _step_guard(self, lease: Lease) -> StepCallback:
        """The per-step callback: shutdown and DELETE checks, then the lease's upkeep."""
        keep_lease = lease.guard()

        def on_step(_done: int, _total: int) -> None:
            if self._stopping.is_set():
                raise JobInterrupted
            with self._lock:
                if lease.generation_id in self._cancelled:
                    raise LeaseLost
            keep_lease()

        return on_step

    def _abandon(self, lease: Lease, error: Exception) -> None:
        """Retry or end a job whose run broke, now; only if even that fails (the database is down)
        is it left to the lease sweep."""
        try:
            abandon_job(self.ctx, lease, f"internal error: {type(error).__name__}")
        except Exception:
            log.exception("could not end job %s; the lease sweep will retry it", lease.job_id)

    def _loop(self) -> None:
        while not self._stopping.is_set():
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
                self._wake.set()  # a slot of this job's key is free: another waiting job may start
