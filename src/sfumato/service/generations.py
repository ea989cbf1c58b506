"""Generation use-cases: create, read, list, delete — each scoped to one user."""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sfumato.catalog import CatalogEntry, CommercialUseRefused, ModelCatalog
from sfumato.domain.elements import ElementPlan
from sfumato.domain.finishing import photo_real_v1
from sfumato.domain.generation import GenerationPlan, GenerationRequest, resolve
from sfumato.domain.image_inputs import ImageOrigin, ImageRef, SourceImages
from sfumato.domain.init_images import UploadState
from sfumato.domain.pricing import PriceModel
from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, Principal
from sfumato.engine import Engine
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, ModelUnavailable, PayloadTooLarge, TooManyRequests
from sfumato.jobs.dispatch import JobQueue, QueuedJob
from sfumato.jobs.outputs import generation_prefix
from sfumato.jobs.queue import add_job, generation_jobs
from sfumato.jobs.render_request import render_request
from sfumato.service.elements import element_face
from sfumato.service.prompts import PromptService
from sfumato.storage.blobs import BlobStore
from sfumato.store.init_images import get_owned_init_image
from sfumato.store.repositories import (
    count_pending_generations,
    creations_since,
    get_owned_generation,
    list_user_generations,
    lock_key_for_create,
    owned_generated_image_key,
    record_create,
    utcnow,
)
from sfumato.store.tables import Generation
from sfumato.store.variations import count_pending_variations, get_owned_variation
from sfumato.store.views import generation_view

RATE_WINDOW = timedelta(minutes=1)
# Retry-After for a full queue: only a hint, since when a slot frees depends on the renders ahead.
QUEUE_FULL_RETRY_AFTER_S = 5


