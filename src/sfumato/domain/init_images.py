"""Init images: what a client may upload (Leonardo's four extensions), its two kinds and two states,
and where its file lives (`users/{user}/initImages/{id}.{ext}`, as Leonardo's bucket lays them out)."""

from __future__ import annotations

from enum import StrEnum

# Leonardo's documented list; `jpg` and `jpeg` are one format under two names.
EXTENSIONS = ("png", "jpg", "jpeg", "webp")


class InitImageKind(StrEnum):
    """An image to start from, or a canvas mask (white = repaint)."""

    INIT = "init"
    MASK = "mask"


class UploadState(StrEnum):
    """PENDING from `POST /init-image` until its one successful upload, then UPLOADED for good."""

    PENDING = "pending"
    UPLOADED = "uploaded"


def checked_extension(value: str) -> str | None:
    """The extension as stored (lower case), or None if Leonardo would refuse it. Case is forgiven
    (`Path("a.PNG").suffix[1:]` is what clients pass); a dot, a file name or image data is not."""
    lowered = value.lower()
    return lowered if lowered in EXTENSIONS else None


def init_image_key(user_id: str, image_id: str, extension: str) -> str:
    return f"users/{user_id}/initImages/{image_id}.{extension}"


def checked_image_key(form_key: str) -> str:
    """Where a file uploaded straight to the bucket lives once checked: not the form's key, which the
    presigned form may overwrite until it expires, so what a render reads is always the checked file."""
    stem, _, extension = form_key.rpartition(".")
    return f"{stem}.checked.{extension}"

