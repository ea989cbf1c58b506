"""Every error leaves as Leonardo's body `{"error", "path", "code"}`; handlers live here.

An exception that is not a `SfumatoError` is a bug: `api.middleware.CatchServerErrors` logs
it with its stack and the client gets Leonardo's generic 500 body, never a trace or a path.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from sfumato.api.responses import LeonardoJSON
from sfumato.errors import ClientError, ServiceUnavailable, SfumatoError
from sfumato.wire.openai_images import http_error_body
from sfumato.wire.types import field_path

log = logging.getLogger(__name__)

# Retry-After for a busy database: its locks are held for milliseconds, so a short wait suffices.
DATABASE_BUSY_RETRY_AFTER_S = 1


def error_response(error: SfumatoError, headers: dict[str, str] | None = None) -> LeonardoJSON:
    body = {"error": error.message, "path": error.path, "code": error.code}
    return LeonardoJSON(body, status_code=error.status, headers=headers)


def _http_error(status: int, message: str, code: str) -> LeonardoJSON:
    return LeonardoJSON({"error": message, "path": "$", "code": code}, status_code=status)


def _openai_path(path: str) -> bool:
    """Paths of the OpenAI door (`/v1/...`), whose clients read OpenAI's error body."""
    return path == "/v1" or path.startswith("/v1/")


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SfumatoError)
    async def _sfumato(_request: Request, error: SfumatoError) -> LeonardoJSON:
        return error_response(error, headers=error.headers or None)

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def _database_busy(request: Request, error: Exception) -> LeonardoJSON:
        # Busy past `database_busy_timeout_s` (SQLite's write lock, a row lock, the pool) or the
        # database unreachable: an operating condition, not a bug, so a warning without a traceback.
        cause = getattr(error, "orig", None) or error
        log.warning("database busy or unavailable on %s %s: %s", request.method, request.url.path, cause)
        busy = ServiceUnavailable("the database is busy; retry shortly", DATABASE_BUSY_RETRY_AFTER_S)
        return error_response(busy, headers=busy.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if _openai_path(request.url.path) and error.status_code in (404, 405):  # the OpenAI door's own shape
            message = f"Invalid URL ({request.method} {request.url.path})"
            return JSONResponse(http_error_body(error.status_code, message), status_code=error.status_code)
        if error.status_code == 404:
            return _http_error(404, "Endpoint not found", "not-found")
        if error.status_code == 405:
            allowed = request.app.state.allowed_methods.at(request.url.path)
            response = _http_error(405, f"Allowed methods: {allowed}", "method-not-allowed")
            if allowed:
                response.headers["Allow"] = allowed
            return response
        return _http_error(error.status_code, str(error.detail), "unexpected")

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> LeonardoJSON:
        first = error.errors()[0]
        location = tuple(first.get("loc", ()))
        name = str(location[-1]) if location else "request"
        message = f"invalid value for {name}: {first.get('msg', 'invalid')}"
        return error_response(ClientError(message, field_path("$", location[1:])))
