"""Ideogram 4 (ideogram-ai's open weights; `Ideogram4Pipeline`): a typography-strong
flow-matching transformer conditioned on 13 tapped layers of a Qwen3-VL text encoder.

Guidance. Ideogram 4 is trained with asymmetric CFG: a separate unconditional transformer draws
with no text at all, and each step blends `g * v_text + (1 - g) * v_uncond`, which is classic CFG
at scale g, so Leonardo's `guidance_scale` is passed as it is. The model's recommended call is a
schedule rather than a constant: 7.0 for the main steps, 3.0 for the last three "polish" steps.
Sfumato keeps that shape, scaled to the request: the main steps run at `guidance_scale` and the
polish steps at 3/7 of it (at the default 7 and 48 steps, exactly diffusers' default schedule);
with 3 steps or fewer every step is a main step.

Refused, naming the field: a negative prompt (the unconditional branch takes no text, so there
is nothing to put one in; a preset style's stock negative terms are left out), image-to-image,
inpaint and hi-res passes (diffusers has only text-to-image for it, no `image` input), image
references and ControlNets (none exist for it), tiling (RoPE, `FlowMatching`), and schedulers other
than Euler (its pipeline sets a logit-normal sigma schedule on the model's flow-matching Euler).
LoRA elements load through diffusers' `Ideogram4LoraLoaderMixin`. Sides are multiples of 16
(8x VAE, 2x2 patches); the pipeline's prompt upsampling is not used (Sfumato's own
`enhancePrompt` rewrites prompts).

Prompt length. The pipeline left-pads every prompt to `max_sequence_length` (2048 tokens by
default) and runs the text encoder and, every step, the transformer over that padding, which is
masked out and so changes nothing but the cost. Sfumato sets it to a bound on the prompt's tokens
instead (`text_tokens_bound`): Qwen's byte-level tokens each cover at least one byte, so the
prompt's UTF-8 bytes plus room for the chat template bound them.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families.base import FamilyDefaults, FlowMatching, by_task, refuse
from sfumato.engine.request import RenderRequest

# The recommended schedule's last steps and their share of the main steps' guidance (3.0 / 7.0).
POLISH_STEPS = 3
POLISH_SHARE = 3.0 / 7.0
# The pipeline's own (and most) text tokens, and the room left for its chat template's tokens.
MAX_SEQUENCE_LENGTH = 2048
TEMPLATE_TOKENS = 256


def text_tokens_bound(prompt: str) -> int:
    """At least the chat-formatted prompt's token count (one byte or more per token), at most the pipeline's."""
    return min(len(prompt.encode("utf-8")) + TEMPLATE_TOKENS, MAX_SEQUENCE_LENGTH)


def guidance_schedule(guidance_scale: float, steps: int) -> list[float]:
    """Per-step guidance: the main steps at `guidance_scale`, the polish steps at its 3/7."""
    polish = POLISH_STEPS if steps > POLISH_STEPS else 0
    return [guidance_scale] * (steps - polish) + [guidance_scale * POLISH_SHARE] * polish


class Ideogram4(FlowMatching):
    name = "ideogram4"
    title = "Ideogram 4"
    pipelines = by_task("diffusers.pipelines.ideogram4", text_to_image=("pipeline_ideogram4", "Ideogram4Pipeline"))
    # The pipeline's defaults, "the recommended settings for best quality": 2048 px, 48 steps, 7.0.
    # sd_version: Leonardo's enum has no Ideogram; v3, as the catalog's Ideogram 4 row says.
    defaults = FamilyDefaults("v3", 2048, 2048, 48, 7.0)
    references_rule = "Ideogram 4 takes no image input and has no IP-Adapter; use an SD 1.5, SDXL or FLUX model"
    style_negative_terms = False
    strength_tasks = frozenset()  # no image-to-image or inpaint pipeline to take a strength

    def check(self, request: RenderRequest) -> None:
        super().check(request)
        if request.negative_prompt:
            raise refuse(
                "negative_prompt",
                "Ideogram 4 models take no negative prompt: their guidance is a separate unconditional model "
                "that draws without text; remove negative_prompt",
            )

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        kwargs = super().pipeline_kwargs(request)
        del kwargs["negative_prompt"]  # the pipeline has no such argument (refused above)
        return {
            **kwargs,
            "guidance_scale": None,
            "guidance_schedule": guidance_schedule(request.guidance_scale, request.num_inference_steps),
            "max_sequence_length": text_tokens_bound(request.prompt),
        }
