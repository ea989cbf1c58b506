"""Leonardo's scheduler names mapped to diffusers schedulers.

Each scheduler is derived from the model's own scheduler config (`from_config`), so the model's
training schedule (betas, timesteps, prediction type) carries over and only the sampler changes.
Classes are named by module and imported when a render builds one, so importing this table
loads neither torch nor diffusers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.families.base import DiffusersClass
from sfumato.engine.request import SCHEDULERS

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


def _scheduler(module: str, name: str) -> DiffusersClass:
    return DiffusersClass(f"diffusers.schedulers.{module}", name)


# Leonardo name -> (diffusers class, config overrides applied on top of the model's config).
SCHEDULER_MAP: Mapping[str, tuple[DiffusersClass, Mapping[str, Any]]] = {
    "KLMS": (_scheduler("scheduling_lms_discrete", "LMSDiscreteScheduler"), {}),
    "EULER_ANCESTRAL_DISCRETE": (
        _scheduler("scheduling_euler_ancestral_discrete", "EulerAncestralDiscreteScheduler"),
        {},
    ),
    "EULER_DISCRETE": (_scheduler("scheduling_euler_discrete", "EulerDiscreteScheduler"), {}),
    # Clipping latents is never right for latent diffusion; SD pipelines force it off anyway.
    "DDIM": (_scheduler("scheduling_ddim", "DDIMScheduler"), {"clip_sample": False}),
    "DPM_SOLVER": (_scheduler("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler"), {}),
    # PLMS only, as diffusers' SD pipelines expect; the Runge-Kutta warm-up adds hidden steps.
    "PNDM": (_scheduler("scheduling_pndm", "PNDMScheduler"), {"skip_prk_steps": True}),
    # Leonardo's own scheduler is proprietary with no public definition, so we choose a strong
    # general-purpose default: DPM-Solver++ (2M) with Karras sigmas.
    "LEONARDO": (
        _scheduler("scheduling_dpmsolver_multistep", "DPMSolverMultistepScheduler"),
        {"use_karras_sigmas": True},
    ),
}


def leonardo_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """Build a fresh scheduler for one call, so no state is shared between renders."""
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    try:
        cls, overrides = SCHEDULER_MAP[name]
    except KeyError:
        raise ValueError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}") from None
    scheduler = cls.load().from_config(dict(base_config), **overrides)
    if not isinstance(scheduler, SchedulerMixin):
        raise TypeError(f"{cls.name} is not a diffusers scheduler")
    return scheduler
