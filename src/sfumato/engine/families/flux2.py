"""FLUX.2 [dev] and FLUX.2 [klein].

Both are one flow-matching transformer (`Flux2Transformer2DModel`, a 32-channel VAE packed 2x2)
reading three stacked hidden layers of an LLM: Mistral Small 3.1 for [dev] (`Flux2Pipeline`),
Qwen 3 for [klein] (`Flux2KleinPipeline`). Their reference pictures are native: the pipelines take
an `image=` list whose pictures are encoded by the VAE and attended to beside the noise
(`Family.native_references`), BFL's multi-reference editing; no IP-Adapter is involved.

Guidance differs: [dev] is guidance-distilled (`guidance_scale` is a number fed to the
transformer, one pass per step, as FLUX.1 [dev]); [klein]'s base models run real classifier-free
guidance above 1, against the empty prompt, and its step-distilled 4B/9B models ignore
`guidance_scale` (diffusers only logs it). Neither pipeline takes a negative prompt (diffusers 0.42
hard-codes [klein]'s negative side to ""), so one is refused by name, and a preset style's stock
negative terms are left out (`style_negative_terms`).

Image-to-image is FLUX.2's own edit: the init image, stretched to the requested size, is the first
picture of the `image=` list and the prompt says what to change. That pipeline has no noise
strength, so the init image's strength does not apply (as on FLUX Kontext) and no hi-res pass can
run. [klein] also inpaints (`Flux2KleinInpaintPipeline`, with a strength), taking one reference
picture beside the init image (`image_reference`). diffusers has no FLUX.2 ControlNet nor IP-Adapter,
so `controlnets` are refused by the base rules; tiling is refused as on every flow-matching family.
LoRA elements load through diffusers' `Flux2LoraLoaderMixin` (elements made for FLUX.2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task, reference_field, refuse
from sfumato.engine.request import RenderRequest, Task

_PACKAGE = "diffusers.pipelines.flux2"
# What `Flux2ImageProcessor.check_image_input` accepts of a reference picture: a side of at least
# 64 px (smaller ones are enlarged here, keeping their shape) and at most 8:1.
_MIN_REFERENCE_SIDE = 64
_MAX_REFERENCE_RATIO = 8.0


class Flux2(FlowMatching):
    """FLUX.2 [dev]: up to 6 reference pictures (BFL's recommended maximum for [dev]), the init image
    of an edit counting as one."""

    name = "flux2"
    title = "FLUX.2"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux2", "Flux2Pipeline"),
        image_to_image=("pipeline_flux2", "Flux2Pipeline"),
    )
    defaults = FamilyDefaults("FLUX_DEV", 1024, 1024, 50, 4.0)
    native_references = 6
    strength_tasks = frozenset({Task.INPAINT})
    style_negative_terms = False

    def folder_components(self, folder: Path) -> dict[str, Any]:
        """[dev]'s folder saves its tokenizer as a `PixtralProcessor`, which transformers builds only
        with torchvision; the pipeline tokenises text alone, so the tokenizer is loaded by itself."""
        return {"tokenizer": _processor_tokenizer(folder / "tokenizer")}

    def check(self, request: RenderRequest) -> None:
        super().check(request)
        if request.negative_prompt:
            raise refuse(
                "negative_prompt",
                f"{self.label} models take no negative prompt (their pipeline has no input for one): "
                "remove negative_prompt, or say in the prompt what the picture should show",
            )

    def reference_limit(self, request: RenderRequest) -> int:
        """An edit's init image takes one of the pipeline's picture slots."""
        return self.native_references - (request.task is Task.IMAGE_TO_IMAGE)

    def check_references(self, request: RenderRequest) -> None:
        super().check_references(request)
        for ref in request.references:
            width, height = ref.image.size
            if max(width, height) > _MAX_REFERENCE_RATIO * min(width, height):
                raise refuse(
                    reference_field(ref.kind),
                    f"a {width}x{height} reference picture is too elongated for {self.label} models (at most "
                    f"{_MAX_REFERENCE_RATIO:g}:1): crop it",
                )

    def reference_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """The `image=` list: an edit's init image first (stretched to the requested size), then the
        references at scale above 0; each enlarged to the pipeline's smallest side where it is below."""
        from PIL import Image

        pictures = []
        if request.task is Task.IMAGE_TO_IMAGE and request.init is not None:
            size = (request.width, request.height)
            pictures.append(request.init.image.convert("RGB").resize(size, Image.Resampling.LANCZOS))
        pictures += [ref.image.convert("RGB") for ref in request.references if ref.scale > 0]
        return {"image": [_at_least(picture, _MIN_REFERENCE_SIDE) for picture in pictures]} if pictures else {}

    def image_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """An edit's init image travels in `reference_kwargs`' list (the pipeline has no other image input)."""
        return {} if request.task is Task.IMAGE_TO_IMAGE else super().image_kwargs(request)

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        kwargs = super().pipeline_kwargs(request)
        del kwargs["negative_prompt"]  # refused in `check`: the pipelines take none
        return kwargs


class Flux2Klein(Flux2):
    """FLUX.2 [klein] (4B/9B, distilled or base): up to 4 reference pictures (BFL's figure for
    [klein]); inpaint with one reference beside the init image."""

    name = "flux2-klein"
    title = "FLUX.2 [klein]"
    pipelines = by_task(
        _PACKAGE,
        text_to_image=("pipeline_flux2_klein", "Flux2KleinPipeline"),
        image_to_image=("pipeline_flux2_klein", "Flux2KleinPipeline"),
        inpaint=("pipeline_flux2_klein_inpaint", "Flux2KleinInpaintPipeline"),
    )
    # The step-distilled 4B (Apache-2.0): 4 steps, guidance unused.
    defaults = FamilyDefaults("FLUX", 1024, 1024, 4, 1.0)  # as the shipped klein rows
    native_references = 4

    def folder_components(self, folder: Path) -> dict[str, Any]:
        """[klein]'s tokenizer is a plain `Qwen2TokenizerFast`, which diffusers loads as it is."""
        return {}

    def reference_limit(self, request: RenderRequest) -> int:
        """The inpaint pipeline takes one `image_reference` beside the init image."""
        return 1 if request.task is Task.INPAINT else super().reference_limit(request)

    def reference_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        if request.task is not Task.INPAINT:
            return super().reference_kwargs(request)
        pictures = super().reference_kwargs(request).get("image", [])
        return {"image_reference": pictures[0]} if pictures else {}


def _processor_tokenizer(folder: Path) -> Any:
    """The tokenizer of a processor saved in `folder`, with the processor's chat template where the
    tokenizer has none of its own (a processor may keep it in `chat_template.json`)."""
    import json

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    saved = folder / "chat_template.json"
    if tokenizer.chat_template is None and saved.is_file():
        tokenizer.chat_template = json.loads(saved.read_text(encoding="utf-8"))["chat_template"]
    return tokenizer


def _at_least(picture: Any, side: int) -> Any:
    """`picture` enlarged (keeping its shape) so that its shorter side is at least `side`."""
    from PIL import Image

    shorter = min(picture.size)
    if shorter >= side:
        return picture
    scale = side / shorter
    size = (max(side, round(picture.width * scale)), max(side, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)
