"""Queries, one function per question the services ask. Each takes an open Session;
the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfumato.domain.keys import key_matches, lookup_prefix
from sfumato.domain.status import JobState, transition
from sfumato.store.tables import ApiKey, Generation, Job, User


def utcnow() -> datetime:
    """Naive UTC: what every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- users and keys -------------------------------------------------------------------


def get_or_create_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(id=str(uuid.uuid4()), username=username, created_at=utcnow())
        session.add(user)
        session.flush()
    return user


def find_active_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key whose hash matches `secret`, or None."""
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.lookup_prefix == lookup_prefix(secret), ApiKey.revoked_at.is_(None))
    )
    for key in candidates:
        if key_matches(secret, key.key_hash):
            return key
    return None


# --- generations ------------------------------------------------------------------------


def get_owned_generation(session: Session, generation_id: str, user_id: str) -> Generation | None:
    """A generation only if `user_id` owns it: someone else's id reads as unknown."""
    return session.scalar(select(Generation).where(Generation.id == generation_id, Generation.user_id == user_id))


def list_user_generations(session: Session, user_id: str, offset: int, limit: int) -> list[Generation]:
    query = (
        select(Generation)
        .where(Generation.user_id == user_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


# --- jobs ---------------------------------------------------------------------------------


def add_job(session: Session, generation: Generation) -> Job:
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()),
        generation_id=generation.id,
        api_key_id=generation.api_key_id,
        state=JobState.QUEUED,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    return job


def claim_next_job(session: Session, owner: str, lease_s: float) -> Job | None:
    """Atomically move the oldest QUEUED job to RUNNING under `owner`'s lease.

    A compare-and-set UPDATE (state must still be QUEUED) rather than row locks, so the
    same query is correct on SQLite and PostgreSQL with any number of workers.
    """
    candidates = session.scalars(
        select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.created_at, Job.id).limit(8)
    ).all()
    now = utcnow()
    for job_id in candidates:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED)
            .values(
                state=transition(JobState.QUEUED, JobState.RUNNING),
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Job.attempts + 1,
                updated_at=now,
            )
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            session.commit()
            return session.get(Job, job_id)
    session.commit()
    return None


def requeue_lapsed_jobs(session: Session) -> int:
    """Crash recovery: RUNNING jobs whose lease lapsed go back to QUEUED. Returns how many."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.state == JobState.RUNNING, Job.lease_expires_at < now)
        .values(
            state=transition(JobState.RUNNING, JobState.QUEUED),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]
