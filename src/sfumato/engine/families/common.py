"""Pieces the family adapters share: how a refusal is spelled, and flow-matching's rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfumato.engine.request import RenderRequest
from sfumato.errors import GENERATION_ARGS_PATH, NotSupported

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

# The one Leonardo scheduler that has a flow-matching counterpart: Euler, which is what SD3 and
# FLUX ship with (FlowMatchEulerDiscreteScheduler). It is also the plan's default scheduler.
FLOW_MATCH_SCHEDULER = "EULER_DISCRETE"


def refuse(field: str, message: str) -> NotSupported:
    """A 400 naming the Leonardo field (`$.selectionSet.sdGenerationJob.args.arg1.<field>`)."""
    return NotSupported(message, f"{GENERATION_ARGS_PATH}.{field}")


def check_flow_match(request: RenderRequest, family: str, multiple: int) -> None:
    """Flow-matching transformers: only Euler, and sides a multiple of the latent patch size."""
    if request.scheduler != FLOW_MATCH_SCHEDULER:
        raise refuse(
            "scheduler",
            f"scheduler {request.scheduler} does not apply to {family} models, which are flow-matching: "
            f"only {FLOW_MATCH_SCHEDULER} (the model's flow-matching Euler scheduler) is supported",
        )
    for field, value in (("width", request.width), ("height", request.height)):
        if value % multiple:
            raise refuse(field, f"{field} must be a multiple of {multiple} for {family} models, got {value}")


def flow_match_scheduler(name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
    """A fresh copy of the model's own flow-matching Euler scheduler (`name` is already checked)."""
    from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler.from_config(dict(base_config))
