"""Queries, one function per question the services ask. Each takes an open Session;
the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from sfumato.domain.keys import key_matches, lookup_prefix
from sfumato.domain.status import GenerationStatus
from sfumato.store.tables import ApiKey, CreateEvent, GeneratedImage, Generation, User


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


# The query every poll of a client runs: built once (building a statement costs more than running it
# on SQLite), its images in the same statement (a join) rather than a second one.
_OWNED_GENERATION = (
    select(Generation)
    .options(joinedload(Generation.images))
    .where(Generation.id == bindparam("generation_id"), Generation.user_id == bindparam("user_id"))
)


def get_owned_generation(session: Session, generation_id: str, user_id: str) -> Generation | None:
    """A generation only if `user_id` owns it: someone else's id reads as unknown."""
    found = session.scalars(_OWNED_GENERATION, {"generation_id": generation_id, "user_id": user_id})
    return found.unique().one_or_none()


def owned_generated_image_key(session: Session, image_id: str, user_id: str) -> str | None:
    """The stored key of a generated image if one of `user_id`'s generations made it, else None."""
    return session.scalar(
        select(GeneratedImage.blob_key)
        .join(Generation, Generation.id == GeneratedImage.generation_id)
        .where(GeneratedImage.id == image_id, Generation.user_id == user_id)
    )


def list_user_generations(session: Session, user_id: str, offset: int, limit: int) -> list[Generation]:
    query = (
        select(Generation)
        .where(Generation.user_id == user_id)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


# --- limits -------------------------------------------------------------------------------


def lock_key_for_create(session: Session, api_key_id: str) -> None:
    """Hold a write lock until commit that serialises a key's creates, in every process: a no-op
    UPDATE of the key's row. On SQLite it takes the database's write lock (waiting up to the busy
    timeout); on PostgreSQL the row's lock, which `jobs.queue.claim_next_job` also takes first (`FOR UPDATE`)
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
