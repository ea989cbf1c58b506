"""Database tables. The schema itself is created only by the Alembic migrations.

Ids are UUID strings (portable between SQLite and PostgreSQL); times are naive UTC.
A generation and its job are separate rows: the generation is what Leonardo's wire shows,
the job is the worker's bookkeeping (state, attempts, lease) and can grow without touching
the wire shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # A short public prefix finds the row; the SHA-256 of the whole key proves it.
    lookup_prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    concurrency: Mapped[int] = mapped_column(Integer)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_api_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Standard Webhooks signing secret (`whsec_...`). Stored as-is, not hashed: the deliverer
    # needs the secret itself to sign every request. Protect the database accordingly.
    webhook_secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Generation(Base):
    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_user_created", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    credit_cost: Mapped[int] = mapped_column(Integer)
    # The request as resolved (`GenerationPlan.to_json`): the one record of every request field, what
    # the wire shows and the worker runs. Nothing filters or sorts by those fields, so none is a column.
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    images: Mapped[list[GeneratedImage]] = relationship(
        order_by="GeneratedImage.position", cascade="all, delete-orphan", lazy="selectin"
    )


class GeneratedImage(Base):
    __tablename__ = "generated_images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(Text)
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    # Read only: the database's cascade removes them with the image.
    variations: Mapped[list[Variation]] = relationship(
        order_by="Variation.created_at, Variation.id", viewonly=True, lazy="selectin"
    )


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_created", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The generation whose work this is: the generation's own job (`variation_id` None, one per
    # generation), or one of its variations' (deleting the generation removes them all).
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), index=True)
    variation_id: Mapped[str | None] = mapped_column(
        ForeignKey("variations.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    api_key_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # A QUEUED job is not claimed before this (parked while its model's weights download).
    not_before: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # When its last queue message was sent (Celery queue only): a QUEUED job whose message is older than
    # the resend window and missing from its queue is sent again (`jobs.dispatch`).
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The running attempt's denoising step of its total (None before its first step), for the progress
    # stream (`GET /generations/{id}/events`); written by the worker a few times a second at most.
    progress_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookDelivery(Base):
    """Transactional outbox: one row per terminal generation of a key with a webhook,
    written in the same transaction as the status change. The body is serialized once,
    so every re-send is byte-identical; the state lives here, so a restart loses nothing."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the `webhook-id` header
    # No foreign keys: the notification outlives a generation or key deleted after it was due.
    generation_id: Mapped[str] = mapped_column(String(36), index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts already made when the schedule last (re)started: a manual retry starts it afresh.
    schedule_base: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WebhookAttempt(Base):
    """Every POST the deliverer made (or tried to make), for `sfumato webhooks list`."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)


class CreateEvent(Base):
    """One accepted `POST /generations`, kept apart from the generation row so deleting a
    generation does not hand its key back rate-limit room. Rows older than the window are pruned."""

    __tablename__ = "create_events"
    __table_args__ = (Index("ix_create_events_key_created", "api_key_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class InitImage(Base):
    """An init image or canvas mask: made `pending` by `POST /init-image`, `uploaded` by its one
    accepted upload (the file then is at `blob_key`). The state is what makes an upload URL single use."""

    __tablename__ = "init_images"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(8))
    extension: Mapped[str] = mapped_column(String(8))
    blob_key: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Variation(Base):
    """A post-processing job's result (upscale, unzoom, no background) of a generated image: its id
    is the job id clients see (`sdUpscaleJob.id`, ...). PENDING until its job ends; `blob_key` is
    set once COMPLETE. `params` is the `VariationPlan` (source picture, the transform's numbers)."""

    __tablename__ = "variations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True)
    generated_image_id: Mapped[str] = mapped_column(ForeignKey("generated_images.id", ondelete="CASCADE"), index=True)
    transform_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    blob_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    credit_cost: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class IdempotencyKey(Base):
    """A create sent with `Idempotency-Key`: which body it was (a hash of route and canonical JSON) and,
    once it succeeded, the answer every retry of it gets until `expires_at` (docs/http.md)."""

    __tablename__ = "idempotency_keys"

    api_key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # None: still running
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
