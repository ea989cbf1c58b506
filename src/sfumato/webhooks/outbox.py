"""The outbox: rows written in the transaction that ends a generation, then worked off by
the deliverer. Every function takes an open Session; the caller owns the transaction."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sfumato.catalog import ModelCatalog
from sfumato.domain.status import GenerationStatus
from sfumato.store.tables import ApiKey, Generation, WebhookAttempt, WebhookDelivery
from sfumato.store.views import generation_view, webhook_owner
from sfumato.wire.generation_response import UrlFor
from sfumato.wire.webhook_envelope import EVENT_GENERATION_COMPLETE, generation_envelope, serialize


class DeliveryState(StrEnum):
    PENDING = "PENDING"  # waiting for its next attempt (first or retry) at next_attempt_at
    DELIVERED = "DELIVERED"  # a 2xx came back
    FAILED = "FAILED"  # cannot be sent as stored (bad URL, key gone); only a manual retry moves it
    GAVE_UP = "GAVE_UP"  # 410 Gone, or the retry schedule ran out


def enqueue_generation_webhook(
    session: Session, generation: Generation, catalog: ModelCatalog, url_for: UrlFor, now: datetime
) -> WebhookDelivery | None:
    """Add the one delivery for a generation that just ended, if its key has a webhook; `url_for` makes
    its images' URLs (the blob store's)."""
    if generation.status not in (GenerationStatus.COMPLETE, GenerationStatus.FAILED):
        return None
    key = session.get(ApiKey, generation.api_key_id) if generation.api_key_id else None
    owner = webhook_owner(key) if key else None
    if owner is None:
        return None
    view = generation_view(generation)
    model = catalog.get(view.model_id) if view.model_id else None
    envelope = generation_envelope(view, owner, model, url_for, now)
    delivery = WebhookDelivery(
        id=str(uuid.uuid4()),
        generation_id=generation.id,
        api_key_id=owner.key_id,
        event_type=EVENT_GENERATION_COMPLETE,
        url=owner.webhook_url,
        body=serialize(envelope),
        state=DeliveryState.PENDING,
        attempts=0,
        schedule_base=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(delivery)
    return delivery


def due_deliveries(session: Session, now: datetime, limit: int) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def claim(session: Session, delivery: WebhookDelivery, now: datetime, lease_s: float) -> bool:
    """Compare-and-set: take this attempt only if nobody else changed the row since we read it.

    Pushing next_attempt_at out by the lease hides the row from other deliverers while we
    send; if this process dies mid-send, the row comes due again when the lease lapses.
    """
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.attempts == delivery.attempts,
            WebhookDelivery.next_attempt_at == delivery.next_attempt_at,
        )
        .values(next_attempt_at=now + timedelta(seconds=lease_s), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def record_attempt(
    session: Session,
    delivery_id: str,
    claimed_attempts: int,
    *,
    attempted_at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    state: DeliveryState,
    next_attempt_at: datetime,
) -> None:
    """Log the attempt and move the row; a no-op on the row if someone re-queued it meanwhile."""
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempted_at=attempted_at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    now = attempted_at + timedelta(milliseconds=duration_ms)
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.attempts == claimed_attempts)
        .values(
            attempts=claimed_attempts + 1,
            state=state,
            next_attempt_at=next_attempt_at,
            last_status=status_code,
            last_error=error,
            updated_at=now,
            delivered_at=now if state == DeliveryState.DELIVERED else None,
        )
        .execution_options(synchronize_session=False)
    )


def requeue(session: Session, delivery_id: str, now: datetime) -> WebhookDelivery | None:
    """Send a FAILED/GAVE_UP delivery again now, same id and body, on a fresh schedule."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state not in (DeliveryState.FAILED, DeliveryState.GAVE_UP):
        return None
    delivery.state = DeliveryState.PENDING
    delivery.schedule_base = delivery.attempts
    delivery.next_attempt_at = now
    delivery.updated_at = now
    return delivery


def list_deliveries(session: Session, state: str | None = None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    if state:
        query = query.where(WebhookDelivery.state == state.upper())
    return list(session.scalars(query))


def attempts_of(session: Session, delivery_id: str) -> list[WebhookAttempt]:
    query = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)
    return list(session.scalars(query))