def _ref_path(ref: ImageRef) -> str:
    """The JSON path of the field that named an image; one given whole (v2's `$.parameters...`) is kept."""
    return ref.field if ref.field.startswith("$") else f"{GENERATION_ARGS_PATH}.{ref.field}"


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
    # Told of each job committed QUEUED and each generation deleted (so a running one stops mid-render).
    queue: JobQueue
    queue_cap: int = 200
    rate_per_minute: int = 100
    # Rewrites the prompt for `enhancePrompt` (none configured: such a request is a 400).
    prompts: PromptService = dataclass_field(default_factory=lambda: PromptService(None))
    # Checks an uploaded image's file before first use (user id, image id), where clients upload straight
    # to a bucket (`InitImageService.settle`); a refusal names why.
    settle_upload: Callable[[str, str], None] = lambda _user_id, _image_id: None

    def check_limits(self, session: Session, key_id: str, now: datetime) -> None:
        """Refuse (429) a key past its queue cap or creation rate, counted in the database (the
        generations and variations tables and the create log) so the limits hold across processes.
        `create` (and a variation's) calls this inside its inserting transaction, after
        `lock_key_for_create`: counting and inserting are one atomic step per key, so a burst gets
        at most the limit accepted, never more. Variations share both limits with generations."""
        pending = count_pending_generations(session, key_id) + count_pending_variations(session, key_id)
        if pending >= self.queue_cap:
            raise TooManyRequests(
                f"too many pending generations and variations for this API key ({pending}, limit {self.queue_cap}); "
                "retry once some have finished",
                QUEUE_FULL_RETRY_AFTER_S,
            )
        recent, oldest = creations_since(session, key_id, now - RATE_WINDOW)
        if recent >= self.rate_per_minute and oldest is not None:
            wait_s = math.ceil((oldest + RATE_WINDOW - now).total_seconds())
            raise TooManyRequests(
                f"rate limit exceeded: {self.rate_per_minute} generations and variations per minute per API key",
                wait_s,
            )

    def create(self, key: Principal, request: GenerationRequest) -> CreatedGeneration:
        """Validate and price a generation, then in one transaction under the key's lock check the
        limits and persist it with its QUEUED job."""
        try:  # commercial-only is decided in the catalog; the refusal names the field that chose the model
            model = self.catalog.resolve(request.model_id, request.sd_version)
        except CommercialUseRefused as not_commercial:
            field = "modelId" if request.model_id is not None or request.sd_version is None else "sd_version"
            raise not_commercial.at(f"{GENERATION_ARGS_PATH}.{field}") from None
        if model is None:
            raise ClientError(
                f"{request.model_id} is not a model this server knows: GET /platformModels lists them",
                f"{GENERATION_ARGS_PATH}.modelId",
            )
        if photo_real_v1(request.finishing, request.model_id is not None):
            model = self.photographic_model() or model
        # An absent model is accepted (PENDING, the worker downloads first) only if a download can start now.
        refusal = self.engine.availability(model)
        if refusal is not None:
            raise ModelUnavailable(refusal, f"{GENERATION_ARGS_PATH}.modelId")
        images = self.source_images(key.user_id, request)
        elements = self.elements_of(key.user_id, model, request)
        plan = resolve(request, model, self.catalog.key_of(model), self.engine.traits(model), images, elements)
        if request.enhance_prompt:  # after the caller's request passed every rule: no LLM call for a 400
            plan = self.enhanced(request, plan, model, images, elements)
        # Family rules (a scheduler a flow-matching model cannot use, a mask of another size than its
        # image, ...) are refused here, not at run time.
        self.engine.check(model, render_request(plan, self.blobs))
        cost = self.prices.plan_credits(plan)
        with self.session_factory() as session, session.begin():
            lock_key_for_create(session, key.key_id)  # first: the key's creates take turns from here to commit
            now = utcnow()
            self.check_limits(session, key.key_id, now)
            generation = Generation(
                id=str(uuid.uuid4()),
                user_id=key.user_id,
                api_key_id=key.key_id,
                status=GenerationStatus.PENDING,
                credit_cost=cost,
                plan=plan.to_json(),
                created_at=now,
                updated_at=now,
            )
            session.add(generation)
            session.flush()
            job = add_job(session, generation)
            record_create(session, key.key_id, now, keep=RATE_WINDOW)
        self.queue.submitted(QueuedJob(job.id, model.id))
        return CreatedGeneration(generation.id, cost)

    def enhanced(
        self,
        request: GenerationRequest,
        plan: GenerationPlan,
        model: CatalogEntry,
        images: SourceImages,
        elements: tuple[ElementPlan, ...],
    ) -> GenerationPlan:
        """`enhancePrompt: true`: `plan` with the LLM's rewrite of the prompt as the prompt drawn (and
        shown), the caller's kept as `original_prompt`, the same seed (docs/prompts.md)."""
        path = f"{GENERATION_ARGS_PATH}.enhancePrompt"
        rewritten = self.prompts.enhance(request.prompt, request.enhance_prompt_instruction, path)
        drawn = dataclasses.replace(request, prompt=rewritten, seed=plan.seed)
        plan = resolve(drawn, model, self.catalog.key_of(model), self.engine.traits(model), images, elements)
        return dataclasses.replace(plan, original_prompt=request.prompt)

    def photographic_model(self) -> CatalogEntry | None:
        """PhotoReal v1's model: the first installed catalog row marked `photo_real` (None: none is)."""
        return next((entry for entry in self.catalog.photographic() if self.engine.is_installed(entry)), None)

    def source_images(self, user_id: str, request: GenerationRequest) -> SourceImages:
        """The stored keys of the images the request names, each found among the caller's own: an
        id of someone else's image, or of an upload not made yet, is a 400 on the field that named it."""
        # ControlNet sources and image prompts, each found like an init image.
        named = [ref.image for ref in request.controlnets] + list(request.image_prompts)
        named += [ref.image for ref in request.references]  # v2's weighted references
        for ref in [request.init_image, request.mask_image, *named]:
            if ref is not None and ref.origin is ImageOrigin.UPLOADED:
                try:
                    self.settle_upload(user_id, ref.id)
                except (ClientError, PayloadTooLarge) as refused:
                    raise type(refused)(refused.message, _ref_path(ref)) from None
        with self.session_factory() as session:
            init = self._image_key(session, user_id, request.init_image)
            mask = self._image_key(session, user_id, request.mask_image)
            guides = {ref: self._image_key(session, user_id, ref) for ref in named}
        return SourceImages(init_key=init, mask_key=mask, guides={ref: key for ref, key in guides.items() if key})

    def elements_of(self, user_id: str, model: CatalogEntry, request: GenerationRequest) -> tuple[ElementPlan, ...]:
        """The LoRA elements the request names, each found in the catalog (a user's own only), made
        for the model's family, once each, at a weight in its range (its default when none is sent)."""
        family = self.engine.traits(model).lora_family
        plans: list[ElementPlan] = []
        for ref in request.elements:
            if ref.ak_uuid is not None:
                entry, id_field = self.catalog.element(ref.ak_uuid), f"{ref.field}.akUUID"
                unknown = f"{id_field}: {ref.ak_uuid} is not an element this server has (GET /elements lists them)"
            else:
                assert ref.user_lora_id is not None
                entry, id_field = self.catalog.user_element(ref.user_lora_id, user_id), f"{ref.field}.userLoraId"
                unknown = (
                    f"{id_field}: {ref.user_lora_id} is not an element of this user "
                    "(GET /elements/user/{userId} lists them)"
                )
            if entry is None:
                raise ClientError(unknown, f"{GENERATION_ARGS_PATH}.{id_field}")
            if entry.applies_to != family:
                raise ClientError(
                    f"element {entry.name} ({entry.id}) is made for {entry.base_model} models and cannot apply to "
                    f"model {model.name}, a {model.family} model: pick an element whose baseModel matches",
                    f"{GENERATION_ARGS_PATH}.{id_field}",
                )
            if any(plan.element_id == entry.id for plan in plans):
                raise ClientError(
                    f"element {entry.name} ({entry.id}) is named twice: apply each element once, at one weight",
                    f"{GENERATION_ARGS_PATH}.{id_field}",
                )
            weight = entry.weight_default if ref.weight is None else ref.weight
            if not entry.weight_min <= weight <= entry.weight_max:
                raise ClientError(
                    f"{ref.field}.weight must be between {entry.weight_min} and {entry.weight_max} for element "
                    f"{entry.name}, got {weight:g}",
                    f"{GENERATION_ARGS_PATH}.{ref.field}.weight",
                )
            plans.append(ElementPlan(entry.id, float(weight), element_face(entry)))
        return tuple(plans)

    @staticmethod
    def _image_key(session: Session, user_id: str, ref: ImageRef | None) -> str | None:
        if ref is None:
            return None
        if ref.origin is ImageOrigin.GENERATED:
            key = owned_generated_image_key(session, ref.id, user_id)
            what = "a generated image of this user"
        elif ref.origin is ImageOrigin.VARIATION:
            variation = get_owned_variation(session, ref.id, user_id)
            finished = variation is not None and variation.status == GenerationStatus.COMPLETE
            key = variation.blob_key if finished and variation is not None else None
            what = "a finished variation of this user"
        else:
            row = get_owned_init_image(session, ref.id, user_id)
            key = row.blob_key if row is not None and row.state == UploadState.UPLOADED else None
            what = "an uploaded init image of this user (POST /init-image, then its upload form)"
        if key is None:
            raise ClientError(f"invalid init image id: {ref.id} is not {what}", _ref_path(ref))
        return key

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
            job_ids = [job.id for job in generation_jobs(session, generation_id)]
            session.delete(generation)
        self.queue.deleted(generation_id, job_ids)
        self.blobs.delete_prefix(generation_prefix(user_id, generation_id))
        return True
