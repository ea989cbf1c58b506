"""`/pricing-calculator`: what a request would cost, from the price model `apiCreditCost` comes from."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, JsonBody, KeyDep
from sfumato.api.responses import LeonardoJSON
from sfumato.domain.pricing import quoted_credits
from sfumato.wire.pricing_request import calculated_cost, parse_pricing_calculator

router = APIRouter(tags=["pricing"])


# `key` before `payload`: an unauthenticated caller is refused before its body is read.
@router.post("/pricing-calculator")
def pricing_calculator(key: KeyDep, payload: JsonBody, container: ContainerDep) -> LeonardoJSON:
    query = parse_pricing_calculator(payload)
    return LeonardoJSON(calculated_cost(quoted_credits(container.generations.prices, query)))
