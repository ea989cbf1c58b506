"""A runner's hold on one claimed job. `renew()` writes (it extends the lease); `held()` only reads;
`guard()` is the upkeep a running pipeline calls at every step.

A lease names who holds a job as `host:pid:token` (unique per process start), so a recovery sweep
on the same host can tell a dead holder from a live one (see `jobs.recovery.owner_is_dead`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from sfumato.jobs.queue import claim_generation_job, claim_next_job, holds_job, renew_lease
from sfumato.store.tables import Job

log = logging.getLogger(__name__)

# How often a running job re-reads its row to notice a DELETE made by another process.
HOLD_CHECK_INTERVAL_S = 1.0


class LeaseLost(Exception):
    """Raised from the step callback when the job was deleted or another worker took it over
    after our lease lapsed: the pipeline stops and this worker writes nothing at all."""


def new_owner() -> str:
    """A lease owner name for this process start: `host:pid:token`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Lease:
    """`owner` holds the RUNNING job `job_id` until `lease_s` after its last renewal."""

    session_factory: sessionmaker[Session]
    job_id: str
    generation_id: str
    owner: str
    lease_s: float

    def renew(self) -> bool:
        """Extend the lease if we still hold it; True leaves `lease_s` seconds to finish in."""
        with self.session_factory() as session:
            return renew_lease(session, self.job_id, self.owner, self.lease_s)

    def held(self) -> bool:
        """Whether we still hold the job (not deleted, not taken over); writes nothing."""
        with self.session_factory() as session:
            return holds_job(session, self.job_id, self.owner)

    def guard(self, check_interval_s: float = HOLD_CHECK_INTERVAL_S) -> Callable[[], None]:
        """The lease's upkeep for a step callback: renew every `lease_s / 3` seconds, in between
        re-read about every `check_interval_s`, raise LeaseLost once the job is no longer ours.
        The database work is throttled, and a failing database is logged, not fatal: a busy
        database is not a reason to drop a render."""
        last_renew = last_check = time.monotonic()

        def keep() -> None:
            nonlocal last_renew, last_check
            now = time.monotonic()
            try:
                if now - last_renew >= self.lease_s / 3:
                    last_renew = last_check = now
                    held = self.renew()
                elif now - last_check >= check_interval_s:
                    last_check = now
                    held = self.held()
                else:
                    return
            except Exception:
                log.exception("lease check for job %s failed; continuing", self.job_id)
                return
            if not held:
                raise LeaseLost

        return keep


def _lease_of(session_factory: sessionmaker[Session], job: Job | None, owner: str, lease_s: float) -> Lease | None:
    if job is None:
        return None
    return Lease(session_factory, job.id, job.generation_id, owner, lease_s)


def claim_next(
    session_factory: sessionmaker[Session],
    owner: str,
    lease_s: float,
    default_concurrency: int,
    models: Collection[str] | None = None,
) -> Lease | None:
    """The next job the queue's fairness rule picks (`claim_next_job`, of `models` only when given),
    claimed under `owner`."""
    with session_factory() as session:
        job = claim_next_job(session, owner, lease_s, default_concurrency, models)
        return _lease_of(session_factory, job, owner, lease_s)


def claim_generation(
    session_factory: sessionmaker[Session], generation_id: str, owner: str, lease_s: float
) -> Lease | None:
    """One generation's job, claimed by the caller that runs it itself; None once it is not QUEUED
    (finished, deleted, running elsewhere) or is parked."""
    with session_factory() as session:
        job = claim_generation_job(session, generation_id, owner, lease_s)
        return _lease_of(session_factory, job, owner, lease_s)
