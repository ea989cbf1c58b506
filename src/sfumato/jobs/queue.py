"""The queue's SQL: the `jobs` table is the queue. Each function takes an open Session and commits
its own statement: a claim, a hand-back or a renewal is one compare-and-set, so two workers (in
one process or many) never both win the same job.

A job moves QUEUED -> RUNNING (claimed, under a lease) -> QUEUED (parked, re-queued after a failed
run, interrupted, or its worker died) and ends DONE or FAILED through the runner, which moves the
generation (or, for a variation's job, the variation) with it. A generation has its own job and
one per variation of its images; all are claimed alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, func, or_, select, update
from sqlalchemy.orm import Session

from sfumato.domain.status import JobState, transition
from sfumato.store.repositories import utcnow
from sfumato.store.tables import ApiKey, Generation, Job, Variation


def add_job(session: Session, generation: Generation) -> Job:
    """The QUEUED job of a new generation, in the caller's transaction."""
    return _queued_job(session, generation.id, generation.api_key_id, variation_id=None)


def add_variation_job(session: Session, variation: Variation, generation_id: str) -> Job:
    """The QUEUED job of a new variation of one of `generation_id`'s images, in the caller's
    transaction: queued, claimed and counted against its key like a generation's job."""
    return _queued_job(session, generation_id, variation.api_key_id, variation_id=variation.id)


def generation_jobs(session: Session, generation_id: str) -> list[Job]:
    """A generation's own job and its variations' jobs."""
    return list(session.scalars(select(Job).where(Job.generation_id == generation_id)))


def _queued_job(session: Session, generation_id: str, api_key_id: str | None, variation_id: str | None) -> Job:
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        generation_id=generation_id,
        variation_id=variation_id,
        api_key_id=api_key_id,
        state=JobState.QUEUED,
        attempts=0,
        enqueued_at=now,  # its message goes out right after the commit (`JobQueue.submitted`)
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job


def _running_count(key_id: str) -> ScalarSelect[int]:
    return select(func.count(Job.id)).where(Job.api_key_id == key_id, Job.state == JobState.RUNNING).scalar_subquery()


def claim_next_job(
    session: Session,
    owner: str,
    lease_s: float,
    default_concurrency: int = 10,
    models: Collection[str] | None = None,
) -> Job | None:
    """Atomically move the next QUEUED job to RUNNING under `owner`'s lease, honouring each key's
    concurrency C (`api_keys.concurrency`): a key never has more than C RUNNING jobs, and its
    excess simply waits QUEUED. A key with C = 0 (the CLI's) is never a candidate: its jobs are
    run by the command that made them (`claim_generation_job`).

    Fairness rule: among keys below their limit, the key with the fewest RUNNING jobs goes first,
    ties broken by whose oldest QUEUED job has waited longest; within a key, oldest job first. So
    one key's long queue never starves another key's single job: the newcomer has 0 running.

    The claim is a compare-and-set UPDATE whose WHERE re-checks both "still QUEUED" and "the key
    is still below C", so it is one atomic statement on SQLite (writes are serialised). On
    PostgreSQL the key's row is locked first (`FOR UPDATE`, a no-op on SQLite) so two workers
    claiming for the same key count each other's claims instead of both seeing C-1.

    `models` (a worker's `--models`): only jobs whose generation's plan names one of these catalog
    model ids; a variation's job goes with its generation's model. Others wait for another worker.
    """
    concurrency = func.coalesce(ApiKey.concurrency, default_concurrency)
    wanted = _of_models(models)
    queued = (
        select(Job.api_key_id.label("key_id"), func.min(Job.created_at).label("oldest"))
        .where(Job.state == JobState.QUEUED, _claimable_now(utcnow()), *wanted)
        .group_by(Job.api_key_id)
        .subquery()
    )
    running = (
        select(Job.api_key_id.label("key_id"), func.count(Job.id).label("n"))
        .where(Job.state == JobState.RUNNING)
        .group_by(Job.api_key_id)
        .subquery()
    )
    running_n = func.coalesce(running.c.n, 0)
    keys = session.execute(
        select(queued.c.key_id, concurrency)
        .select_from(queued)
        .outerjoin(running, running.c.key_id == queued.c.key_id)
        .outerjoin(ApiKey, ApiKey.id == queued.c.key_id)
        .where(running_n < concurrency)
        .order_by(running_n, queued.c.oldest)
        .limit(8)
    ).all()
    session.commit()
    for key_id, limit in keys:
        claimed = _claim_for_key(session, key_id, int(limit), owner, lease_s, wanted)
        if claimed is not None:
            return claimed
    return None


def _of_models(models: Collection[str] | None) -> list[ColumnElement[bool]]:
    """The claim filter for `models`: jobs of generations whose plan's `model_id` is one of them."""
    if models is None:
        return []
    of_model = select(Generation.id).where(Generation.plan["model_id"].as_string().in_(sorted(models)))
    return [Job.generation_id.in_(of_model)]


