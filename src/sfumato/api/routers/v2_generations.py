"""`POST /api/rest/v2/generations`: Leonardo's second create endpoint. The generation it makes is
read through v1 (`GET /api/rest/v1/generations/{id}`, the user list), as every v2 client does."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, IdempotencyKeyDep, JsonBody, KeyDep
from sfumato.api.responses import LeonardoJSON
from sfumato.wire.v2_request import parse_v2_generation, v2_generation_job

router = APIRouter(tags=["v2"])


@router.post("/generations")
def create_v2_generation(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    # `key` before `payload`: an unauthenticated caller is refused before its body is read.
    def create() -> dict[str, Any]:
        created = container.v2_generations.create(key, parse_v2_generation(payload))
        return v2_generation_job(created.generation_id, created.credit_cost)

    return LeonardoJSON(container.idempotency.run(key.key_id, idempotency_key, "v2/generations", payload, create))
