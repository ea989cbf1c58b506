"""v2's inline references: BASE64 and data URLs decode to a typed image; an http(s) URL is refused
unless the operator allows fetching, and a loopback or private one is refused even then."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sfumato.errors import ClientError
from sfumato.service.inline_images import InlineImages, sniffed_extension
from tests.support.images import image_bytes

PATH = "$.parameters.guidances.image_reference[0].image.url"
PNG = image_bytes("PNG")


@pytest.fixture(scope="module")
def loopback_image_url() -> Iterator[str]:
    """A server on loopback that would hand out a real PNG: what SSRF protection must not reach."""
    served: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/a.png"
    server.shutdown()
    assert served == [], "a refused URL was fetched"


def test_base64_and_data_urls_decode_to_a_typed_image() -> None:
    inline = InlineImages(fetch_urls=False, max_bytes=1 << 20, timeout_s=1)
    encoded = base64.b64encode(PNG).decode()
    assert inline.base64_image(encoded, "p") == (PNG, "png")
    assert inline.url_image(f"data:image/png;base64,{encoded}", "p") == (PNG, "png")
    assert inline.base64_image(f"data:image/png;base64,{encoded}", "p") == (PNG, "png")
    jpeg = image_bytes("JPEG")
    assert inline.base64_image(base64.b64encode(jpeg).decode(), "p") == (jpeg, "jpg")
    assert sniffed_extension(image_bytes("WEBP")) == "webp"
    for bad in ("not base64!", base64.b64encode(b"GIF89a....").decode()):
        with pytest.raises(ClientError):
            inline.base64_image(bad, "p")
    with pytest.raises(ClientError, match="base64"):
        inline.url_image("data:image/png,rawbytes", "p")
    with pytest.raises(ClientError, match="holds a png"):
        inline.url_image(f"data:image/jpeg;base64,{encoded}", "p")


def test_an_http_url_is_refused_unless_allowed_and_a_loopback_one_even_then(loopback_image_url: str) -> None:
    with pytest.raises(ClientError, match="SFUMATO_UPLOAD_FETCH_URLS") as off:
        InlineImages(fetch_urls=False, max_bytes=1 << 20, timeout_s=1).url_image(loopback_image_url, PATH)
    assert off.value.path == PATH
    allowed = InlineImages(fetch_urls=True, max_bytes=1 << 20, timeout_s=1)
    for url in (loopback_image_url, "http://10.0.0.1/a.png", "http://[::1]/a.png", "http://169.254.169.254/latest"):
        with pytest.raises(ClientError, match="non-public address") as caught:
            allowed.url_image(url, PATH)
        assert caught.value.path == PATH
    with pytest.raises(ClientError, match="data: URL or an http"):
        allowed.url_image("file:///etc/passwd", PATH)
