"""Queries about variations, one function per question. Each takes an open Session; the caller
owns the transaction. Owner-only like generations: someone else's id reads as unknown."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfumato.domain.status import GenerationStatus
from sfumato.store.tables import GeneratedImage, Generation, Variation


def owned_generated_image(session: Session, image_id: str, user_id: str) -> tuple[GeneratedImage, Generation] | None:
    """A generated image and its generation, only if one of `user_id`'s generations made it."""
    row = session.execute(
        select(GeneratedImage, Generation)
        .join(Generation, Generation.id == GeneratedImage.generation_id)
        .where(GeneratedImage.id == image_id, Generation.user_id == user_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def get_owned_variation(session: Session, variation_id: str, user_id: str) -> Variation | None:
    return session.scalar(select(Variation).where(Variation.id == variation_id, Variation.user_id == user_id))


def count_pending_variations(session: Session, api_key_id: str) -> int:
    """Variations of a key not yet finished (their jobs QUEUED or RUNNING)."""
    return int(
        session.scalar(
            select(func.count(Variation.id)).where(
                Variation.api_key_id == api_key_id, Variation.status == GenerationStatus.PENDING
            )
        )
        or 0
    )