def _claim_for_key(
    session: Session,
    key_id: str | None,
    limit: int,
    owner: str,
    lease_s: float,
    wanted: list[ColumnElement[bool]],
) -> Job | None:
    """The key's oldest QUEUED job (of the `wanted` models), claimed only if the key is still below
    `limit` RUNNING."""
    of_key = Job.api_key_id.is_(None) if key_id is None else Job.api_key_id == key_id
    if key_id is not None:
        session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())
    job_id = session.scalar(
        select(Job.id)
        .where(Job.state == JobState.QUEUED, of_key, _claimable_now(utcnow()), *wanted)
        .order_by(Job.created_at, Job.id)
        .limit(1)
    )
    if job_id is None:
        session.commit()
        return None
    return _claim(session, job_id, owner, lease_s, [] if key_id is None else [_running_count(key_id) < limit])


@dataclass(frozen=True)
class NotYet:
    """A job that is QUEUED but cannot be claimed now: its key is at its concurrency, or it is parked."""

    reason: str


def claim_job(
    session: Session, job_id: str, owner: str, lease_s: float, default_concurrency: int = 10
) -> Job | NotYet | None:
    """Claim one named job (a Celery message's), under its key's concurrency as `claim_next_job` does.

    None: nothing to run for this message: the job is gone, finished, RUNNING under someone's lease
    (a redelivered copy), or its key's jobs are run by the command that made them (concurrency 0).
    `NotYet`: it stays QUEUED and its message must come back later.
    """
    row = session.execute(
        select(Job.state, Job.api_key_id, Job.not_before, func.coalesce(ApiKey.concurrency, default_concurrency))
        .outerjoin(ApiKey, ApiKey.id == Job.api_key_id)
        .where(Job.id == job_id)
    ).first()
    if row is None or row[0] != JobState.QUEUED or int(row[3]) < 1:
        session.commit()
        return None
    _state, key_id, not_before, limit = row
    if not_before is not None and not_before > utcnow():
        session.commit()
        return NotYet("parked")
    conditions: list[ColumnElement[bool]] = []
    if key_id is not None:
        session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())
        conditions.append(_running_count(key_id) < int(limit))
    claimed = _claim(session, job_id, owner, lease_s, conditions)
    if claimed is not None:
        return claimed
    still_queued = session.scalar(select(Job.id).where(Job.id == job_id, Job.state == JobState.QUEUED))
    session.commit()
    return NotYet("key at its concurrency") if still_queued is not None else None


def mark_sent(session: Session, job_ids: Collection[str]) -> None:
    """Stamp that a message for each of these jobs was just sent."""
    if job_ids:
        session.execute(
            update(Job)
            .where(Job.id.in_(list(job_ids)))
            .values(enqueued_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    session.commit()


def job_models(session: Session, job_ids: Collection[str]) -> dict[str, str | None]:
    """The catalog model id of each job's generation (whose queue carries the job)."""
    rows = session.execute(
        select(Job.id, Generation.plan["model_id"].as_string())
        .join(Generation, Generation.id == Job.generation_id)
        .where(Job.id.in_(list(job_ids)))
    ).all()
    session.commit()
    return {str(job_id): None if model_id is None else str(model_id) for job_id, model_id in rows}


def unsent_jobs(
    session: Session, older_than_s: float, models: Collection[str] | None, limit: int
) -> list[tuple[str, str | None]]:
    """QUEUED jobs whose last message went out over `older_than_s` ago (or never), oldest stamp first,
    as (job id, model id); of `models` only when given. Their messages may be lost."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    model = Generation.plan["model_id"].as_string()
    query = (
        select(Job.id, model)
        .join(Generation, Generation.id == Job.generation_id)
        .where(Job.state == JobState.QUEUED, or_(Job.enqueued_at.is_(None), Job.enqueued_at < cutoff))
        .order_by(Job.enqueued_at, Job.created_at)
        .limit(limit)
    )
    if models is not None:
        query = query.where(model.in_(sorted(models)))
    rows = session.execute(query).all()
    session.commit()
    return [(str(job_id), None if model_id is None else str(model_id)) for job_id, model_id in rows]


def claim_generation_job(session: Session, generation_id: str, owner: str, lease_s: float) -> Job | None:
    """Claim one generation's own job (not one of its variations') for the caller that runs it itself
    (`sfumato generate`), if it is QUEUED and not parked; no concurrency check, the caller is the
    key's only runner."""
    job_id = session.scalar(select(Job.id).where(Job.generation_id == generation_id, Job.variation_id.is_(None)))
    if job_id is None:
        session.commit()
        return None
    return _claim(session, job_id, owner, lease_s, [])


def _claim(
    session: Session, job_id: str, owner: str, lease_s: float, conditions: list[ColumnElement[bool]]
) -> Job | None:
    """QUEUED -> RUNNING under `owner`'s lease, counting an attempt, if the job is still QUEUED,
    claimable now and meets `conditions`; one compare-and-set."""
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED, _claimable_now(now), *conditions)
        .values(
            state=transition(JobState.QUEUED, JobState.RUNNING),
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_s),
            attempts=Job.attempts + 1,
            not_before=None,
            progress_step=None,
            progress_total=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Job, job_id)


