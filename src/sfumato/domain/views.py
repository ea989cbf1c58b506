"""Read models: plain, frozen copies of what the store holds, for the layers above it.

The service builds them from ORM rows inside its session (`store/views.py`), so nothing above the
service holds a row that could lazy-load after its session closed, and the wire layer serialises
values it cannot write back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sfumato.domain.elements import ElementPlan
from sfumato.domain.finishing import FinishingPlan
from sfumato.domain.init_images import InitImageKind, UploadState
from sfumato.domain.status import GenerationStatus
from sfumato.domain.variations import TransformType


@dataclass(frozen=True)
class VariationView:
    """A variation (upscale, unzoom, no background) of one of a user's generated images; `blob_key`
    is its picture's once COMPLETE, else None."""

    id: str
    user_id: str
    generated_image_id: str
    transform_type: TransformType
    status: GenerationStatus
    failure_reason: str | None
    blob_key: str | None
    credit_cost: int
    created_at: datetime


@dataclass(frozen=True)
class ImageView:
    id: str
    blob_key: str
    nsfw: bool
    created_at: datetime  # naive UTC, as the columns hold
    variations: tuple[VariationView, ...] = ()  # oldest first


@dataclass(frozen=True)
class GenerationView:
    """One generation as a user may see it; `images` in position order."""

    id: str
    user_id: str
    status: GenerationStatus
    failure_reason: str | None
    prompt: str
    negative_prompt: str
    model_id: str | None
    sd_version: str
    width: int
    height: int
    num_images: int
    inference_steps: int
    guidance_scale: float
    seed: int
    scheduler: str
    preset_style: str | None
    alchemy: bool
    public: bool
    init_strength: float | None  # Leonardo's, for a generation from an init image (else None)
    credit_cost: int
    created_at: datetime
    updated_at: datetime
    images: tuple[ImageView, ...]
    tiling: bool = False  # seamless tiling was asked for (echoed by the webhook envelope)
    elements: tuple[ElementPlan, ...] = ()  # the LoRA elements applied, in order (`generation_elements`)
    # The finishing knobs as resolved (echoed as `photoReal`, `promptMagic*`, `ultra`, ...); `width`
    # and `height` above are the output's size, which a hi-res pass enlarges.
    finishing: FinishingPlan = field(default_factory=FinishingPlan)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an unrevoked key, and the user it acts for."""

    key_id: str
    user_id: str
    concurrency: int


@dataclass(frozen=True)
class WebhookOwner:
    """The key a webhook belongs to, as its envelope echoes it under `apiKey`."""

    key_id: str
    user_id: str
    name: str
    created_at: datetime
    webhook_url: str
    webhook_api_key: str | None


@dataclass(frozen=True)
class InitImageView:
    """An init image or canvas mask, uploaded or still awaited; `blob_key` is where its file is, or
    will be once uploaded."""

    id: str
    user_id: str
    kind: InitImageKind
    extension: str
    blob_key: str
    state: UploadState
    created_at: datetime
    uploaded_at: datetime | None

    @property
    def uploaded(self) -> bool:
        return self.state == UploadState.UPLOADED
