"""Every error leaves as Leonardo's body `{"error", "path", "code"}`; handlers live here.

An exception that is not a `SfumatoError` is a bug: it is logged with its stack and the
client gets Leonardo's generic 500 body, never a trace or a server path.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sfumato.api.responses import LeonardoJSON
from sfumato.errors import ClientError, SfumatoError, TooManyRequests
from sfumato.wire.types import field_path

log = logging.getLogger(__name__)


def error_response(error: SfumatoError, headers: dict[str, str] | None = None) -> LeonardoJSON:
    body = {"error": error.message, "path": error.path, "code": error.code}
    return LeonardoJSON(body, status_code=error.status, headers=headers)


def _http_error(status: int, message: str, code: str) -> LeonardoJSON:
    return LeonardoJSON({"error": message, "path": "$", "code": code}, status_code=status)


def register_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SfumatoError)
    async def _sfumato(_request: Request, error: SfumatoError) -> LeonardoJSON:
        if isinstance(error, TooManyRequests):
            return error_response(error, headers={"Retry-After": str(error.retry_after_s)})
        return error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> LeonardoJSON:
        if error.status_code == 404:
            return _http_error(404, "Endpoint not found", "not-found")
        if error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
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

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> LeonardoJSON:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _http_error(500, "Service Error", "unexpected")
