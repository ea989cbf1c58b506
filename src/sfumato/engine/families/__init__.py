"""One adapter per model family: what a family refuses, and how a request becomes call kwargs.

The renderer is family-agnostic; each module here (`sd`, `sdxl`, `sdxl_lightning`, `sd3`, `flux`,
`flux_kontext`) reads top to bottom like a diffusers pipeline file: constants (`FAMILIES`, the
diffusers `PIPELINE` class name a single-file checkpoint loads with), `check_request` (raises
NotSupported naming the Leonardo field it cannot honour), `make_scheduler` and `pipeline_kwargs`.
`ADAPTERS` is keyed by the catalog's `family` string. Adding a family = one module here, one name
below, catalog rows (and a tiny model in `tiny_families.py` to test it). A catalog row of an
unregistered family is refused at POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from sfumato.engine.families import flux, flux_kontext, sd, sd3, sdxl, sdxl_lightning
from sfumato.engine.families.common import refuse
from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


class FamilyAdapter(Protocol):
    """What the renderer and the service need from a family (each module satisfies it)."""

    PIPELINE: str

    def check_request(self, request: RenderRequest) -> None: ...

    def make_scheduler(self, name: str, base_config: Mapping[str, Any]) -> SchedulerMixin: ...

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]: ...


ADAPTERS: dict[str, FamilyAdapter] = {
    family: module for module in (sd, sdxl, sdxl_lightning, sd3, flux, flux_kontext) for family in module.FAMILIES
}


def adapter_for(family: str, model_name: str | None = None) -> FamilyAdapter:
    """The family's adapter; a family Sfumato cannot run is a 400 on `modelId`."""
    adapter = ADAPTERS.get(family)
    if adapter is None:
        model = f"model '{model_name}' is of family '{family}'" if model_name else f"model family '{family}'"
        raise refuse(
            "modelId",
            f"{model}, which this server cannot run yet (supported families: {', '.join(sorted(ADAPTERS))})",
        )
    return adapter
