"""The OpenAI Images API (`/v1/images/generations`, `/v1/images/edits`, `/v1/models`), authenticated
with the same keys. Every error on these routes leaves in OpenAI's shape: `OpenAIRoute` turns what
a handler or a dependency raises into it, in this one place (docs/openai.md)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from sfumato.api.deps import ContainerDep, IdempotencyKeyDep, JsonBody, KeyDep, read_limited_body
from sfumato.api.routers.generations import url_for_files
from sfumato.container import Container
from sfumato.domain.views import Principal
from sfumato.errors import ClientError, ServiceUnavailable, SfumatoError
from sfumato.service.openai_images import EditImages
from sfumato.wire.openai_images import (
    EDIT_FIELDS,
    ImagesCall,
    ModelNotFound,
    OpenAIRefusal,
    http_error_body,
    images_response,
    models_list,
    openai_error_body,
    parse_images_request,
)

log = logging.getLogger(__name__)
# An edit's form: its images and a few text fields.
MAX_EDIT_FIELDS = 32


def openai_error(error: SfumatoError) -> JSONResponse:
    return JSONResponse(openai_error_body(error), status_code=error.status, headers=error.headers or None)


class OpenAIRoute(APIRoute):
    """A route whose errors (its dependencies' too: a bad key, a bad body) are OpenAI's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answered(request: Request) -> Response:
            try:
                return await handler(request)
            except SfumatoError as error:
                return openai_error(error)
            except RequestValidationError as error:
                first = error.errors()[0]
                return JSONResponse(http_error_body(400, f"Invalid request: {first.get('msg', 'invalid')}"), 400)
            except (OperationalError, PoolTimeout) as error:
                log.warning("database busy or unavailable on %s: %s", request.url.path, getattr(error, "orig", error))
                return openai_error(ServiceUnavailable("The database is busy; retry shortly.", 1))

        return answered


router = APIRouter(tags=["openai"], route_class=OpenAIRoute)


async def _created_and_waited(
    request: Request,
    key: Principal,
    container: Container,
    call: ImagesCall,
    idempotency: tuple[str | None, str, Any],
    edit: EditImages | None = None,
) -> JSONResponse:
    """Create once (an Idempotency-Key's retry reads the same generation id), then wait for it."""
    service = container.openai_images
    idempotency_key, route, fingerprinted = idempotency

    def create() -> dict[str, Any]:
        return {"generationId": service.create(key, call, edit).generation_id}

    answer = await run_in_threadpool(
        container.idempotency.run, key.key_id, idempotency_key, route, fingerprinted, create
    )
    view = await service.finished(key.user_id, str(answer["generationId"]))
    outputs = await run_in_threadpool(service.outputs, view, call.response_format, url_for_files(request, container))
    return JSONResponse(images_response(int(view.created_at.replace(tzinfo=UTC).timestamp()), outputs))


@router.post("/v1/images/generations")
async def create_image(
    request: Request, key: KeyDep, payload: JsonBody, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> JSONResponse:
    call = parse_images_request(payload)
    return await _created_and_waited(
        request, key, container, call, (idempotency_key, "openai/images/generations", payload)
    )


async def _form(request: Request, container: Container) -> tuple[dict[str, str], dict[str, list[bytes]]]:
    """The edit's multipart form read under a size limit: text fields, and each file field's files."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise OpenAIRefusal("Invalid Content-Type header: /v1/images/edits takes multipart/form-data.", None,
                            "invalid_content_type")  # fmt: skip
    settings = container.settings
    limit = 2 * settings.uploads.max_bytes + settings.server.max_body_bytes
    body = await read_limited_body(request, limit, settings.server.body_read_timeout_s)

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(request.headers, once(), max_files=4, max_fields=MAX_EDIT_FIELDS)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise ClientError(f"The multipart form is malformed: {error.message}") from None
    fields: dict[str, str] = {}
    files: dict[str, list[bytes]] = {}
    try:
        for name, value in form.multi_items():
            if name not in EDIT_FIELDS:
                raise OpenAIRefusal(f"Unrecognized request argument supplied: {name}", name, "unknown_parameter")
            if isinstance(value, UploadFile):
                files.setdefault("image" if name == "image[]" else name, []).append(await value.read())
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, files


@router.post("/v1/images/edits")
async def edit_image(
    request: Request, key: KeyDep, container: ContainerDep, idempotency_key: IdempotencyKeyDep = None
) -> JSONResponse:
    fields, files = await _form(request, container)
    call = parse_images_request(fields, EDIT_FIELDS)
    images, masks = files.get("image", []), files.get("mask", [])
    if not images:
        raise OpenAIRefusal("Missing required parameter: 'image'.", "image", "missing_required_parameter")
    if len(images) > 1:
        raise OpenAIRefusal("This server's models edit one image at a time: send one 'image'.", "image",
                            "unsupported_value")  # fmt: skip
    if len(masks) > 1:
        raise OpenAIRefusal("Send at most one 'mask'.", "mask", "invalid_value")
    edit = EditImages(images[0], masks[0] if masks else None)
    digests = {name: [hashlib.sha256(data).hexdigest() for data in datas] for name, datas in files.items()}
    return await _created_and_waited(
        request, key, container, call, (idempotency_key, "openai/images/edits", {**fields, **digests}), edit
    )


@router.get("/v1/models")
async def list_models(_key: KeyDep, container: ContainerDep) -> JSONResponse:
    return JSONResponse(models_list(container.openai_images.model_names()))


@router.get("/v1/models/{model}")
async def get_model(model: str, _key: KeyDep, container: ContainerDep) -> JSONResponse:
    if model not in container.openai_images.model_names():
        raise ModelNotFound(model)
    return JSONResponse(models_list([model])["data"][0])
