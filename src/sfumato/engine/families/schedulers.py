"""Leonardo's scheduler names mapped to diffusers schedulers.

Each scheduler is derived from the model's own scheduler config (`from_config`), so the model's
training schedule (betas, timesteps, prediction type) carries over and only the sampler changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Imported from their modules, not `diffusers`, whose lazy top level shows type checkers dummies.
from diffusers.configuration_utils import ConfigMixin
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from diffusers.schedulers.scheduling_euler_ancestral_discrete import EulerAncestralDiscreteScheduler
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers.scheduling_lms_discrete import LMSDiscreteScheduler
from diffusers.schedulers.scheduling_pndm import PNDMScheduler
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from sfumato.engine.request import SCHEDULERS

# Leonardo name -> (diffusers class, config overrides applied on top of the model's config).
SCHEDULER_MAP: Mapping[str, tuple[type[ConfigMixin], Mapping[str, Any]]] = {
    "KLMS": (LMSDiscreteScheduler, {}),
    "EULER_ANCESTRAL_DISCRETE": (EulerAncestralDiscreteScheduler, {}),
    "EULER_DISCRETE": (EulerDiscreteScheduler, {}),
    # Clipping latents is never right for latent diffusion; SD pipelines force it off anyway.
    "DDIM": (DDIMScheduler, {"clip_sample": False}),
    "DPM_SOLVER": (DPMSolverMultistepScheduler, {}),
    # PLMS only, as diffusers' SD pipelines expect; the Runge-Kutta warm-up adds hidden steps.
    "PNDM": (PNDMScheduler, {"skip_prk_steps": True}),
    # Leonardo's own scheduler is proprietary with no public definition, so we choose a strong
    # general-purpose default: DPM-Solver++ (2M) with Karras sigmas.
    "LEONARDO": (DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
}


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """Build a fresh scheduler for one call, so no state is shared between renders."""
    try:
        cls, overrides = SCHEDULER_MAP[name]
    except KeyError:
        raise ValueError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}") from None
    scheduler = cls.from_config(dict(base_config), **overrides)
    if not isinstance(scheduler, SchedulerMixin):
        raise TypeError(f"{cls.__name__} is not a diffusers scheduler")
    return scheduler
