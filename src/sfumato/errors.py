"""Errors as values: each carries its HTTP status and Leonardo's `code`.

The API turns any `SfumatoError` into Leonardo's body `{"error", "path", "code"}` in one
place (`api/errors.py`). Anything else that escapes is a bug and becomes a bare 500.
"""

from __future__ import annotations

# Hasura wraps REST bodies in a GraphQL mutation; type errors name fields under this path.
GENERATION_ARGS_PATH = "$.selectionSet.sdGenerationJob.args.arg1"


class SfumatoError(Exception):
    status: int = 500
    code: str = "unexpected"

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers this answer needs besides the body (Retry-After, Connection)."""
        return {}


class ClientError(SfumatoError):
    """Bad input or a business rule; Leonardo answers these 400 `unexpected`."""

    status = 400


class ValidationFailed(ClientError):
    """Wrong JSON type, missing required field, malformed body."""

    code = "validation-failed"


class BadRequest(ClientError):
    """Unknown body key, as Hasura's `Unexpected variable`."""

    code = "bad-request"


class DataException(ClientError):
    """A malformed value in the path, as Postgres' `invalid input syntax`."""

    code = "data-exception"


class NotSupported(ClientError):
    """A known Leonardo field whose technique Sfumato does not implement yet."""


class ModelUnavailable(ClientError):
    """The requested model resolves, but its weights are not installed here."""


class Unauthorized(SfumatoError):
    status = 401
    code = "access-denied"

    def __init__(self) -> None:
        # One body whatever the cause (missing, unknown, revoked): nothing to probe.
        super().__init__("Authentication hook unauthorized this request")


class Forbidden(SfumatoError):
    """A credential that does not grant this (an upload form tampered with, expired or used), as S3's 403."""

    status = 403
    code = "access-denied"


class NotFound(SfumatoError):
    status = 404
    code = "not-found"


class Conflict(SfumatoError):
    """The same Idempotency-Key's first request is still running."""

    status = 409
    code = "conflict"


class IdempotencyKeyReused(SfumatoError):
    """An Idempotency-Key sent again with another body (the IETF draft's and Stripe's 422)."""

    status = 422
    code = "validation-failed"


class PayloadTooLarge(SfumatoError):
    status = 413
    code = "bad-request"


class RequestTimeout(SfumatoError):
    """The body stopped arriving: the connection is closed after this answer, since the rest of
    a half-sent body could not be told apart from the next request."""

    status = 408
    code = "bad-request"

    @property
    def headers(self) -> dict[str, str]:
        return {"Connection": "close"}


class UnsupportedMediaType(SfumatoError):
    status = 415
    code = "bad-request"


class RetryLater(SfumatoError):
    """A refusal that says when to come back: `retry_after_s` becomes the Retry-After header,
    which the SDKs' opt-in retries honour."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, retry_after_s)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class TooManyRequests(RetryLater):
    """A per-key limit (queue cap or creation rate). Leonardo's 429 body is unconfirmed; Hasura
    passes an action's 4xx status on with code `unexpected`, so that is what we send."""

    status = 429


class ServiceUnavailable(RetryLater):
    """The database stayed busy (or unreachable) past its timeout, or a service Sfumato calls
    (the LLM) could not be reached: nothing was done, try again."""

    status = 503


class BadGateway(SfumatoError):
    """A service Sfumato calls (the LLM) answered with an error or with nothing usable."""

    status = 502


class GatewayTimeout(SfumatoError):
    """A service Sfumato calls (the LLM) did not answer within its timeout."""

    status = 504
