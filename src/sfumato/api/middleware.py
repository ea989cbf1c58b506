"""Two ASGI layers around the routes: HEAD answered wherever GET is, and the last catch for bugs.

Why not Starlette's own: an `Exception` handler registered on FastAPI runs inside Starlette's
ServerErrorMiddleware, which re-raises after answering, so uvicorn logs a second traceback and
closes the keep-alive connection, and the client's next request fails too. Here a bug is logged
once and answered with Leonardo's 500 body on a connection that stays usable. Starlette answers
HEAD only for plain Routes, not FastAPI's, hence the first layer.
"""

from __future__ import annotations

import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sfumato.api.responses import LeonardoJSON

log = logging.getLogger(__name__)


class HeadAsGet:
    """Route a HEAD as the GET it mirrors and send its headers only (Content-Length included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps reading `method` from its own scope to know no body follows.
        await self.app({**scope, "method": "GET"}, receive, headers_only)


class CatchServerErrors:
    """A bug becomes one logged traceback and Leonardo's generic 500; a client that hung up
    mid-request is an INFO line, since nobody is left to answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            log.info("client disconnected during %s %s", scope["method"], scope["path"])
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                body = {"error": "Service Error", "path": "$", "code": "unexpected"}
                await LeonardoJSON(body, status_code=500)(scope, receive, send)
