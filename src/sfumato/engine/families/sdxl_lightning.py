"""SDXL-Lightning (ByteDance): SDXL base 1.0 with a distilled UNet, run the way ByteDance documents
it: `StableDiffusionXLPipeline`, `EulerDiscreteScheduler` with `timestep_spacing="trailing"`, and
the step count the UNet file was distilled for. The catalog row names the base folder plus the UNet
file (`unet_repo`/`unet_file`); the loader swaps it in, so only one UNet is ever held.

Steps. Each Lightning UNet is distilled for one schedule (1, 2, 4 or 8 steps) and looks best at
that count; a request without `num_inference_steps` gets the row's `default_steps` (8 for the
shipped 8-step file; a row's `default_steps` must match its file). An explicit count (Leonardo
allows 10-60) is run as asked on the same trailing schedule: the model still converges, more
steps cost more time and buy little. Clients written for Leonardo's Lightning XL keep working.

Guidance. Lightning was trained without classifier-free guidance. Leonardo's `guidance_scale`
(1-20) is passed through as diffusers' classic CFG scale: the rows default to 1.0, where diffusers
turns CFG off (one UNet pass per step, as trained). A request may ask for more; that is real CFG at
that scale (two passes per step, and ByteDance's model saturates quickly above ~2). As with any
CFG model, the negative prompt (and a preset's negative terms) only acts when guidance is above 1.

Schedulers: only EULER_DISCRETE (trailing Euler, what the model was distilled with); Leonardo's
other samplers are refused rather than run off the schedule the UNet learnt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.families.common import refuse
from sfumato.engine.families.sd import pipeline_kwargs
from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

FAMILIES = ("sdxl-lightning",)
PIPELINE = "StableDiffusionXLPipeline"
# The step counts ByteDance publishes distilled UNets for (a row's default_steps is one of them).
DISTILLED_STEPS = (1, 2, 4, 8)
SCHEDULER = "EULER_DISCRETE"

__all__ = ["FAMILIES", "PIPELINE", "check_request", "make_scheduler", "pipeline_kwargs"]


def check_request(request: RenderRequest) -> None:
    if request.scheduler != SCHEDULER:
        raise refuse(
            "scheduler",
            f"scheduler {request.scheduler} does not apply to SDXL-Lightning models, which are distilled for "
            f"trailing Euler sampling: only {SCHEDULER} is supported",
        )


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """SDXL's own Euler scheduler config with trailing timesteps, as ByteDance's model card sets it."""
    from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler

    return EulerDiscreteScheduler.from_config(dict(base_config), timestep_spacing="trailing")
