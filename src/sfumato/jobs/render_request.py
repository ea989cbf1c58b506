"""A plan as the engine's `RenderRequest`: one mapping, used where a plan meets the engine (the
POST-time check in the service and the render in the worker).

It lives here, above both: `domain/` knows no engine type and the engine no plan. The plan's
images are read from the blob store here, so the POST-time check sees the same pictures (and can
refuse a mask of another size) as the render.
"""

from __future__ import annotations

import io

from PIL import Image

from sfumato.domain.generation import GenerationPlan
from sfumato.domain.image_inputs import DEFAULT_INIT_STRENGTH, diffusers_strength
from sfumato.engine import (
    ControlGuide,
    HiresPass,
    ImageReference,
    InitImage,
    LoraWeight,
    Mask,
    RenderRequest,
    Task,
    outpaint_canvas,
)
from sfumato.storage.blobs import BlobStore


def render_request(plan: GenerationPlan, blobs: BlobStore) -> RenderRequest:
    """What the engine draws for `plan`: the templated prompts, the resolved numbers, the init image
    and mask it starts from, its guidance and reference pictures (their files read from `blobs`),
    its elements and finishing passes."""
    init = mask = None
    if plan.init_key is not None:
        strength = diffusers_strength(DEFAULT_INIT_STRENGTH if plan.init_strength is None else plan.init_strength)
        init = InitImage(image=_image(blobs, plan.init_key), strength=strength)
    if plan.mask_key is not None:
        mask = Mask(image=_image(blobs, plan.mask_key))
    if init is not None and plan.unzoom_amount is not None:  # zoom out: outpaint around the image
        canvas = outpaint_canvas(init.image, plan.unzoom_amount)
        init, mask = InitImage(image=canvas.image, strength=init.strength), Mask(image=canvas.mask)
    return RenderRequest(
        prompt=plan.pipeline_prompt,
        negative_prompt=plan.pipeline_negative_prompt,
        width=plan.width,
        height=plan.height,
        num_images=plan.num_images,
        seed=plan.seed,
        guidance_scale=plan.guidance_scale,
        num_inference_steps=plan.num_inference_steps,
        scheduler=plan.scheduler,
        task=Task(plan.task),
        init=init,
        mask=mask,
        controls=tuple(ControlGuide(c.kind, _image(blobs, c.image_key), c.weight) for c in plan.controls),
        references=tuple(ImageReference(r.kind, _image(blobs, r.image_key), r.weight) for r in plan.references),
        loras=tuple(LoraWeight(e.element_id, e.weight) for e in plan.elements),
        tiling=plan.tiling,
        hires=_hires(plan),
        guidance_rescale=plan.finishing.guidance_rescale,
    )


def _hires(plan: GenerationPlan) -> HiresPass | None:
    finishing = plan.finishing
    if finishing.hires_scale is None or finishing.hires_strength is None:
        return None
    width, height = finishing.output_size(plan.width, plan.height)
    return HiresPass(width=width, height=height, strength=finishing.hires_strength)


def _image(blobs: BlobStore, key: str) -> Image.Image:
    """A stored image, decoded in full now (stored images were checked and re-encoded on upload)."""
    image = Image.open(io.BytesIO(blobs.get(key)))
    image.load()
    return image
