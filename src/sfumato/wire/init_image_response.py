"""Init images as Leonardo's JSON. The upload `fields` go out as a JSON-encoded *string* (clients
`json.loads` / `JSON.parse` it); `url` of an init image is where its file is served, known from the
moment it is made (as Leonardo's bucket URL is), so it is a string even before the upload."""

from __future__ import annotations

import json
from typing import Any

from sfumato.domain.views import InitImageView
from sfumato.storage.uploads import PresignedUpload
from sfumato.wire.generation_response import UrlFor, leonardo_timestamp


def _fields(upload: PresignedUpload) -> str:
    return json.dumps(upload.fields, separators=(",", ":"))


def upload_init_image(upload: PresignedUpload) -> dict[str, Any]:
    """`POST /init-image`'s answer."""
    return {
        "uploadInitImage": {"id": upload.upload_id, "url": upload.url, "fields": _fields(upload), "key": upload.key}
    }


def upload_canvas_init_image(init: PresignedUpload, mask: PresignedUpload) -> dict[str, Any]:
    """`POST /canvas-init-image`'s answer: the init image's upload, then the mask's."""
    return {
        "uploadCanvasInitImage": {
            "initImageId": init.upload_id,
            "initFields": _fields(init),
            "initKey": init.key,
            "initUrl": init.url,
            "maskImageId": mask.upload_id,
            "maskFields": _fields(mask),
            "maskKey": mask.key,
            "maskUrl": mask.url,
        }
    }


def init_image_by_pk(image: InitImageView | None, url_for: UrlFor) -> dict[str, Any]:
    """`GET /init-image/{id}`: null for an unknown id (or someone else's)."""
    if image is None:
        return {"init_images_by_pk": None}
    body = {"createdAt": leonardo_timestamp(image.created_at), "id": image.id, "url": url_for(image.blob_key)}
    return {"init_images_by_pk": body}


def deleted_init_image(image_id: str | None) -> dict[str, Any]:
    """`DELETE /init-image/{id}`: the id when an image was deleted, else null."""
    return {"delete_init_images_by_pk": {"id": image_id} if image_id else None}
