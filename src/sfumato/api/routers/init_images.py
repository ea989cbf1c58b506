"""`/init-image` and `/canvas-init-image`: upload forms for init images and canvas masks, read, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request

from sfumato.api.deps import ContainerDep, JsonBody, KeyDep, checked_uuid
from sfumato.api.responses import LeonardoJSON
from sfumato.api.routers.generations import url_for_files
from sfumato.wire.init_image_request import parse_upload_canvas_init_image, parse_upload_init_image
from sfumato.wire.init_image_response import (
    deleted_init_image,
    init_image_by_pk,
    upload_canvas_init_image,
    upload_init_image,
)

router = APIRouter(tags=["init images"])


def _base_url(request: Request, container: ContainerDep) -> str:
    """Where the client reaches this server: the configured public URL, else the one it used."""
    return (container.settings.server.public_url or str(request.base_url)).rstrip("/")


@router.post("/init-image")
def create_init_image(request: Request, key: KeyDep, payload: JsonBody, container: ContainerDep) -> LeonardoJSON:
    extension = parse_upload_init_image(payload)
    upload = container.init_images.create(key, extension, _base_url(request, container))
    return LeonardoJSON(upload_init_image(upload))


@router.post("/canvas-init-image")
def create_canvas_init_image(request: Request, key: KeyDep, payload: JsonBody, container: ContainerDep) -> LeonardoJSON:
    init_extension, mask_extension = parse_upload_canvas_init_image(payload)
    init, mask = container.init_images.create_canvas(key, init_extension, mask_extension, _base_url(request, container))
    return LeonardoJSON(upload_canvas_init_image(init, mask))


@router.get("/init-image/{id}")
def get_init_image(id: str, request: Request, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    image = container.init_images.get(key.user_id, checked_uuid(id))
    return LeonardoJSON(init_image_by_pk(image, url_for_files(request, container)))


@router.delete("/init-image/{id}")
def delete_init_image(id: str, key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    image_id = checked_uuid(id)
    deleted = container.init_images.delete(key.user_id, image_id)
    return LeonardoJSON(deleted_init_image(image_id if deleted else None))
