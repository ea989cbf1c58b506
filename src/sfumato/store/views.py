"""ORM rows to the read models of `domain/views.py`. Call these inside the row's session: a view
is a copy, safe to hand past the session's end."""

from __future__ import annotations

from sfumato.domain.generation import GenerationPlan
from sfumato.domain.init_images import InitImageKind, UploadState
from sfumato.domain.presets import shown_style
from sfumato.domain.status import GenerationStatus
from sfumato.domain.variations import TransformType
from sfumato.domain.views import GenerationView, ImageView, InitImageView, Principal, VariationView, WebhookOwner
from sfumato.store.tables import ApiKey, GeneratedImage, Generation, InitImage, Variation


def variation_view(row: Variation) -> VariationView:
    return VariationView(
        id=row.id,
        user_id=row.user_id,
        generated_image_id=row.generated_image_id,
        transform_type=TransformType(row.transform_type),
        status=GenerationStatus(row.status),
        failure_reason=row.failure_reason,
        blob_key=row.blob_key,
        credit_cost=row.credit_cost,
        created_at=row.created_at,
    )


def image_view(row: GeneratedImage) -> ImageView:
    return ImageView(
        id=row.id,
        blob_key=row.blob_key,
        nsfw=row.nsfw,
        created_at=row.created_at,
        variations=tuple(variation_view(variation) for variation in row.variations),
    )


def generation_view(row: Generation) -> GenerationView:
    """The request's fields come from the plan, their one record; the rest are the row's own."""
    plan = GenerationPlan.from_json(row.plan, to_run=False)
    width, height = plan.finishing.output_size(plan.width, plan.height)  # what the pictures are
    return GenerationView(
        id=row.id,
        user_id=row.user_id,
        status=GenerationStatus(row.status),
        failure_reason=row.failure_reason,
        prompt=plan.prompt,
        negative_prompt=plan.negative_prompt,
        model_id=plan.model_id,
        sd_version=plan.sd_version,
        width=width,
        height=height,
        num_images=plan.num_images,
        inference_steps=plan.num_inference_steps,
        guidance_scale=plan.guidance_scale,
        seed=plan.seed,
        scheduler=plan.scheduler,
        preset_style=shown_style(plan.preset_style),
        alchemy=plan.alchemy,
        public=plan.public,
        init_strength=plan.init_strength,
        credit_cost=row.credit_cost,
        created_at=row.created_at,
        updated_at=row.updated_at,
        images=tuple(image_view(image) for image in row.images),
        tiling=plan.tiling,
        elements=plan.elements,
        finishing=plan.finishing,
    )


def principal(row: ApiKey) -> Principal:
    return Principal(key_id=row.id, user_id=row.user_id, concurrency=row.concurrency)


def webhook_owner(row: ApiKey) -> WebhookOwner | None:
    """The key as its webhook envelope shows it; None for a key without a webhook."""
    if not row.webhook_url:
        return None
    return WebhookOwner(
        key_id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        webhook_url=row.webhook_url,
        webhook_api_key=row.webhook_api_key,
    )


def init_image_view(row: InitImage) -> InitImageView:
    return InitImageView(
        id=row.id,
        user_id=row.user_id,
        kind=InitImageKind(row.kind),
        extension=row.extension,
        blob_key=row.blob_key,
        state=UploadState(row.state),
        created_at=row.created_at,
        uploaded_at=row.uploaded_at,
    )
