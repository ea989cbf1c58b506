"""`/variations`: upscale, no background, unzoom, universal upscaler; read one by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from sfumato.api.deps import ContainerDep, IdempotencyKeyDep, JsonBody, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.api.routers.generations import url_for_files
from sfumato.container import Container
from sfumato.domain.variations import VariationRequest
from sfumato.domain.views import Principal
from sfumato.wire.variation_request import parse_nobg, parse_universal_upscaler, parse_unzoom, parse_upscale
from sfumato.wire.variation_response import (
    NOBG_JOB,
    UNIVERSAL_UPSCALER_JOB,
    UNZOOM_JOB,
    UPSCALE_JOB,
    variation_by_id,
    variation_job,
)

router = APIRouter(tags=["variations"])


def _create(
    key: Principal,
    payload: Any,
    container: Container,
    parse: Callable[[Any], VariationRequest],
    answer_key: str,
    idempotency_key: str | None,
) -> LeonardoJSON:
    def create() -> dict[str, Any]:
        created = container.variations.create(key, parse(payload))
        return variation_job(answer_key, created.variation_id, created.credit_cost)

    route = f"v1/variations/{answer_key}"
    return LeonardoJSON(container.idempotency.run(key.key_id, idempotency_key, route, payload, create))


# `key` before `payload` in each: an unauthenticated caller is refused before its body is read.
@router.post("/variations/upscale")
def create_upscale(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    return _create(key, payload, container, parse_upscale, UPSCALE_JOB, idempotency_key)


@router.post("/variations/nobg")
def create_nobg(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    return _create(key, payload, container, parse_nobg, NOBG_JOB, idempotency_key)


@router.post("/variations/unzoom")
def create_unzoom(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    return _create(key, payload, container, parse_unzoom, UNZOOM_JOB, idempotency_key)


@router.post("/variations/universal-upscaler")
def create_universal_upscale(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    return _create(key, payload, container, parse_universal_upscaler, UNIVERSAL_UPSCALER_JOB, idempotency_key)


@router.get("/variations/{id}")
def get_variation(id: str, request: Request, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    variation = container.variations.get(key.user_id, checked_uuid(id))
    return LeonardoJSON(variation_by_id(variation, url_for_files(request, container)))
