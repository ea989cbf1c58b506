"""The OpenAI Images API as another door onto the same generations: a request becomes a v1
`GenerationRequest` created through `GenerationService.create` (same jobs, limits, tenancy,
webhooks, gallery), then the call waits for it. OpenAI's API is synchronous, so the wait is the
request's: it polls the database with `asyncio.sleep` (no thread is held), and past the configured
wait answers 504 naming the generation, which is not lost and still completes."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from sfumato.catalog import CatalogEntry, CommercialUseRefused, ModelCatalog
from sfumato.config import OpenAISettings
from sfumato.domain.generation import STEPS_MIN, GenerationRequest
from sfumato.domain.image_inputs import ImageOrigin, ImageRef
from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, Principal
from sfumato.errors import ModelUnavailable, SfumatoError
from sfumato.service.generations import CreatedGeneration, GenerationService
from sfumato.service.init_images import InitImageService
from sfumato.service.inline_images import sniffed_extension
from sfumato.wire.openai_images import ImagesCall, ModelNotFound, OpenAIRefusal, StillRendering

POLL_S = 0.2
# An edit without a size is drawn at its image's size, each side snapped to Leonardo's multiple of 8.
_SIDE_MULTIPLE = 8


class RenderFailed(SfumatoError):
    """The generation ended FAILED: the worker's reason, as OpenAI's server_error."""

    status = 500


@dataclass(frozen=True)
class EditImages:
    """An edit's picture and optional OpenAI mask (a PNG whose transparent pixels mark where to edit)."""

    image: bytes
    mask: bytes | None = None


@dataclass
class OpenAIImagesService:
    generations: GenerationService
    init_images: InitImageService
    settings: OpenAISettings

    @property
    def catalog(self) -> ModelCatalog:
        return self.generations.catalog

    def model_names(self) -> list[str]:
        """What `model` takes: catalog ids, v2 slugs, the operator's aliases."""
        ids = [str(entry.id) for entry in self.catalog.listed() if entry.id is not None]
        return [*ids, *self.catalog.slug_names(), *sorted(self.settings.model_aliases)]

    def model_for(self, name: str | None) -> CatalogEntry:
        """The catalog row `name` names (an alias first, then a catalog id, then a v2 slug); 404 if none."""
        asked = name or self.settings.default_model
        target = self.settings.model_aliases.get(asked, asked)
        try:
            known = self.catalog.get(target) is not None
            entry = self.catalog.resolve(target, None) if known else self.catalog.for_slug(target)
        except CommercialUseRefused as not_commercial:
            raise OpenAIRefusal(not_commercial.message, "model", "model_not_allowed") from None
        if entry is None or entry.id is None:
            raise ModelNotFound(asked)
        refusal = self.generations.engine.availability(entry)
        if refusal is not None:
            raise ModelUnavailable(f"{asked}: {refusal}", "$")
        return entry

    def create(self, key: Principal, call: ImagesCall, edit: EditImages | None = None) -> CreatedGeneration:
        """The generation for `call` (an edit's images stored first as the caller's uploads)."""
        model = self.model_for(call.model)
        stored: list[str] = []
        try:
            init, mask, size = self._edit_inputs(key, edit, stored) if edit is not None else (None, None, None)
            width, height = call.size or size or (model.face.native_width, model.face.native_height)
            request = GenerationRequest(
                prompt=call.prompt,
                model_id=str(model.id),
                width=width,
                height=height,
                num_images=call.n,
                num_inference_steps=STEPS_MIN if call.steps_floor else None,
                alchemy=call.alchemy,
                preset_style=call.preset_style,
                transparent=call.transparent,
                init_image=init,
                mask_image=mask,
            )
            return self.generations.create(key, request)
        except Exception:  # nothing was queued: the images stored for it go too
            for image_id in stored:
                self.init_images.delete(key.user_id, image_id)
            raise

    def _edit_inputs(
        self, key: Principal, edit: EditImages, stored: list[str]
    ) -> tuple[ImageRef, ImageRef | None, tuple[int, int]]:
        extension = sniffed_extension(edit.image)
        if extension is None:
            raise OpenAIRefusal("Invalid input image: the image must be a PNG, JPEG or WebP file.", "image",
                                "invalid_image_format")  # fmt: skip
        with _opened(edit.image, "image") as picture:
            size = picture.size
        stored.append(self.init_images.store_inline(key, edit.image, extension))
        init = ImageRef(ImageOrigin.UPLOADED, stored[-1], "canvasInitId")
        snapped = (_snapped(size[0]), _snapped(size[1]))
        if edit.mask is None:
            return init, None, snapped
        stored.append(self.init_images.store_inline(key, repaint_mask(edit.mask, size), "png"))
        return init, ImageRef(ImageOrigin.UPLOADED, stored[-1], "canvasMaskId"), snapped

    async def finished(self, user_id: str, generation_id: str, wait_s: float | None = None) -> GenerationView:
        """The generation once COMPLETE; FAILED is a 500 with its reason, the wait's end a 504."""
        limit = self.settings.wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + limit
        while True:
            view = await asyncio.to_thread(self.generations.get, user_id, generation_id)
            if view is None:  # deleted while waited for
                raise RenderFailed(f"the generation {generation_id} was deleted before it finished")
            if view.status == GenerationStatus.COMPLETE:
                return view
            if view.status == GenerationStatus.FAILED:
                raise RenderFailed(f"the generation {generation_id} failed: {view.failure_reason or 'no reason'}")
            if time.monotonic() >= deadline:
                raise StillRendering(generation_id, limit)
            await asyncio.sleep(POLL_S)

    def outputs(
        self, view: GenerationView, response_format: str, url_for: Callable[[str], str]
    ) -> list[tuple[str, str]]:
        """Each picture as `("url", ...)` or `("b64_json", ...)`, in position order."""
        if response_format == "b64_json":
            blobs = self.generations.blobs
            return [("b64_json", base64.b64encode(blobs.get(image.blob_key)).decode()) for image in view.images]
        return [("url", url_for(image.blob_key)) for image in view.images]


def _snapped(side: int) -> int:
    return max(_SIDE_MULTIPLE, side // _SIDE_MULTIPLE * _SIDE_MULTIPLE)


def _opened(data: bytes, param: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        raise OpenAIRefusal(f"Invalid input {param}: the file is not an image that can be read.", param,
                            "invalid_image") from None  # fmt: skip


def repaint_mask(data: bytes, image_size: tuple[int, int]) -> bytes:
    """OpenAI's mask (transparent where to edit) as the canvas mask inpainting takes: white repaints,
    black keeps. It must be a PNG with an alpha channel, the image's size."""
    if sniffed_extension(data) != "png":
        raise OpenAIRefusal("Invalid mask: the mask must be a PNG file.", "mask", "invalid_image_format")
    with _opened(data, "mask") as picture:
        if picture.size != image_size:
            raise OpenAIRefusal(
                f"Invalid mask: the mask is {picture.size[0]}x{picture.size[1]} but the image is "
                f"{image_size[0]}x{image_size[1]}; they must be the same size.",
                "mask",
                "invalid_image_dimensions",
            )
        if "A" not in picture.getbands() and "transparency" not in picture.info:
            raise OpenAIRefusal("Invalid mask: the mask must have an alpha channel; its fully transparent pixels "
                                "mark where the image is edited.", "mask", "invalid_image_format")  # fmt: skip
        alpha = picture.convert("RGBA").getchannel("A")
    repaint = alpha.point(lambda value: 255 if value < 128 else 0)
    out = io.BytesIO()
    repaint.convert("L").save(out, format="PNG")
    return out.getvalue()
