"""A generation's outputs: Leonardo's file names, PNG bytes, and where they live in the blob store
(`users/{user}/generations/{id}/<name>.png`, as Leonardo's CDN lays them out; a variation's picture
under `variations/{variation id}/` there). The one home for
that layout: the runner writes it, the service deletes it, the CLI copies out of it.

Imports nothing heavy (no PIL at import time), so an API-only process may use it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sfumato.storage.blobs import BlobStore

if TYPE_CHECKING:
    from PIL import Image


class StoreFailed(Exception):
    """Writing image `index` failed (its files are already removed); `cause` is the error."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"storing image {index} failed")
        self.index = index
        self.cause = cause


def image_file_stem(model_name: str, prompt: str, index: int) -> str:
    """`Sfumato_Tiny_a_red_fox_0`: Leonardo's `<Model_Name>_<prompt_words>_<i>` file names."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", prompt).strip("_")[:60].rstrip("_") or "image"
    model = re.sub(r"[^A-Za-z0-9]+", "_", model_name).strip("_")
    return f"{model}_{words}_{index}"


def generation_prefix(user_id: str, generation_id: str) -> str:
    """The blob prefix holding every file of one generation; deleting it removes them all."""
    return f"users/{user_id}/generations/{generation_id}"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def store_images(blobs: BlobStore, prefix: str, model_name: str, prompt: str, images: list[Image.Image]) -> list[str]:
    """Write every image under `prefix` and return their keys, or leave none: on a failure the
    files written so far (temp files too) are removed and StoreFailed says which image failed."""
    keys = []
    for index, image in enumerate(images):
        key = f"{prefix}/{image_file_stem(model_name, prompt, index)}.png"
        try:
            blobs.put(key, png_bytes(image))
        except Exception as error:
            blobs.delete_prefix(prefix)
            raise StoreFailed(index, error) from error
        keys.append(key)
    return keys


def variation_prefix(prefix: str, variation_id: str) -> str:
    """Where a variation's files live: under its generation's `prefix`, so deleting it removes them."""
    return f"{prefix}/variations/{variation_id}"


def store_variation(blobs: BlobStore, prefix: str, variation_id: str, name: str, image: Image.Image) -> str:
    """Write a variation's picture (`<prefix>/variations/<id>/<name>.png`) and return its key, or
    leave nothing (temp files too) and raise StoreFailed."""
    folder = variation_prefix(prefix, variation_id)
    try:
        blobs.put(f"{folder}/{name}.png", png_bytes(image))
    except Exception as error:
        blobs.delete_prefix(folder)
        raise StoreFailed(0, error) from error
    return f"{folder}/{name}.png"


def copy_images(blobs: BlobStore, keys: list[str], out: Path) -> list[Path]:
    """Copy stored images into the folder `out` under their own file names; returns the copies."""
    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for key in keys:
        copy = out / PurePosixPath(key).name
        copy.write_bytes(blobs.get(key))
        copies.append(copy)
    return copies
