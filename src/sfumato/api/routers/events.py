"""`GET /generations/{id}/events`: a generation's progress as Server-Sent Events (beyond Leonardo,
additive: Leonardo's own routes and shapes are unchanged). Owner-only; resumable with Last-Event-ID."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.concurrency import run_in_threadpool

from sfumato.api.deps import ContainerDep, KeyDep, checked_uuid
from sfumato.api.routers.generations import url_for_files
from sfumato.domain.events import EventId
from sfumato.errors import NotFound

router = APIRouter(tags=["generations"])

# A keep-alive comment at most this often while nothing happens (proxies close silent streams).
KEEPALIVE_S = 15.0
# The client waits this long before reconnecting after a drop (the SSE `retry:` field).
RETRY_MS = 1000


@router.get("/generations/{id}/events")
async def generation_events(id: str, request: Request, key: KeyDep, container: ContainerDep) -> Response:
    generation_id = checked_uuid(id)
    url_for = url_for_files(request, container)
    events = container.generation_events
    last = EventId.parse(request.headers.get("last-event-id"))
    progress = await run_in_threadpool(events.progress, key.user_id, generation_id, url_for)
    if progress is None:
        raise NotFound("generation not found", "$.id")
    if events.nothing_after(progress, last):
        return Response(status_code=204)  # per the SSE spec: the client stops reconnecting

    async def body() -> AsyncIterator[bytes]:
        retry: int | None = RETRY_MS  # said once, with the first event
        quiet_since = time.monotonic()
        async for event in events.stream(key.user_id, generation_id, url_for, last):
            if event is None:
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield KEEPALIVE_COMMENT
                continue
            quiet_since = time.monotonic()
            yield format_sse_event(data_str=json.dumps(event.data), event=event.name, id=str(event.id), retry=retry)
            retry = None

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
