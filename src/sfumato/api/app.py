"""`create_app(settings)`: the HTTP process's composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sfumato import __version__
from sfumato.api.allowed_methods import AllowedMethods
from sfumato.api.errors import register_error_handlers
from sfumato.api.middleware import CatchServerErrors, HeadAsGet
from sfumato.api.routers import (
    elements,
    events,
    files,
    generations,
    health,
    init_images,
    models,
    openai_images,
    pricing,
    prompts,
    uploads,
    users,
    v2_generations,
    variations,
)
from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.web.router import build_router as build_web_router

API_PREFIX = "/api/rest/v1"
V2_PREFIX = "/api/rest/v2"


def create_app(settings: Settings, container: Container | None = None) -> FastAPI:
    """The app; the container (store, worker, services) is built here unless given."""
    built = container or build_container(settings, with_worker=True)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        built.start()
        try:
            yield
        finally:
            built.close()

    # No trailing-slash redirects: `/generations/` is an unknown path (404, Leonardo's body), never an empty 307.
    app = FastAPI(title="Sfumato", version=__version__, lifespan=lifespan, docs_url="/docs", redirect_slashes=False)
    app.state.container = built
    register_error_handlers(app)
    app.add_middleware(CatchServerErrors)
    app.add_middleware(HeadAsGet)  # added last: outermost, so a HEAD's 500 is headers-only too
    mounted = [(generations.router, API_PREFIX), (events.router, API_PREFIX), (users.router, API_PREFIX),
               (models.router, API_PREFIX),
               (init_images.router, API_PREFIX), (variations.router, API_PREFIX), (prompts.router, API_PREFIX),
               (pricing.router, API_PREFIX), (elements.router, API_PREFIX), (v2_generations.router, V2_PREFIX),
               (health.router, ""),
               (files.router, ""), (uploads.router, "")]  # fmt: skip
    if settings.web.ui:  # the web page at / (SFUMATO_WEB_UI=false: the API alone)
        mounted.append((build_web_router(settings), ""))
    if settings.openai.enabled:  # the OpenAI Images API, its paths from /v1 (docs/openai.md)
        mounted.append((openai_images.router, ""))
    for router, prefix in mounted:
        app.include_router(router, prefix=prefix)
    app.state.allowed_methods = AllowedMethods(mounted)
    return app
