"""Only real images of the declared type are stored, re-encoded; hostile files are refused cheaply."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from sfumato.storage.image_check import ImageRefused, reencoded_image
from tests.support.images import bomb_png, decoded, image_bytes, picture

LIMIT = 1_000_000
FORMATS = [("png", "PNG"), ("jpg", "JPEG"), ("jpeg", "JPEG"), ("webp", "WEBP")]


def identical(first: Image.Image, second: Image.Image) -> bool:
    return ImageChops.difference(first.convert("RGB"), second.convert("RGB")).getbbox() is None


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    difference = ImageChops.difference(first.convert("RGB"), second.convert("RGB"))
    return sum(ImageStat.Stat(difference).mean) / 3


@pytest.mark.parametrize(("extension", "image_format"), FORMATS)
def test_an_image_comes_back_in_its_format_with_its_pixels(extension: str, image_format: str) -> None:
    uploaded = image_bytes(image_format)
    stored = decoded(reencoded_image(uploaded, extension, LIMIT))
    assert stored.format == image_format and stored.size == (40, 24)
    if image_format == "PNG":
        assert identical(stored, decoded(uploaded))  # lossless
    else:
        assert mean_difference(stored, decoded(uploaded)) < 3  # one more lossy pass, at quality 95


def test_alpha_and_grey_are_kept_where_the_format_has_them() -> None:
    assert decoded(reencoded_image(image_bytes("PNG", mode="RGBA"), "png", LIMIT)).mode == "RGBA"
    assert decoded(reencoded_image(image_bytes("PNG", mode="L"), "png", LIMIT)).mode == "L"  # a mask stays grey
    assert decoded(reencoded_image(image_bytes("PNG", mode="P"), "png", LIMIT)).mode == "RGB"
    assert decoded(reencoded_image(image_bytes("JPEG", mode="CMYK"), "jpg", LIMIT)).mode == "RGB"


def test_only_the_picture_is_stored_not_what_rides_along() -> None:
    """Text chunks, EXIF and bytes after the image's end (a polyglot file) do not survive."""
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    picture().save(buffer, format="PNG", exif=exif)
    hostile = buffer.getvalue() + b"<script>alert(1)</script>PK\x03\x04"
    stored = reencoded_image(hostile, "png", LIMIT)
    assert b"script" not in stored and b"PK\x03\x04" not in stored and b"secret" not in stored
    assert identical(decoded(stored), picture())


def test_exif_orientation_is_applied_to_the_pixels() -> None:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    picture().save(buffer, format="JPEG", exif=exif)
    assert decoded(reencoded_image(buffer.getvalue(), "jpg", LIMIT)).size == (24, 40)


@pytest.mark.parametrize(
    ("data", "extension", "named"),
    [
        (image_bytes("PNG"), "jpg", "a PNG image, but the upload was asked for as .jpg"),
        (image_bytes("JPEG"), "png", "a JPEG image, but the upload was asked for as .png"),
        (image_bytes("WEBP"), "jpeg", "a WebP image, but the upload was asked for as .jpeg"),
        (image_bytes("PNG"), "webp", "a PNG image, but the upload was asked for as .webp"),
    ],
)
def test_a_file_of_another_type_than_asked_is_refused_naming_both(data: bytes, extension: str, named: str) -> None:
    with pytest.raises(ImageRefused, match=named) as refused:
        reencoded_image(data, extension, LIMIT)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not an image", b"GIF89a" + b"\x00" * 64, image_bytes("BMP"), image_bytes("TIFF")],
    ids=["empty", "text", "gif", "bmp", "tiff"],
)
def test_anything_but_png_jpeg_or_webp_is_refused(data: bytes) -> None:
    with pytest.raises(ImageRefused, match="not a PNG, JPEG or WebP image"):
        reencoded_image(data, "png", LIMIT)


@pytest.mark.parametrize(("extension", "image_format"), FORMATS)
def test_a_file_cut_short_is_refused(extension: str, image_format: str) -> None:
    whole = image_bytes(image_format, size=(256, 256))
    with pytest.raises(ImageRefused, match=r"truncated|cut short"):
        reencoded_image(whole[: len(whole) // 2], extension, LIMIT)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    """The file holds 4 KiB of pixel data: were it decoded, it would fail as truncated. Being refused
    for its pixel count shows the count was read before any decoding (memory never allocated)."""
    bomb = bomb_png(5000, 5000)
    assert len(bomb) < 200
    with pytest.raises(ImageRefused, match="5000x5000 \\(25000000 pixels\\), more than the 1000000-pixel limit"):
        reencoded_image(bomb, "png", LIMIT)


def test_a_bomb_past_pillows_own_ceiling_is_refused_alike() -> None:
    with pytest.raises(ImageRefused, match="more pixels than the 1000000-pixel limit"):
        reencoded_image(bomb_png(100_000, 100_000), "png", LIMIT)


def test_an_image_at_the_limit_is_taken() -> None:
    assert decoded(reencoded_image(image_bytes("PNG", size=(40, 25)), "png", 1000)).size == (40, 25)
    with pytest.raises(ImageRefused, match="more than the 999-pixel limit"):
        reencoded_image(image_bytes("PNG", size=(40, 25)), "png", 999)
