"""`GET /` (the page) and `GET /static/{name}` (its script and style sheet).

The page is a client of the REST API like any other: it holds no secret and calls nothing the API
does not offer, so every response here is static apart from the Content-Security-Policy, which
depends on where uploads go (a cross-origin S3 bucket must be allowed as a `connect-src`).
"""

from __future__ import annotations

from importlib import resources
from typing import get_args
from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from sfumato import __version__
from sfumato.config import Settings
from sfumato.errors import NotFound
from sfumato.wire.enums import PresetStyle

# The only files /static/ serves: a fixed table, so no path from a request ever reaches the filesystem.
STATIC_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
AWS_S3_ORIGINS = "https://*.amazonaws.com"


def upload_origins(settings: Settings) -> list[str]:
    """Where the browser POSTs init images besides this server: the S3 endpoint's origin (or AWS's)
    when uploads go straight to a bucket; none with local storage (`/uploads` is same-origin)."""
    storage = settings.storage
    if storage.backend != "s3":
        return []
    if storage.s3_endpoint_url:
        parts = urlsplit(storage.s3_endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}"]
    return [AWS_S3_ORIGINS]


def content_security_policy(settings: Settings) -> str:
    """Scripts and styles only from here (no inline code: an injected string cannot run); images from
    anywhere on http(s) because their URLs may be a bucket's or a CDN's, `blob:` for the init image's
    preview; fetch() only to this origin plus the upload bucket; no frames, forms or plugins."""
    connect = " ".join(["'self'", *upload_origins(settings)])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data: blob:; "
        f"connect-src {connect}; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )


def build_router(settings: Settings) -> APIRouter:
    """The page's routes; `api/app.py` includes them only when `settings.web.ui` is on."""
    router = APIRouter(tags=["web"], include_in_schema=False)
    env = Environment(loader=PackageLoader("sfumato.web", "templates"), autoescape=select_autoescape(["html"]))
    page = env.get_template("index.html").render(version=__version__, presets=get_args(PresetStyle))
    headers = {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    files = resources.files("sfumato.web") / "static"
    static = {name: (files / name).read_bytes() for name in STATIC_TYPES}

    @router.get("/")
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @router.get("/static/{name}")
    def static_file(name: str) -> Response:
        if name not in static:
            raise NotFound("Endpoint not found", "$.name")
        return Response(
            static[name],
            media_type=STATIC_TYPES[name],
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
        )

    return router
