"""Stable Diffusion XL and SDXL-Lightning.

SDXL (`StableDiffusionXLPipeline`): two CLIP text encoders (both get the same prompt and negative
prompt), a UNet with size conditioning, classic classifier-free guidance, and all seven Leonardo
schedulers (it takes the same Karras-family schedulers as SD 1.x). The call is SD 1.x's:
`prompt_2` / `negative_prompt_2` default to `prompt` / `negative_prompt`, and `original_size` /
`target_size` default to the output size, which a plain text-to-image call wants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.families.base import Family, FamilyDefaults, by_task
from sfumato.engine.request import Task

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


class SDXL(Family):
    name = "sdxl"
    pipelines = by_task(
        "diffusers.pipelines.stable_diffusion_xl",
        text_to_image=("pipeline_stable_diffusion_xl", "StableDiffusionXLPipeline"),
        image_to_image=("pipeline_stable_diffusion_xl_img2img", "StableDiffusionXLImg2ImgPipeline"),
        inpaint=("pipeline_stable_diffusion_xl_inpaint", "StableDiffusionXLInpaintPipeline"),
    )
    controlnet_pipelines = by_task(
        "diffusers.pipelines.controlnet",
        text_to_image=("pipeline_controlnet_sd_xl", "StableDiffusionXLControlNetPipeline"),
        image_to_image=("pipeline_controlnet_sd_xl_img2img", "StableDiffusionXLControlNetImg2ImgPipeline"),
        inpaint=("pipeline_controlnet_inpaint_sd_xl", "StableDiffusionXLControlNetInpaintPipeline"),
    )
    controlnet_family = "sdxl"  # SDXL-Lightning's UNet takes SDXL's ControlNets
    defaults = FamilyDefaults("SDXL_1_0", 1024, 1024, 30, 7.0)
    key_fragment = "conditioner.embedders.1"
    ip_adapter_family = "sdxl"  # SDXL-Lightning's UNet takes SDXL's adapters too
    ip_adapter_style_block = ("up", 0, 1)  # InstantStyle: up_blocks.0.attentions.1 carries style
    guidance_rescale_tasks = frozenset(Task)  # each SDXL pipeline takes `guidance_rescale`


class SDXLLightning(SDXL):
    """SDXL-Lightning (ByteDance): SDXL base 1.0 with a distilled UNet, run the way ByteDance
    documents it: `StableDiffusionXLPipeline`, `EulerDiscreteScheduler` with
    `timestep_spacing="trailing"`, and the step count the UNet file was distilled for. The catalog
    row names the base folder plus the UNet file (`unet_repo`/`unet_file`); the loader swaps it in,
    so only one UNet is ever held.

    Steps. Each Lightning UNet is distilled for one schedule (1, 2, 4 or 8 steps) and looks best at
    that count; a request without `num_inference_steps` gets the row's `default_steps` (8 for the
    shipped 8-step file; a row's `default_steps` must match its file). An explicit count (Leonardo
    allows 10-60) is run as asked on the same trailing schedule: the model still converges, more
    steps cost more time and buy little. Clients written for Leonardo's Lightning XL keep working.

    Guidance. Lightning was trained without classifier-free guidance. Leonardo's `guidance_scale`
    (1-20) is passed through as diffusers' classic CFG scale: the rows default to 1.0, where
    diffusers turns CFG off (one UNet pass per step, as trained). A request may ask for more; that
    is real CFG at that scale (two passes per step, and ByteDance's model saturates quickly above
    ~2). As with any CFG model, the negative prompt (and a preset's negative terms) only acts when
    guidance is above 1.

    Schedulers: only EULER_DISCRETE (trailing Euler, what the model was distilled with); Leonardo's
    other samplers are refused rather than run off the schedule the UNet learnt. Image-to-image
    and inpaint are SDXL's pipelines on the same modules, on the same trailing schedule (an init
    strength runs its last share of those steps).
    """

    name = "sdxl-lightning"
    title = "SDXL-Lightning"
    lora_family = "sdxl"  # an SDXL LoRA applies to its SDXL base
    defaults = FamilyDefaults("SDXL_LIGHTNING", 1024, 1024, 8, 1.0)
    recognised = False  # its base folder is plain SDXL, its UNet file no whole model
    schedulers = ("EULER_DISCRETE",)
    scheduler_rule = "which are distilled for trailing Euler sampling: only EULER_DISCRETE is supported"

    def make_scheduler(self, name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
        """SDXL's own Euler scheduler config with trailing timesteps, as ByteDance's model card sets it."""
        from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler

        return EulerDiscreteScheduler.from_config(dict(base_config), timestep_spacing="trailing")
