"""A variation's job, the parts that differ from a generation's: read the variation, make its one
picture from the source's stored file with the engine, and record its end.

`runner.run_job` dispatches here for a job with a `variation_id` and keeps the rest as for a
generation: the lease, the retries, storing (`outputs.store_variation`, under the generation's
prefix) and one transaction that ends job and variation together. Upscale and background removal
run the engine's auxiliary models; unzoom outpaints with the generation's own model and plan
(prompt, seed, steps), so the margin continues the picture it surrounds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image
from sqlalchemy.orm import Session

from sfumato.catalog import CatalogEntry
from sfumato.domain.generation import GenerationPlan
from sfumato.domain.status import JobState
from sfumato.domain.variations import UNZOOM_AMOUNT, UNZOOM_STRENGTH, TransformType, VariationPlan
from sfumato.engine import Engine, InitImage, Mask, RenderRequest, StepCallback, Task, outpaint_canvas
from sfumato.storage.blobs import BlobStore
from sfumato.store.tables import Variation


@dataclass(frozen=True)
class VariationWork:
    """What a run reads of its variation before it starts."""

    variation_id: str
    transform: TransformType
    plan: VariationPlan

    @property
    def uses_model(self) -> bool:
        """Whether it renders with the generation's model (whose weights must be on disk first)."""
        return self.transform is TransformType.UNZOOM


def load_variation(session: Session, variation_id: str) -> VariationWork | None:
    row = session.get(Variation, variation_id)
    if row is None:
        return None
    return VariationWork(row.id, TransformType(row.transform_type), VariationPlan.from_json(row.params))


def unzoom_request(plan: GenerationPlan, source: Image.Image) -> RenderRequest:
    """An unzoom of `source` as the engine draws it: an inpaint of the outpaint canvas (the source
    centred, `UNZOOM_AMOUNT` larger) with the generation's prompts, seed and steps."""
    canvas = outpaint_canvas(source, UNZOOM_AMOUNT)
    return RenderRequest(
        prompt=plan.pipeline_prompt,
        negative_prompt=plan.pipeline_negative_prompt,
        width=canvas.image.width,
        height=canvas.image.height,
        num_images=1,
        seed=plan.seed,
        guidance_scale=plan.guidance_scale,
        num_inference_steps=plan.num_inference_steps,
        scheduler=plan.scheduler,
        task=Task.INPAINT,
        init=InitImage(canvas.image, UNZOOM_STRENGTH),
        mask=Mask(canvas.mask),
    )


def source_picture(blobs: BlobStore, key: str) -> Image.Image:
    """A stored picture, decoded in full now (stored pictures were made or checked by us)."""
    image = Image.open(io.BytesIO(blobs.get(key)))
    image.load()
    return image


def make_variation(
    engine: Engine,
    entry: CatalogEntry | None,
    generation: GenerationPlan,
    work: VariationWork,
    blobs: BlobStore,
    on_step: StepCallback | None = None,
) -> Image.Image:
    """The variation's picture. `entry` is the generation's model, needed only by an unzoom."""
    source = source_picture(blobs, work.plan.source_key)
    if work.transform is TransformType.UPSCALE:
        upscaled = engine.upscale(source, work.plan.network_scale)
        size = work.plan.output_size(source.width, source.height)
        return upscaled if upscaled.size == size else upscaled.resize(size, Image.Resampling.LANCZOS)
    if work.transform is TransformType.NOBG:
        return engine.remove_background(source)
    if work.transform is TransformType.UNZOOM and entry is not None:
        [picture] = engine.render(entry, unzoom_request(generation, source), on_step)
        return picture
    raise ValueError(f"no technique for a {work.transform} variation (model given: {entry is not None})")


def end_variation(
    session: Session, variation_id: str, target: JobState, reason: str | None, blob_key: str | None, now: datetime
) -> None:
    """The variation's side of its job's terminal transition, in the caller's transaction."""
    variation = session.get(Variation, variation_id)
    if variation is None:
        return
    variation.status = target.generation_status
    variation.failure_reason = reason
    variation.blob_key = blob_key
    variation.updated_at = now
