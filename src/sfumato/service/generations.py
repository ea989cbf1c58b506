"""Generation use-cases: create, read, list, delete — each scoped to one user."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import ModelCatalog
from sfumato.domain.generation import GenerationRequest, resolve
from sfumato.domain.pricing import PriceModel
from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, Principal
from sfumato.engine import Engine
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, ModelUnavailable, TooManyRequests
from sfumato.jobs.outputs import generation_prefix
from sfumato.jobs.queue import add_job
from sfumato.jobs.render_request import render_request
from sfumato.storage.blobs import BlobStore
from sfumato.store.repositories import (
    count_pending_generations,
    creations_since,
    get_owned_generation,
    list_user_generations,
    lock_key_for_create,
    record_create,
    utcnow,
)
from sfumato.store.tables import Generation
from sfumato.store.views import generation_view

RATE_WINDOW = timedelta(minutes=1)
# Retry-After for a full queue: only a hint, since when a slot frees depends on the renders ahead.
QUEUE_FULL_RETRY_AFTER_S = 5


def _nothing_deleted(_generation_id: str) -> None:
    return None


@dataclass(frozen=True)
class CreatedGeneration:
    generation_id: str
    credit_cost: int


@dataclass
class GenerationService:
    session_factory: sessionmaker[Session]
    catalog: ModelCatalog
    engine: Engine
    prices: PriceModel
    blobs: BlobStore
    on_queued: Callable[[], None]
    queue_cap: int = 200
    rate_per_minute: int = 100
    # Told the id of each deleted generation, so an in-process worker can stop it mid-render.
    on_deleted: Callable[[str], None] = _nothing_deleted

    def check_limits(self, session: Session, key_id: str, now: datetime) -> None:
        """Refuse (429) a key past its queue cap or creation rate, counted in the database (the
        generations table and the create log) so the limits hold across processes. `create` calls
        this inside its inserting transaction, after `lock_key_for_create`: counting and inserting
        are one atomic step per key, so a burst gets at most the limit accepted, never more."""
        pending = count_pending_generations(session, key_id)
        if pending >= self.queue_cap:
            raise TooManyRequests(
                f"too many pending generations for this API key ({pending}, limit {self.queue_cap}); "
                "retry once some have finished",
                QUEUE_FULL_RETRY_AFTER_S,
            )
        recent, oldest = creations_since(session, key_id, now - RATE_WINDOW)
        if recent >= self.rate_per_minute and oldest is not None:
            wait_s = math.ceil((oldest + RATE_WINDOW - now).total_seconds())
            raise TooManyRequests(
                f"rate limit exceeded: {self.rate_per_minute} generations per minute per API key",
                wait_s,
            )

    def create(self, key: Principal, request: GenerationRequest) -> CreatedGeneration:
        """Validate and price a generation, then in one transaction under the key's lock check the
        limits and persist it with its QUEUED job."""
        model = self.catalog.resolve(request.model_id, request.sd_version)
        if model is None:
            raise ClientError(
                f"{request.model_id} is not a model this server knows: GET /platformModels lists them",
                f"{GENERATION_ARGS_PATH}.modelId",
            )
        # An absent model is accepted (PENDING, the worker downloads first) only if a download can start now.
        refusal = self.engine.availability(model)
        if refusal is not None:
            raise ModelUnavailable(refusal, f"{GENERATION_ARGS_PATH}.modelId")
        plan = resolve(request, model, self.catalog.key_of(model), self.engine.traits(model))
        # Family rules (a scheduler a flow-matching model cannot use, ...) are refused here, not at run time.
        self.engine.check(model, render_request(plan))
        cost = self.prices.credits(
            width=plan.width, height=plan.height, num_images=plan.num_images, alchemy=plan.alchemy
        )
        with self.session_factory() as session, session.begin():
            lock_key_for_create(session, key.key_id)  # first: the key's creates take turns from here to commit
            now = utcnow()
            self.check_limits(session, key.key_id, now)
            generation = Generation(
                id=str(uuid.uuid4()),
                user_id=key.user_id,
                api_key_id=key.key_id,
                status=GenerationStatus.PENDING,
                prompt=plan.prompt,
                negative_prompt=plan.negative_prompt,
                model_id=plan.model_id,
                sd_version=plan.sd_version,
                width=plan.width,
                height=plan.height,
                num_images=plan.num_images,
                inference_steps=plan.num_inference_steps,
                guidance_scale=plan.guidance_scale,
                seed=plan.seed,
                scheduler=plan.scheduler,
                preset_style=plan.preset_style,
                alchemy=plan.alchemy,
                public=plan.public,
                credit_cost=cost,
                plan=plan.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(generation)
            session.flush()
            add_job(session, generation)
            record_create(session, key.key_id, now, keep=RATE_WINDOW)
        self.on_queued()
        return CreatedGeneration(generation.id, cost)

    def get(self, user_id: str, generation_id: str) -> GenerationView | None:
        with self.session_factory() as session:
            generation = get_owned_generation(session, generation_id, user_id)
            return generation_view(generation) if generation else None

    def list(self, user_id: str, offset: int, limit: int) -> list[GenerationView]:
        with self.session_factory() as session:
            return [generation_view(row) for row in list_user_generations(session, user_id, offset, limit)]

    def delete(self, user_id: str, generation_id: str) -> bool:
        """Remove the row (its job and image rows cascade) and then its image files."""
        with self.session_factory() as session, session.begin():
            generation = get_owned_generation(session, generation_id, user_id)
            if generation is None:
                return False
            session.delete(generation)
        self.on_deleted(generation_id)
        self.blobs.delete_prefix(generation_prefix(user_id, generation_id))
        return True
