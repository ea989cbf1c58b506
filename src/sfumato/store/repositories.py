"""Queries, one function per question the services ask. Each takes an open Session;
the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from sfumato.domain.keys import key_matches, lookup_prefix
from sfumato.domain.status import GenerationStatus, JobState, transition
from sfumato.store.tables import ApiKey, CreateEvent, Generation, Job, User


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


def _running_count(key_id: str) -> ScalarSelect[int]:
    return select(func.count(Job.id)).where(Job.api_key_id == key_id, Job.state == JobState.RUNNING).scalar_subquery()


def claim_next_job(session: Session, owner: str, lease_s: float, default_concurrency: int = 10) -> Job | None:
    """Atomically move the next QUEUED job to RUNNING under `owner`'s lease, honouring each key's
    concurrency C (`api_keys.concurrency`): a key never has more than C RUNNING jobs, and its
    excess simply waits QUEUED.

    Fairness rule: among keys below their limit, the key with the fewest RUNNING jobs goes first,
    ties broken by whose oldest QUEUED job has waited longest; within a key, oldest job first. So
    one key's long queue never starves another key's single job: the newcomer has 0 running.

    The claim is a compare-and-set UPDATE whose WHERE re-checks both "still QUEUED" and "the key
    is still below C", so it is one atomic statement on SQLite (writes are serialised). On
    PostgreSQL the key's row is locked first (`FOR UPDATE`, a no-op on SQLite) so two workers
    claiming for the same key count each other's claims instead of both seeing C-1.
    """
    concurrency = func.coalesce(ApiKey.concurrency, default_concurrency)
    queued = (
        select(Job.api_key_id.label("key_id"), func.min(Job.created_at).label("oldest"))
        .where(Job.state == JobState.QUEUED, _claimable_now(utcnow()))
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
        claimed = _claim_for_key(session, key_id, int(limit), owner, lease_s)
        if claimed is not None:
            return claimed
    return None


def _claim_for_key(session: Session, key_id: str | None, limit: int, owner: str, lease_s: float) -> Job | None:
    """The key's oldest QUEUED job, claimed only if the key is still below `limit` RUNNING."""
    of_key = Job.api_key_id.is_(None) if key_id is None else Job.api_key_id == key_id
    if key_id is not None:
        session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())
    now = utcnow()
    job_id = session.scalar(
        select(Job.id)
        .where(Job.state == JobState.QUEUED, of_key, _claimable_now(now))
        .order_by(Job.created_at, Job.id)
        .limit(1)
    )
    if job_id is None:
        session.commit()
        return None
    conditions = [Job.id == job_id, Job.state == JobState.QUEUED]
    if key_id is not None:
        conditions.append(_running_count(key_id) < limit)
    claimed = session.execute(
        update(Job)
        .where(*conditions)
        .values(
            state=transition(JobState.QUEUED, JobState.RUNNING),
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_s),
            attempts=Job.attempts + 1,
            not_before=None,
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
    the run as an attempt (it waited on something, it did not fail). One compare-and-set on
    "still RUNNING under `owner`"; False if the job was deleted or taken over meanwhile."""
    parked = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
        .values(
            state=transition(JobState.RUNNING, JobState.QUEUED),
            lease_owner=None,
            lease_expires_at=None,
            attempts=Job.attempts - 1,  # the claim counted one
            not_before=until,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(parked.rowcount) == 1  # type: ignore[attr-defined]


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


def holds_job(session: Session, job_id: str, owner: str) -> bool:
    """Cheap read: is the job still RUNNING under `owner` (not deleted, not taken over)?"""
    found = session.scalar(
        select(Job.id).where(Job.id == job_id, Job.state == JobState.RUNNING, Job.lease_owner == owner)
    )
    session.commit()
    return found is not None


def refund_attempt(session: Session, job_id: str, owner: str) -> None:
    """A shutdown interrupted the job: that run is not one of its failed attempts."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.lease_owner == owner, Job.attempts > 0)
        .values(attempts=Job.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def running_lease_owners(session: Session) -> set[str]:
    """Who holds RUNNING jobs now, so a starting server can spot owners that died on its host."""
    owners = session.scalars(select(Job.lease_owner).where(Job.state == JobState.RUNNING).distinct()).all()
    session.commit()
    return {owner for owner in owners if owner}


@dataclass(frozen=True)
class LapsedJobs:
    """What a recovery sweep did: jobs re-queued, and jobs out of attempts that must now FAIL."""

    requeued: int
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
    result = session.execute(
        update(Job)
        .where(lost, Job.attempts < max_attempts)
        .values(
            state=transition(JobState.RUNNING, JobState.QUEUED),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return LapsedJobs(int(result.rowcount), [(str(job_id), int(n)) for job_id, n in exhausted])  # type: ignore[attr-defined]


# --- limits -------------------------------------------------------------------------------


def lock_key_for_create(session: Session, api_key_id: str) -> None:
    """Hold a write lock until commit that serialises a key's creates, in every process: a no-op
    UPDATE of the key's row. On SQLite it takes the database's write lock (waiting up to the busy
    timeout); on PostgreSQL the row's lock, which `claim_next_job` also takes first (`FOR UPDATE`)
    before it touches jobs, so a create and a claim queue on one lock and never deadlock.

    It must be the transaction's first statement: an SQLite transaction that has already read cannot
    wait for the write lock (after another writer's commit it fails with SQLITE_BUSY at once)."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == api_key_id)
        .values(concurrency=ApiKey.concurrency)
        .execution_options(synchronize_session=False)
    )


def count_pending_generations(session: Session, api_key_id: str) -> int:
    """Generations of a key not yet finished (QUEUED or RUNNING; PENDING on the wire)."""
    return int(
        session.scalar(
            select(func.count(Generation.id)).where(
                Generation.api_key_id == api_key_id, Generation.status == GenerationStatus.PENDING
            )
        )
        or 0
    )


def record_create(session: Session, api_key_id: str, now: datetime, keep: timedelta) -> None:
    """Log an accepted create for the rate limit, and prune this key's entries older than `keep`."""
    session.execute(
        delete(CreateEvent).where(CreateEvent.api_key_id == api_key_id, CreateEvent.created_at < now - keep)
    )
    session.add(CreateEvent(api_key_id=api_key_id, created_at=now))


def creations_since(session: Session, api_key_id: str, since: datetime) -> tuple[int, datetime | None]:
    """How many generations a key created after `since` (deleted ones included), and the oldest."""
    count, oldest = session.execute(
        select(func.count(CreateEvent.id), func.min(CreateEvent.created_at)).where(
            CreateEvent.api_key_id == api_key_id, CreateEvent.created_at > since
        )
    ).one()
    return int(count or 0), oldest
