"""Variations as Leonardo's JSON: the create answers (`sdUpscaleJob`, `sdNobgJob`, `sdUnzoomJob`,
`universalUpscaler`) and `GET /variations/{id}`. The generic each generated image lists is
`generation_response.variation_generic`, which this answer extends with `createdAt`.
"""

from __future__ import annotations

from typing import Any

from sfumato.domain.views import VariationView
from sfumato.wire.generation_response import UrlFor, cost_to_wire, leonardo_timestamp, variation_generic


def variation_by_id(variation: VariationView | None, url_for: UrlFor) -> dict[str, Any]:
    """`GET /variations/{id}`: a list, as Hasura answers a select by id; empty for an unknown id
    (or someone else's)."""
    if variation is None:
        return {"generated_image_variation_generic": []}
    item = {
        **variation_generic(variation, url_for),
        "createdAt": leonardo_timestamp(variation.created_at),
        # Sfumato's addition, as on generations: why a FAILED variation failed (null otherwise).
        "failureReason": variation.failure_reason,
    }
    return {"generated_image_variation_generic": [item]}


# The answer's key per create route (the spec's example misspells upscale's as `sdUpscalerjob`;
# the SDKs read `sdUpscaleJob`).
UPSCALE_JOB = "sdUpscaleJob"
NOBG_JOB = "sdNobgJob"
UNZOOM_JOB = "sdUnzoomJob"
UNIVERSAL_UPSCALER_JOB = "universalUpscaler"


def variation_job(answer_key: str, variation_id: str, credit_cost: int) -> dict[str, Any]:
    """A create route's answer: the variation's id (the one `GET /variations/{id}` takes) and its
    cost, shaped like `POST /generations`' answer."""
    return {answer_key: {"id": variation_id, "apiCreditCost": credit_cost, "cost": cost_to_wire(credit_cost)}}
