"""`/files/<key>`: generated images, served like Leonardo's CDN (no auth; the path holds
unguessable UUIDs)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from sfumato.api.deps import ContainerDep
from sfumato.errors import NotFound
from sfumato.storage.blobs import LocalBlobStore

router = APIRouter(tags=["files"])

# Generated images are PNG; uploaded init images keep the format they were asked for.
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}


@router.get("/files/{key:path}")
def get_file(key: str, container: ContainerDep) -> FileResponse:
    blobs = container.blobs
    if not isinstance(blobs, LocalBlobStore):  # a bucket serves its own images; no URL points here
        raise NotFound("File not found")
    try:
        path = blobs.path_for(key)
        found = path.is_file()
    except (ValueError, OSError):  # outside the store, a name too long for the filesystem, ...
        found = False
    if not found:
        raise NotFound("File not found")
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "image/png")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=31536000"})
