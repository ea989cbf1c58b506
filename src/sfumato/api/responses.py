"""JSON as Leonardo sends it: `application/json; charset=utf-8`, always HTTP 200 on success."""

from __future__ import annotations

from fastapi.responses import JSONResponse


class LeonardoJSON(JSONResponse):
    media_type = "application/json; charset=utf-8"
