"""FLUX.1 Kontext (`FluxKontextPipeline`): FLUX.1 [dev]'s architecture trained to edit a context
image; with no image it draws from the prompt alone, which is what a Leonardo text-to-image
request asks for. Leonardo sends init/context images through other fields (refused elsewhere for
now), so `image` is always None here.

The rules are FLUX's (`families/flux.py`): distilled guidance, true CFG for a negative prompt, only
EULER_DISCRETE, sides multiples of 16. One Kontext difference: the pipeline rescales every output
to `max_area` (1024² by default, keeping the aspect ratio), so the call sets `max_area` to the
requested area and the picture keeps the requested size.
"""

from __future__ import annotations

from typing import Any

from sfumato.engine.families import flux
from sfumato.engine.families.common import check_flow_match, flow_match_scheduler
from sfumato.engine.request import RenderRequest

FAMILIES = ("flux-kontext",)
PIPELINE = "FluxKontextPipeline"

make_scheduler = flow_match_scheduler


def check_request(request: RenderRequest) -> None:
    check_flow_match(request, "flux-kontext", flux.SIZE_MULTIPLE)


def pipeline_kwargs(request: RenderRequest) -> dict[str, Any]:
    return {**flux.pipeline_kwargs(request), "image": None, "max_area": request.width * request.height}
