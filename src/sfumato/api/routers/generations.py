"""`/generations`: create, read, list by user, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from sfumato.api.deps import ContainerDep, IdempotencyKeyDep, JsonBody, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.container import Container
from sfumato.wire.generation_request import parse_create_generation
from sfumato.wire.generation_response import (
    UrlFor,
    deleted_generation,
    generation_by_pk,
    generation_job,
    generations_by_user,
)

router = APIRouter(tags=["generations"])

# The largest OFFSET the databases take (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1


def url_for_files(request: Request, container: Container) -> UrlFor:
    """Absolute image URLs from the blob store: on the configured public URL, else the one the client
    used (the local store's `/files/`), or the bucket's (S3)."""
    base = (container.settings.server.public_url or str(request.base_url)).rstrip("/")
    blobs = container.blobs
    return lambda key: blobs.url(key, base)


@router.post("/generations")
def create_generation(
    key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> LeonardoJSON:
    # `key` before `payload`: an unauthenticated caller is refused before its body is read.
    def create() -> dict[str, Any]:
        created = container.generations.create(key, parse_create_generation(payload))
        return generation_job(created.generation_id, created.credit_cost)

    return LeonardoJSON(container.idempotency.run(key.key_id, idempotency_key, "v1/generations", payload, create))


@router.get("/generations/{id}")
def get_generation(id: str, request: Request, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    generation = container.generations.get(key.user_id, checked_uuid(id))
    url_for = url_for_files(request, container)
    return LeonardoJSON(generation_by_pk(generation, url_for))


@router.delete("/generations/{id}")
def delete_generation(id: str, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    generation_id = checked_uuid(id)
    deleted = container.generations.delete(key.user_id, generation_id)
    return LeonardoJSON(deleted_generation(generation_id if deleted else None))


@router.get("/generations/user/{userId}")
def list_generations(
    userId: str,
    request: Request,
    key: KeyDep,
    container: ContainerDep,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(10, ge=0, le=1000),
) -> LeonardoJSON:
    user_id = checked_uuid(userId)
    # Someone else's userId lists nothing: a user sees only their own generations.
    generations = container.generations.list(user_id, offset, limit) if user_id == key.user_id else []
    url_for = url_for_files(request, container)
    return LeonardoJSON(generations_by_user(generations, url_for))
