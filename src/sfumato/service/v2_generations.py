"""`POST /api/rest/v2/generations`: a v2 request checked against its slug's rules, its images found
or stored, then created through `GenerationService.create` like any v1 generation (same limits,
jobs, tenancy, webhooks; v1's GET and the user list show it)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from sfumato.catalog import CatalogEntry, CommercialUseRefused
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.guidance import WeightedReference
from sfumato.domain.image_inputs import ImageOrigin, ImageRef
from sfumato.domain.v2_models import rules_for
from sfumato.domain.v2_rules import (
    MODEL_PATH,
    PARAMETERS_PATH,
    V2Request,
    check,
    fail,
    generation_request,
    matched_size,
    v2_path,
)
from sfumato.domain.views import Principal
from sfumato.errors import ClientError, ModelUnavailable, SfumatoError
from sfumato.service.generations import CreatedGeneration, GenerationService
from sfumato.service.init_images import InitImageService
from sfumato.service.inline_images import InlineImages

# v2's id types as the origins v1 looks images up by (Kontext's pages also say INIT and GENERATION).
_ORIGINS = {
    "UPLOADED": ImageOrigin.UPLOADED,
    "INIT": ImageOrigin.UPLOADED,
    "GENERATED": ImageOrigin.GENERATED,
    "GENERATION": ImageOrigin.GENERATED,
    "VARIATION": ImageOrigin.VARIATION,
}


@dataclass
class V2GenerationService:
    generations: GenerationService
    init_images: InitImageService
    inline: InlineImages

    def create(self, key: Principal, request: V2Request) -> CreatedGeneration:
        rules = rules_for(request.slug)
        check(request, rules)
        model = self.serving(request)
        enhance = self._enhance(request)
        images, stored = self._images(key, request)
        try:
            size = self._matched_size(key, request, images) if request.width == 0 else None
            checked = generation_request(
                request,
                rules,
                model_id=str(model.id),
                default_steps=model.quality.default_steps,
                images=images,
                size=size,
                enhance=enhance,
            )
            try:
                return self.generations.create(key, checked)
            except SfumatoError as error:  # a later rule's refusal names the v2 parameter, not v1's field
                error.path = v2_path(error.path)
                raise
        except Exception:  # nothing was queued: the inline images stored for it go too
            for image_id in stored:
                self.init_images.delete(key.user_id, image_id)
            raise

    def serving(self, request: V2Request) -> CatalogEntry:
        """The catalog row serving the slug (for its number of image references), if servable here."""
        references = sum(1 for guide in request.guides if guide.kind == "image_reference")
        catalog = self.generations.catalog
        try:
            model = catalog.for_slug(request.slug, references)
        except CommercialUseRefused as refusal:
            raise refusal.at(MODEL_PATH) from None
        if model is None or model.id is None:
            raise ClientError(
                f"{request.slug} is not a model slug this server serves; served: {', '.join(catalog.slug_names())} "
                "(docs/v2.md, docs/models.md)",
                MODEL_PATH,
            )
        refusal_text = self.generations.engine.availability(model)
        if refusal_text is not None:
            raise ModelUnavailable(f"{request.slug}: {refusal_text} (`sfumato models pull {request.slug}` "
                                   "fetches the same)", MODEL_PATH)  # fmt: skip
        return model

    def _enhance(self, request: V2Request) -> bool:
        """`prompt_enhance`: ON needs the LLM, AUTO (the default) uses it when one is configured."""
        configured = self.generations.prompts.llm is not None
        if request.prompt_enhance == "ON" and not configured:
            raise fail(
                "prompt_enhance",
                "prompt_enhance ON needs an LLM and none is configured on this server: set SFUMATO_LLM_BASE_URL "
                "and SFUMATO_LLM_MODEL (docs/prompts.md), or send AUTO or OFF",
            )
        return request.prompt_enhance != "OFF" and configured

    def _images(self, key: Principal, request: V2Request) -> tuple[dict[str, ImageRef], list[str]]:
        """Each guide's picture as an image v1 looks up: ids as they are, inline ones stored first as
        the caller's uploads. Also the ids stored, to remove if the request fails after all."""
        images: dict[str, ImageRef] = {}
        stored: list[str] = []
        try:
            for guide in request.guides:
                path = f"{PARAMETERS_PATH}.{guide.field}.image"
                image = guide.image
                if image.type in _ORIGINS:
                    assert image.id is not None
                    images[guide.field] = ImageRef(_ORIGINS[image.type], image.id, f"{path}.id")
                    continue
                if image.type == "BASE64":
                    assert image.data is not None
                    data, extension = self.inline.base64_image(image.data, f"{path}.data")
                else:
                    assert image.url is not None
                    data, extension = self.inline.url_image(image.url, f"{path}.url")
                try:
                    image_id = self.init_images.store_inline(key, data, extension)
                except ClientError as error:
                    raise ClientError(error.message, f"{path}.{'data' if image.type == 'BASE64' else 'url'}") from None
                stored.append(image_id)
                images[guide.field] = ImageRef(ImageOrigin.UPLOADED, image_id, f"{path}.id")
        except Exception:
            for image_id in stored:
                self.init_images.delete(key.user_id, image_id)
            raise
        return images, stored

    def _matched_size(self, key: Principal, request: V2Request, images: dict[str, ImageRef]) -> tuple[int, int]:
        """Width and height 0: the first image reference's aspect ratio, at about a megapixel."""
        first = next(guide for guide in request.guides if guide.kind == "image_reference")
        ref = images[first.field]
        found = self.generations.source_images(key.user_id, _only(ref))
        with Image.open(io.BytesIO(self.generations.blobs.get(found.guides[ref]))) as picture:
            return matched_size(picture.size)


def _only(ref: ImageRef) -> GenerationRequest:
    """A request naming only `ref`, for the service's owner-only image look-up."""
    return GenerationRequest(prompt="", references=(WeightedReference("image", ref, 1.0),))
