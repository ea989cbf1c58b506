"""`POST /init-image` and `POST /canvas-init-image` bodies: Leonardo's names, strict types, and
Leonardo's `invalid file extension` for anything but png, jpg, jpeg or webp."""

from __future__ import annotations

from typing import Any

from sfumato.domain.init_images import EXTENSIONS, checked_extension
from sfumato.errors import ClientError
from sfumato.wire.types import StrictBody, Text, validated_body

# Hasura names a body's fields under its wrapped mutation (as `GENERATION_ARGS_PATH` does).
UPLOAD_ARGS_PATH = "$.selectionSet.uploadInitImage.args.arg1"
CANVAS_ARGS_PATH = "$.selectionSet.uploadCanvasInitImage.args.arg1"


class UploadInitImageBody(StrictBody):
    extension: Text


class UploadCanvasInitImageBody(StrictBody):
    initExtension: Text
    maskExtension: Text


def _extension(value: str, path: str) -> str:
    extension = checked_extension(value)
    if extension is None:
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise ClientError(f"invalid file extension {shown!r}: use one of {', '.join(EXTENSIONS)}", path)
    return extension


def parse_upload_init_image(payload: Any) -> str:
    """The extension asked for, lower case."""
    body = validated_body(UploadInitImageBody, payload, UPLOAD_ARGS_PATH)
    return _extension(body.extension, f"{UPLOAD_ARGS_PATH}.extension")


def parse_upload_canvas_init_image(payload: Any) -> tuple[str, str]:
    """The init image's and the mask's extensions, lower case."""
    body = validated_body(UploadCanvasInitImageBody, payload, CANVAS_ARGS_PATH)
    return (
        _extension(body.initExtension, f"{CANVAS_ARGS_PATH}.initExtension"),
        _extension(body.maskExtension, f"{CANVAS_ARGS_PATH}.maskExtension"),
    )
