"""`POST /init-image` and `POST /canvas-init-image` bodies: Leonardo's names, strict types, and
Leonardo's `invalid file extension` for anything but png, jpg, jpeg or webp."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sfumato.domain.init_images import EXTENSIONS, checked_extension
from sfumato.errors import ClientError
from sfumato.wire.types import Text, translate

# Hasura names a body's fields under its wrapped mutation (as `GENERATION_ARGS_PATH` does).
UPLOAD_ARGS_PATH = "$.selectionSet.uploadInitImage.args.arg1"
CANVAS_ARGS_PATH = "$.selectionSet.uploadCanvasInitImage.args.arg1"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class UploadInitImageBody(_Strict):
    extension: Text


class UploadCanvasInitImageBody(_Strict):
    initExtension: Text
    maskExtension: Text


def _validated(model: type[_Strict], payload: Any, base_path: str) -> Any:
    if not isinstance(payload, dict):
        raise ClientError("the request body must be a JSON object", "$")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise translate(error, base_path) from None


def _extension(value: str, path: str) -> str:
    extension = checked_extension(value)
    if extension is None:
        shown = value if len(value) <= 40 else f"{value[:40]}..."
        raise ClientError(f"invalid file extension {shown!r}: use one of {', '.join(EXTENSIONS)}", path)
    return extension


def parse_upload_init_image(payload: Any) -> str:
    """The extension asked for, lower case."""
    body: UploadInitImageBody = _validated(UploadInitImageBody, payload, UPLOAD_ARGS_PATH)
    return _extension(body.extension, f"{UPLOAD_ARGS_PATH}.extension")


def parse_upload_canvas_init_image(payload: Any) -> tuple[str, str]:
    """The init image's and the mask's extensions, lower case."""
    body: UploadCanvasInitImageBody = _validated(UploadCanvasInitImageBody, payload, CANVAS_ARGS_PATH)
    return (
        _extension(body.initExtension, f"{CANVAS_ARGS_PATH}.initExtension"),
        _extension(body.maskExtension, f"{CANVAS_ARGS_PATH}.maskExtension"),
    )
