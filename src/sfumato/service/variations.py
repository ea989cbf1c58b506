"""Variation use-cases: create (upscale, unzoom, no background, universal upscale) and read, each
scoped to one user.

A variation is a job like a generation: priced, checked against the key's limits under its lock
(the same queue cap and creation rate as generations, which they share), and persisted with its
QUEUED job in one transaction; the worker claims it under the key's concurrency.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import ModelCatalog
from sfumato.domain.generation import GenerationPlan
from sfumato.domain.pricing import variation_credits
from sfumato.domain.status import GenerationStatus
from sfumato.domain.variations import (
    MAX_VARIATION_PIXELS,
    UNZOOM_AMOUNT,
    TransformType,
    VariationPlan,
    VariationRequest,
    VariationSource,
    upscaled_size,
)
from sfumato.domain.views import Principal, VariationView
from sfumato.engine import Engine
from sfumato.errors import ClientError, ModelUnavailable
from sfumato.jobs.dispatch import QueuedJob
from sfumato.jobs.queue import add_variation_job
from sfumato.jobs.variation_runner import source_picture, unzoom_request
from sfumato.service.generations import RATE_WINDOW, GenerationService
from sfumato.storage.blobs import BlobStore
from sfumato.store.repositories import lock_key_for_create, record_create, utcnow
from sfumato.store.tables import GeneratedImage, Variation
from sfumato.store.variations import get_owned_variation, owned_generated_image
from sfumato.store.views import variation_view


@dataclass(frozen=True)
class CreatedVariation:
    variation_id: str
    credit_cost: int


@dataclass(frozen=True)
class _Source:
    """The picture a variation starts from, found among the caller's own."""

    key: str  # its stored file
    generated_image_id: str  # the image the variation is listed under
    generation_id: str
    generation_plan: GenerationPlan
    variation_id: str | None  # set when the source is a variation's output


@dataclass
class VariationService:
    session_factory: sessionmaker[Session]
    catalog: ModelCatalog
    engine: Engine
    blobs: BlobStore
    # The limits (queue cap, creation rate) are the key's, shared with its generations.
    generations: GenerationService

    def create(self, key: Principal, request: VariationRequest) -> CreatedVariation:
        """Find the source among the caller's own, check and price the variation, then persist it
        with its QUEUED job in one transaction under the key's lock."""
        with self.session_factory() as session:
            source = self._source(session, key.user_id, request.source)
        plan = VariationPlan(
            source_key=source.key,
            source_variation_id=source.variation_id,
            multiplier=request.multiplier,
            universal=request.universal,
        )
        width, height = self._output_size(request, plan, source)
        if width * height > MAX_VARIATION_PIXELS:
            raise ClientError(
                f"this variation would be {width}x{height}, over the {MAX_VARIATION_PIXELS // 1_000_000}-megapixel "
                "limit of a variation",
                request.source.field,
            )
        cost = variation_credits(request.transform, universal_output=(width, height) if request.universal else None)
        with self.session_factory() as session, session.begin():
            lock_key_for_create(session, key.key_id)  # first: the key's creates take turns from here to commit
            now = utcnow()
            self.generations.check_limits(session, key.key_id, now)
            # Deleted since it was found? Locked (on PostgreSQL) so it cannot go before this commits.
            if session.get(GeneratedImage, source.generated_image_id, with_for_update=True) is None:
                raise _unknown_source(request.source)
            variation = Variation(
                id=str(uuid.uuid4()),
                user_id=key.user_id,
                api_key_id=key.key_id,
                generated_image_id=source.generated_image_id,
                transform_type=request.transform,
                status=GenerationStatus.PENDING,
                params=plan.to_json(),
                credit_cost=cost,
                created_at=now,
                updated_at=now,
            )
            session.add(variation)
            session.flush()
            job = add_variation_job(session, variation, source.generation_id)
            record_create(session, key.key_id, now, keep=RATE_WINDOW)
        self.generations.queue.submitted(QueuedJob(job.id, source.generation_plan.model_id))
        return CreatedVariation(variation.id, cost)

    def get(self, user_id: str, variation_id: str) -> VariationView | None:
        with self.session_factory() as session:
            row = get_owned_variation(session, variation_id, user_id)
            return variation_view(row) if row else None

    @staticmethod
    def _source(session: Session, user_id: str, source: VariationSource) -> _Source:
        """A generated image of the caller's, or (`is_variation`) a finished variation of theirs:
        anything else, someone else's included, is the same 400 as an unknown id."""
        if source.is_variation:
            parent = get_owned_variation(session, source.id, user_id)
            if parent is None or parent.blob_key is None or parent.status != GenerationStatus.COMPLETE:
                raise _unknown_source(source)
            found = owned_generated_image(session, parent.generated_image_id, user_id)
            if found is None:
                raise _unknown_source(source)
            image, generation = found
            key, variation_id = parent.blob_key, parent.id
        else:
            found = owned_generated_image(session, source.id, user_id)
            if found is None:
                raise _unknown_source(source)
            image, generation = found
            key, variation_id = image.blob_key, None
        plan = GenerationPlan.from_json(generation.plan, to_run=False)
        return _Source(key, image.id, generation.id, plan, variation_id)

    def _output_size(self, request: VariationRequest, plan: VariationPlan, source: _Source) -> tuple[int, int]:
        """The size of the picture the variation will make (its price and limit depend on it)."""
        with Image.open(io.BytesIO(self.blobs.get(source.key))) as picture:  # reads the header only
            size: tuple[int, int] = picture.size
        if request.transform is TransformType.UPSCALE:
            return plan.output_size(*size)
        if request.transform is TransformType.UNZOOM:
            width, height = upscaled_size(*size, 1 + UNZOOM_AMOUNT)  # about the canvas's, before it is made
            return (width, height) if width * height > MAX_VARIATION_PIXELS else self._check_unzoom(source)
        return size

    def _check_unzoom(self, source: _Source) -> tuple[int, int]:
        """An unzoom renders with the generation's own model: refuse now (400) what it cannot draw.
        Its output is the outpaint canvas's size."""
        try:
            entry = self.catalog.resolve_key(source.generation_plan.catalog_key)
        except KeyError:
            raise ModelUnavailable(
                "the model that made this image is no longer in this server's catalog, so it cannot unzoom it"
            ) from None
        refusal = self.engine.availability(entry)
        if refusal is not None:
            raise ModelUnavailable(refusal)
        render = unzoom_request(source.generation_plan, source_picture(self.blobs, source.key))
        self.engine.check(entry, render)
        return render.width, render.height


def _unknown_source(source: VariationSource) -> ClientError:
    """Leonardo's words for a variation's source it cannot find (behaviour doc §3)."""
    shown = source.id if len(source.id) <= 40 else f"{source.id[:40]}..."
    if source.is_variation:
        return ClientError(
            f"failed to find init variation: {shown} is not a finished variation of this user", source.field
        )
    return ClientError(f"couldn't access image: {shown} is not a generated image of this user", source.field)