def _claimable_now(now: datetime) -> ColumnElement[bool]:
    """Not parked, or parked until a time that has come."""
    return or_(Job.not_before.is_(None), Job.not_before <= now)


def park_job(session: Session, job_id: str, owner: str, until: datetime) -> bool:
    """Hand a RUNNING job back to the queue, not to be claimed before `until`, without counting
    the run as an attempt (it waited on something, it did not fail). False if the job was deleted
    or taken over meanwhile."""
    return _back_to_queue(session, job_id, owner, attempts=Job.attempts - 1, not_before=until)


def requeue_job(session: Session, job_id: str, owner: str, last_error: str | None, *, refund: bool = False) -> bool:
    """Hand a RUNNING job back to the queue, claimable at once: after a failed run with attempts
    left (`last_error` says why), or interrupted by a shutdown (`refund`: that run is not one of
    its attempts). Only the job moves: its generation stays PENDING with no `failureReason`, which
    it gets only if the job ends FAILED. False if the job was deleted or taken over meanwhile."""
    if refund:
        return _back_to_queue(session, job_id, owner, last_error=last_error, attempts=Job.attempts - 1)
    return _back_to_queue(session, job_id, owner, last_error=last_error)


def _back_to_queue(session: Session, job_id: str, owner: str, **values: Any) -> bool:
    """RUNNING -> QUEUED, lease cleared, plus `values`; one compare-and-set on "still RUNNING
    under `owner`"."""
    released = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
        .values(
            state=transition(JobState.RUNNING, JobState.QUEUED),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(released.rowcount) == 1  # type: ignore[attr-defined]


def renew_lease(session: Session, job_id: str, owner: str, lease_s: float) -> bool:
    """Extend a RUNNING job's lease, only while `owner` still holds it.

    False means the job was deleted, finished or taken over after a lapse: the caller must drop
    its work and write nothing. A True answer also guarantees `lease_s` seconds in which no one
    else can take the job, which is what makes "renew, then finish" safe for a slow worker.
    """
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=lease_s), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def record_progress(session: Session, job_id: str, owner: str, step: int, total: int) -> None:
    """The running attempt's step of `total`, while `owner` holds the job (a stale worker writes nothing)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
        .values(progress_step=step, progress_total=total)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def queue_position(session: Session, job: Job) -> int:
    """How many QUEUED jobs were queued before this QUEUED one (0: it is next), all keys counted."""
    ahead = session.scalar(
        select(func.count(Job.id)).where(Job.state == JobState.QUEUED, Job.created_at < job.created_at)
    )
    return int(ahead or 0)


def holds_job(session: Session, job_id: str, owner: str) -> bool:
    """Cheap read: is the job still RUNNING under `owner` (not deleted, not taken over)?"""
    found = session.scalar(
        select(Job.id).where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
    )
    session.commit()
    return found is not None


def running_lease_owners(session: Session) -> set[str]:
    """Who holds RUNNING jobs now, so a starting server can spot owners that died on its host."""
    owners = session.scalars(select(Job.lease_owner).where(Job.state == JobState.RUNNING).distinct()).all()
    session.commit()
    return {owner for owner in owners if owner}


@dataclass(frozen=True)
class LapsedJobs:
    """What a recovery sweep did: jobs re-queued, and jobs out of attempts that must now FAIL."""

    requeued: list[str]  # job ids
    exhausted: list[tuple[str, int]]  # (job id, attempts used)


def requeue_lapsed_jobs(session: Session, max_attempts: int, dead_owners: Collection[str] = ()) -> LapsedJobs:
    """Crash recovery: RUNNING jobs whose lease lapsed, or whose owner is known dead, go back to
    QUEUED while they have attempts left. Those that used all `max_attempts` are left RUNNING and
    returned, for the caller to end FAILED through the runner (so the generation, and anything
    that watches terminal transitions, moves with them)."""
    now = utcnow()
    orphaned = Job.lease_expires_at < now
    if dead_owners:
        orphaned = or_(orphaned, Job.lease_owner.in_(list(dead_owners)))
    lost = and_(Job.state == JobState.RUNNING, orphaned)
    exhausted = session.execute(select(Job.id, Job.attempts).where(lost, Job.attempts >= max_attempts)).all()
    retried = list(session.scalars(select(Job.id).where(lost, Job.attempts < max_attempts)))
    if not retried:
        session.commit()
        return LapsedJobs([], [(str(job_id), int(n)) for job_id, n in exhausted])
    session.execute(
        update(Job)
        .where(Job.id.in_(retried), lost, Job.attempts < max_attempts)
        .values(
            state=transition(JobState.RUNNING, JobState.QUEUED),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    # A concurrent sweep may list some of the same jobs: sending one twice is harmless (the lease decides).
    session.commit()
    return LapsedJobs([str(job_id) for job_id in retried], [(str(job_id), int(n)) for job_id, n in exhausted])
