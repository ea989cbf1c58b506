"""`/files/<key>`: generated images, served like Leonardo's CDN (no auth; the path holds
unguessable UUIDs)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from sfumato.api.deps import ContainerDep
from sfumato.errors import NotFound

router = APIRouter(tags=["files"])


@router.get("/files/{key:path}")
def get_file(key: str, container: ContainerDep) -> FileResponse:
    try:
        path = container.blobs.path_for(key)
        found = path.is_file()
    except (ValueError, OSError):  # outside the store, a name too long for the filesystem, ...
        found = False
    if not found:
        raise NotFound("File not found")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=31536000"})
