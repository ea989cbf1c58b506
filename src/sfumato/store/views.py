"""ORM rows to the read models of `domain/views.py`. Call these inside the row's session: a view
is a copy, safe to hand past the session's end."""

from __future__ import annotations

from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, ImageView, Principal, WebhookOwner
from sfumato.store.tables import ApiKey, GeneratedImage, Generation


def image_view(row: GeneratedImage) -> ImageView:
    return ImageView(id=row.id, blob_key=row.blob_key, nsfw=row.nsfw, created_at=row.created_at)


def generation_view(row: Generation) -> GenerationView:
    return GenerationView(
        id=row.id,
        user_id=row.user_id,
        status=GenerationStatus(row.status),
        failure_reason=row.failure_reason,
        prompt=row.prompt,
        negative_prompt=row.negative_prompt,
        model_id=row.model_id,
        sd_version=row.sd_version,
        width=row.width,
        height=row.height,
        num_images=row.num_images,
        inference_steps=row.inference_steps,
        guidance_scale=row.guidance_scale,
        seed=row.seed,
        scheduler=row.scheduler,
        preset_style=row.preset_style,
        alchemy=row.alchemy,
        public=row.public,
        credit_cost=row.credit_cost,
        created_at=row.created_at,
        updated_at=row.updated_at,
        images=tuple(image_view(image) for image in row.images),
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
