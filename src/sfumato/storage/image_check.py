"""Uploaded bytes in, a real image out: decoded by Pillow under a pixel limit, re-encoded in the
declared format, so only pictures are ever stored (never a polyglot file, metadata or trailing data).

Memory stays bounded: the pixel count is read from the header before anything is decoded, so a
small file claiming a huge canvas (a decompression bomb) is refused before it costs anything, and
only the three formats Leonardo takes are handed to a decoder.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from sfumato.errors import ClientError

# Extension -> Pillow's format name; `jpg` and `jpeg` are one format.
FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}
_DECODERS = sorted(set(FORMATS.values()))
_FORMAT_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}
_SAVE_OPTIONS: dict[str, dict[str, int]] = {"PNG": {}, "JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


class ImageRefused(ClientError):
    """The uploaded file is not a usable image of the declared type."""


def reencoded_image(data: bytes, extension: str, max_pixels: int) -> bytes:
    """`data` decoded and saved again as `extension`'s format, EXIF orientation applied (the pixels
    as a viewer shows them; the metadata itself is dropped)."""
    expected = FORMATS[extension]
    # Pillow's decoders raise many exception types on hostile bytes (OSError, SyntaxError,
    # ValueError, struct.error, ...): any of them means "not a usable image", never a server fault.
    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except Image.DecompressionBombError:  # past Pillow's own ceiling, checked while reading the header
        raise ImageRefused(f"the image has more pixels than the {max_pixels}-pixel limit") from None
    except Exception:
        raise ImageRefused(
            "the file is not a PNG, JPEG or WebP image, or is too damaged (or cut short) to read"
        ) from None
    with image:
        if image.format != expected:
            raise ImageRefused(
                f"the file is a {_FORMAT_NAMES.get(str(image.format), image.format)} image, but the upload was "
                f"asked for as .{extension}: ask POST /init-image with the file's real extension"
            )
        width, height = image.size
        if width * height > max_pixels:
            raise ImageRefused(
                f"the image is {width}x{height} ({width * height} pixels), more than the {max_pixels}-pixel limit"
            )
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except Exception as error:
            raise ImageRefused(f"the image cannot be decoded (truncated or corrupt): {error}") from None
    return _encoded(upright, expected)


def _encoded(image: Image.Image, image_format: str) -> bytes:
    """Saved in a mode the format takes: grey stays grey, alpha kept where the format has it."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if image.mode in ("1", "L"):
        mode = "L"
    elif has_alpha and image_format != "JPEG":
        mode = "RGBA"
    else:
        mode = "RGB"
    converted = image if image.mode == mode else image.convert(mode)
    buffer = io.BytesIO()
    converted.save(buffer, format=image_format, **_SAVE_OPTIONS[image_format])
    return buffer.getvalue()
