"""Image files for upload tests: real ones made with Pillow, and hostile ones made by hand."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def picture(size: tuple[int, int] = (40, 24)) -> Image.Image:
    """An RGB picture with structure (two gradients and a white block), so a round trip can be compared."""
    across = Image.linear_gradient("L").rotate(90).resize(size)
    down = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (across, down, Image.new("L", size, 128)))
    image.paste((255, 255, 255), (2, 2, size[0] // 3, size[1] // 3))
    return image


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (40, 24), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    picture(size).convert(mode).save(buffer, format=image_format)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width: int, height: int, rgba: bool = False) -> bytes:
    """A well-formed PNG of a few hundred bytes whose header claims `width` x `height` pixels (grey,
    or RGBA at 4 bytes each): decoding it would need that much memory (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 4096, 9)  # the start of the first rows; the rest never arrives
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def complete_bomb_png(width: int, height: int) -> bytes:
    """A valid RGBA PNG of zeros: every row is there, so decoding it really fills width*height*4
    bytes (zeros compress about 1000:1, so the file stays small)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 4 * width)  # filter byte, then the pixels
    rows = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", rows) + _chunk(b"IEND", b"")


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
