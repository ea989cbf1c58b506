"""A plan as the engine's `RenderRequest`: one mapping, used where a plan meets the engine (the
POST-time check in the service and the render in the worker).

It lives here, above both: `domain/` knows no engine type and the engine no plan.
"""

from __future__ import annotations

from sfumato.domain.generation import GenerationPlan
from sfumato.engine import RenderRequest


def render_request(plan: GenerationPlan) -> RenderRequest:
    """What the engine draws for `plan`: the templated prompts and the resolved numbers."""
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
    )
