"""`sfumato worker` with `SFUMATO_QUEUE=celery`: a Celery worker whose task runs one named job.

The task body claims its job in the database (under the key's concurrency, like the database
worker's claim), runs it through the same executor and `run_job` every worker kind uses, and exits.
A message whose job is gone, finished or leased elsewhere (a redelivered copy) exits at once; one
whose key is at its concurrency, or whose job is parked, is sent again a moment later.

Celery's guarantees are not enough on their own (a message unacked past Redis' visibility timeout
runs again; a broker restarted without persistence forgets its queue), so a sweep thread runs
beside the consumers: it re-queues jobs whose worker died (`jobs.recovery`) and sends again every
QUEUED job whose message is older than `SFUMATO_QUEUE_RESEND_AFTER_S` when its queue holds fewer
messages than such jobs. Sending twice is harmless; never sending would leave a job PENDING.

The pool is threads: one process keeps the models loaded for every slot (`--concurrency`), as a
GPU worker should; a warm shutdown (SIGTERM) stops running pipelines at their next step, their jobs
go back to QUEUED and are sent again for another worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from celery import signals

from sfumato.domain.status import JobState
from sfumato.jobs.celery_queue import TASK_NAME, CeleryQueue
from sfumato.jobs.executor import JobExecutor
from sfumato.jobs.lease import Lease, new_owner
from sfumato.jobs.queue import NotYet, claim_job, job_models, mark_sent, unsent_jobs
from sfumato.jobs.recovery import recover_lost_jobs
from sfumato.jobs.runner import JobContext
from sfumato.store.tables import Job

log = logging.getLogger(__name__)

# A message whose job cannot start yet (its key at its concurrency, parked) is sent again to arrive
# this much later (a Celery countdown: the worker holding it frees its pool slot meanwhile).
NOT_YET_WAIT_S = 1.0
# At most this many lost jobs are sent again per model per sweep.
RESEND_BATCH = 500


class CeleryWorker:
    def __init__(
        self,
        ctx: JobContext,
        queue: CeleryQueue,
        *,
        threads: int,
        lease_s: float,
        default_concurrency: int,
        resend_after_s: float,
        models: Collection[str | None],
        only_models: frozenset[str] | None,
    ) -> None:
        self.ctx = ctx
        self.queue = queue
        self.threads = threads
        self.lease_s = lease_s
        self.default_concurrency = default_concurrency
        self.resend_after_s = resend_after_s
        self.models = sorted(models, key=lambda model: model or "")  # whose queues this worker consumes
        self.only_models = only_models  # `--models`: None consumes every model's queue and the default one
        self.owner = new_owner()
        self.executor = JobExecutor(ctx)
        self.sweep_interval_s = max(0.5, min(lease_s / 3, resend_after_s / 2, 30.0))
        self._stopping = threading.Event()
        self.on_ready: Callable[[], None] = lambda: None
        queue.app.task(name=TASK_NAME, ignore_result=True)(self.handle)

    # The task body.
    def handle(self, job_id: str) -> None:
        """Run the job this message names, if it is this message's to run."""
        with self.ctx.session_factory() as session:
            claimed = claim_job(session, job_id, self.owner, self.lease_s, self.default_concurrency)
        if claimed is None:
            return  # gone, finished, or running under a live lease elsewhere: nothing to do
        if isinstance(claimed, NotYet):  # sent again to arrive later; no pool slot waits for it meanwhile
            self._send_again([job_id], countdown_s=NOT_YET_WAIT_S)
            return
        self.executor.execute(
            Lease(self.ctx.session_factory, claimed.id, claimed.generation_id, self.owner, self.lease_s)
        )
        with self.ctx.session_factory() as session:
            job = session.get(Job, job_id)
            queued = job is not None and job.state == JobState.QUEUED
        if queued:  # a failed try with attempts left, an interrupted run, a parked download
            self._send_again([job_id])

    def _send_again(self, job_ids: list[str], countdown_s: float | None = None) -> None:
        if not job_ids:
            return
        with self.ctx.session_factory() as session:
            mark_sent(session, job_ids)
            models = job_models(session, job_ids)
        for job_id in job_ids:
            self.queue.send(job_id, models.get(job_id), countdown_s)

    # The sweep.
    def sweep(self) -> None:
        """Re-queue jobs whose worker died and send them; send again the QUEUED jobs whose message is lost."""
        self._send_again(recover_lost_jobs(self.ctx, self.owner))
        with self.ctx.session_factory() as session:
            stale = unsent_jobs(session, self.resend_after_s, self.only_models, limit=RESEND_BATCH * 4)
        by_model: dict[str | None, list[str]] = defaultdict(list)
        for job_id, model_id in stale:
            by_model[model_id].append(job_id)
        for model_id, job_ids in by_model.items():
            waiting = self.queue.waiting(model_id)
            missing = len(job_ids) - (waiting or 0)
            if missing > 0:
                log.warning(
                    "sending %d job(s) of queue %s again: their messages were lost", missing, self.queue.name(model_id)
                )
                self._send_again(job_ids[: min(missing, RESEND_BATCH)])

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.sweep_interval_s):
            try:
                self.sweep()
            except Exception:  # a database or broker hiccup must not stop the sweeps
                log.exception("sweep failed; retrying later")

    # The process.
    def run(self) -> int:
        """Consume this worker's queues until a shutdown signal; the exit status."""
        queues = [self.queue.name(model) for model in self.models]
        sweeper = threading.Thread(target=self._sweep_loop, name="sfumato-sweep", daemon=True)

        def ready(**_: Any) -> None:
            try:
                self.sweep()
            except Exception:
                log.exception("first sweep failed; retrying later")
            sweeper.start()
            self.on_ready()

        def shutting_down(**_: Any) -> None:
            self._stopping.set()
            self.executor.stop()

        signals.worker_ready.connect(ready, weak=False)
        signals.worker_shutting_down.connect(shutting_down, weak=False)
        worker = self.queue.app.Worker(
            pool="threads",
            concurrency=self.threads,
            queues=queues,
            hostname=f"sfumato-{os.getpid()}@{socket.gethostname()}",
            without_gossip=True,
            without_mingle=True,
            loglevel="INFO",
            redirect_stdouts=False,
            quiet=True,  # no banner listing every model's queue; `sfumato worker` logs one line
            optimization="fair",
        )
        worker.start()
        self._stopping.set()
        return int(worker.exitcode or 0)
