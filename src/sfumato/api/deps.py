"""Small dependencies every route states explicitly: the container, the caller's key,
a decoded JSON body, and UUID-checked path ids."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import Depends, Request

from sfumato.container import Container
from sfumato.errors import DataException, PayloadTooLarge, Unauthorized, ValidationFailed
from sfumato.store.tables import ApiKey


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def current_key(request: Request, container: ContainerDep) -> ApiKey:
    """The caller's unrevoked key from `Authorization: Bearer <key>`, else 401."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized()
    key = container.keys.authenticate(secret.strip())
    if key is None:
        raise Unauthorized()
    return key


KeyDep = Annotated[ApiKey, Depends(current_key)]


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes: by its
    Content-Length when declared, else while streaming, so it is never read whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, container: ContainerDep) -> Any:
    raw = await read_limited_body(request, container.settings.max_body_bytes)
    if not raw.strip():
        raise ValidationFailed("the request body is empty: a JSON object is expected", "$")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationFailed(f"the request body is not valid JSON: {error}", "$") from None


JsonBody = Annotated[Any, Depends(json_body)]


def checked_uuid(value: str) -> str:
    """Ids are UUIDs (Postgres' uuid type in Leonardo); anything else is a data error."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise DataException(f'invalid input syntax for type uuid: "{value}"') from None
