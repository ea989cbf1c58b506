"""v2's inline image references: `BASE64` (`image.data`) and `URL` (`image.url`: a `data:` URL always,
an http(s) URL only when the operator allows it) turned into bytes and their format's extension.

An http(s) URL is the server fetching what a caller names, so it is SSRF-guarded: the host must
resolve to public addresses only (`webhooks.url_safety`, checked just before the request), no
redirect is followed, the body may not pass the upload size limit, and the whole fetch has a
deadline. Residual risk: a host whose DNS answer changes between the check and the connect.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass

import httpx

from sfumato.errors import ClientError
from sfumato.webhooks.url_safety import UnsafeWebhookUrl, check_public_webhook_url

_MIME_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/webp": "webp"}


def sniffed_extension(data: bytes) -> str | None:
    """The extension of a PNG, JPEG or WebP by its first bytes (None: none of them)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _decoded(text: str, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError("the image data is not valid base64", path) from None


def _typed(data: bytes, path: str) -> tuple[bytes, str]:
    extension = sniffed_extension(data)
    if extension is None:
        raise ClientError("the image is not a PNG, JPEG or WebP file", path)
    return data, extension


@dataclass(frozen=True)
class InlineImages:
    """Decodes and fetches inline images; `fetch_urls` False refuses http(s) URLs."""

    fetch_urls: bool
    max_bytes: int
    timeout_s: float

    def base64_image(self, data: str, path: str) -> tuple[bytes, str]:
        """`type: BASE64`: the bytes of `image.data` (a bare base64 string, or a data URL)."""
        if data.startswith("data:"):
            return self.data_url(data, path)
        return _typed(_decoded(data, path), path)

    def url_image(self, url: str, path: str) -> tuple[bytes, str]:
        """`type: URL`: a data URL decoded, an http(s) URL fetched (when allowed)."""
        if url.startswith("data:"):
            return self.data_url(url, path)
        if not url.lower().startswith(("http://", "https://")):
            raise ClientError("image.url must be a data: URL or an http(s) URL", path)
        if not self.fetch_urls:
            raise ClientError(
                "this server does not fetch image URLs (an operator can allow it with SFUMATO_UPLOAD_FETCH_URLS); "
                "send the image as a data: URL or type BASE64, or upload it (POST /init-image) and send its id",
                path,
            )
        return _typed(self._fetch(url, path), path)

    def data_url(self, url: str, path: str) -> tuple[bytes, str]:
        header, comma, payload = url.partition(",")
        media = header.removeprefix("data:").split(";")
        if not comma or "base64" not in media[1:]:
            raise ClientError("a data URL image must be base64: data:image/png;base64,...", path)
        data, extension = _typed(_decoded(payload, path), path)
        declared = _MIME_EXTENSIONS.get(media[0].lower())
        if declared is not None and declared != extension:
            raise ClientError(f"the data URL says {media[0]} but holds a {extension} image", path)
        return data, extension

    def _fetch(self, url: str, path: str) -> bytes:
        try:
            check_public_webhook_url(url)
        except UnsafeWebhookUrl as error:
            raise ClientError(f"image.url cannot be fetched: {error}", path) from None
        deadline = time.monotonic() + self.timeout_s
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream("GET", url) as answer,
            ):
                if answer.status_code != 200:
                    raise ClientError(f"fetching image.url answered HTTP {answer.status_code}", path)
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > self.max_bytes:
                        raise ClientError(f"the image at image.url is over the {self.max_bytes}-byte limit", path)
                    if time.monotonic() > deadline:
                        raise ClientError(f"fetching image.url took over {self.timeout_s:g} s", path)
                return bytes(body)
        except httpx.HTTPError as error:
            raise ClientError(f"image.url could not be fetched: {type(error).__name__}", path) from None
