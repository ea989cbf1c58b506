"""JSON as Leonardo sends it: `application/json; charset=utf-8`, always HTTP 200 on success."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class LeonardoJSON(JSONResponse):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        """UTF-8 JSON; text that cannot be UTF-8 (a lone surrogate echoed from a body) goes out
        escaped as `\\udXXX` instead of failing the response."""
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode("ascii")
