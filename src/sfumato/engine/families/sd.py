"""Stable Diffusion 1.x and 2.x (`StableDiffusionPipeline`): one CLIP text encoder, a UNet,
classic classifier-free guidance, and all seven Leonardo schedulers (SD 2.x's v-prediction is in
the model's scheduler config, which every swapped-in scheduler inherits). Their rules and call are
the base `Family`'s."""

from __future__ import annotations

from types import MappingProxyType
from typing import ClassVar

from sfumato.engine.families.base import Family, FamilyDefaults, by_task
from sfumato.engine.request import Task


class SD15(Family):
    """Stable Diffusion 1.x: OpenAI's CLIP ViT-L text encoder, 512 px."""

    name = "sd15"
    pipelines = by_task(
        "diffusers.pipelines.stable_diffusion",
        text_to_image=("pipeline_stable_diffusion", "StableDiffusionPipeline"),
        image_to_image=("pipeline_stable_diffusion_img2img", "StableDiffusionImg2ImgPipeline"),
        inpaint=("pipeline_stable_diffusion_inpaint", "StableDiffusionInpaintPipeline"),
    )
    controlnet_pipelines = by_task(
        "diffusers.pipelines.controlnet",
        text_to_image=("pipeline_controlnet", "StableDiffusionControlNetPipeline"),
        image_to_image=("pipeline_controlnet_img2img", "StableDiffusionControlNetImg2ImgPipeline"),
        inpaint=("pipeline_controlnet_inpaint", "StableDiffusionControlNetInpaintPipeline"),
    )
    defaults = FamilyDefaults("v1_5", 512, 512, 30, 7.0)
    key_fragment = "cond_stage_model.transformer."  # OpenAI CLIP ViT-L text encoder
    ip_adapter_family: ClassVar[str | None] = "sd15"
    # diffusers 0.42's SD img2img and inpaint pipelines have no `guidance_rescale`.
    guidance_rescale_tasks = frozenset({Task.TEXT_TO_IMAGE})


class SD2(SD15):
    """Stable Diffusion 2.x: an OpenCLIP ViT-H text encoder (1024 wide), usually v-prediction, 768 px.
    Its folders have SD 1.x's pipeline class; the text encoder's width or v-prediction tells them apart."""

    name = "sd2"
    defaults = FamilyDefaults("v2", 768, 768, 30, 7.0)
    index_hints = MappingProxyType(
        {
            ("text_encoder/config.json", "hidden_size"): 1024,
            ("scheduler/scheduler_config.json", "prediction_type"): "v_prediction",
        }
    )
    key_fragment = "cond_stage_model.model."  # OpenCLIP ViT-H text encoder
    ip_adapter_family = None
    references_rule = (
        "no IP-Adapter was published for SD 2.x (h94's are for SD 1.5 and SDXL); use an SD 1.5 or SDXL model"
    )
