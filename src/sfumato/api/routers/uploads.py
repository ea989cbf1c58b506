"""`POST /uploads`: the upload URL that `POST /init-image` hands out, answering like S3's presigned
POST (204, empty body). No auth header, as for S3: the signed form fields are the credential."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from sfumato.api.deps import ContainerDep, read_limited_body
from sfumato.api.multipart_form import form_boundary, parse_upload_form

router = APIRouter(tags=["uploads"])

# Room for the form around the file: its few fields, the parts' headers and boundaries (under 2 KiB).
FORM_OVERHEAD_BYTES = 64 * 1024


@router.post("/uploads", status_code=204)
async def upload(request: Request, container: ContainerDep) -> Response:
    boundary = form_boundary(request.headers.get("content-type", ""))
    settings = container.settings
    body = await read_limited_body(
        request, settings.uploads.max_bytes + FORM_OVERHEAD_BYTES, settings.server.body_read_timeout_s
    )
    form = parse_upload_form(body, boundary)
    grant = container.uploads.grant(form.fields)
    # Decoding and re-encoding an image is CPU work: off the event loop.
    await run_in_threadpool(container.init_images.accept_upload, grant, form.file)
    return Response(status_code=204)
