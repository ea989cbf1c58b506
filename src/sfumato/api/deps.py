"""Small dependencies every route states explicitly: the container, the caller's key,
a decoded JSON body, and UUID-checked path ids."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from sfumato.container import Container
from sfumato.domain.views import Principal
from sfumato.errors import (
    DataException,
    PayloadTooLarge,
    RequestTimeout,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from sfumato.wire.json_body import decode_json_body


async def get_container(request: Request) -> Container:
    """`async`: FastAPI runs a plain `def` dependency on its thread pool, a hop per request for nothing."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def current_key(request: Request, container: ContainerDep) -> Principal:
    """The caller's unrevoked key from `Authorization: Bearer <key>`, else 401. A key verified in
    the last seconds answers on the event loop; only a check that needs the database takes a thread."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized()
    key = container.keys.recently_verified(secret.strip())
    if key is None:
        key = await run_in_threadpool(container.keys.authenticate, secret.strip())
    if key is None:
        raise Unauthorized()
    return key


KeyDep = Annotated[Principal, Depends(current_key)]

# `Idempotency-Key` on a create route: a retry with the same key and body gets the first answer
# (service/idempotency.py).
IdempotencyKeyDep = Annotated[str | None, Header(alias="Idempotency-Key")]


async def _chunks_with_idle_timeout(request: Request, idle_s: float) -> AsyncIterator[bytes]:
    """The body's chunks; 408 when the client sends nothing for `idle_s` (a stalled body would
    otherwise hold the connection and a worker thread forever)."""
    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), idle_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(f"the request body stopped arriving (nothing for {idle_s:g} s)") from None
        yield chunk


async def read_limited_body(request: Request, limit: int, idle_s: float) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit` bytes: by its
    Content-Length when declared, else while streaming, so it is never read whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in _chunks_with_idle_timeout(request, idle_s):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_json_content_type(request: Request) -> None:
    """JSON routes take `application/json` (any parameters) or `+json` types, and a body sent
    with no Content-Type at all, as hand-written clients often do; anything else is a 415."""
    declared = request.headers.get("content-type", "").strip()
    if not declared:
        return
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        shown = declared if len(declared) <= 100 else f"{declared[:100]}..."
        raise UnsupportedMediaType(f"Content-Type must be application/json, got {shown!r}")


async def json_body(request: Request, container: ContainerDep) -> Any:
    _check_json_content_type(request)
    settings = container.settings
    raw = await read_limited_body(request, settings.server.max_body_bytes, settings.server.body_read_timeout_s)
    if not raw.strip():
        raise ValidationFailed("the request body is empty: a JSON object is expected", "$")
    return decode_json_body(raw)


JsonBody = Annotated[Any, Depends(json_body)]


def checked_uuid(value: str) -> str:
    """Ids are UUIDs (Postgres' uuid type in Leonardo); anything else is a data error."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise DataException(f'invalid input syntax for type uuid: "{value}"') from None


async def optional_json_body(request: Request, container: ContainerDep) -> Any:
    """A JSON body where the route takes none or an empty one (the SDK sends none): None when absent."""
    _check_json_content_type(request)
    settings = container.settings
    raw = await read_limited_body(request, settings.server.max_body_bytes, settings.server.body_read_timeout_s)
    return decode_json_body(raw) if raw.strip() else None


OptionalJsonBody = Annotated[Any, Depends(optional_json_body)]
