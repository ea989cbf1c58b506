"""Read models as the service hands them to the wire layer, with values that show each format."""

from __future__ import annotations

from datetime import datetime

from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, ImageView, WebhookOwner

MOMENT = datetime(2023, 11, 9, 0, 42, 22, 707000)


def url_for(blob_key: str) -> str:
    return f"http://h:1/files/{blob_key}"


def generation(
    status: GenerationStatus = GenerationStatus.COMPLETE, failure_reason: str | None = None
) -> GenerationView:
    image = ImageView(id="i-1", blob_key="users/u-1/x.png", nsfw=False, created_at=MOMENT)
    return GenerationView(
        id="g-1", user_id="u-1", status=status, failure_reason=failure_reason, prompt="a cat", negative_prompt="",
        model_id="b24e16ff-06e3-43eb-8d33-4416c2d75876", sd_version="v1_5", width=64, height=64, num_images=1,
        inference_steps=10, guidance_scale=7.0, seed=905778432, scheduler="EULER_DISCRETE", preset_style=None,
        alchemy=False, public=False, init_strength=None, credit_cost=2, created_at=MOMENT, updated_at=MOMENT,
        images=(image,),  # on every status: the serialisers show images only when COMPLETE
    )  # fmt: skip


def webhook_owner() -> WebhookOwner:
    return WebhookOwner(
        key_id="k-1", user_id="u-1", name="hooked", created_at=MOMENT,
        webhook_url="https://example.com/hook", webhook_api_key="abcd",
    )  # fmt: skip
