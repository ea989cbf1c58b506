"""Decoding a request body as JSON without letting hostile input past the wire layer.

`json.loads` alone turns some inputs into server errors: deep nesting raises RecursionError, an
integer literal over Python's 4300-digit limit raises a bare ValueError, `NaN`/`Infinity` and
`1e400` decode to non-finite floats, and a 400-digit integer decodes fine only to overflow later.
Here nesting is bounded, the non-standard constants are refused, and numbers no Leonardo field can
hold decode to `OutOfRangeNumber`, which the request models refuse *naming the field*.
"""

from __future__ import annotations

import json
import math
from typing import Any

from sfumato.errors import ValidationFailed

# Leonardo bodies nest three levels (body > controlnets > entry); 32 leaves room and bounds the work.
MAX_DEPTH = 32
# No Leonardo number needs more digits than this (seeds are 10 digits).
MAX_INT_DIGITS = 64


class OutOfRangeNumber:
    """A JSON number too large for any field: kept as its literal so the model can name the field."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __repr__(self) -> str:
        shown = self.literal if len(self.literal) <= 24 else f"{self.literal[:12]}... ({len(self.literal)} characters)"
        return shown


def _parse_int(literal: str) -> int | OutOfRangeNumber:
    digits = len(literal.lstrip("-"))
    return int(literal) if digits <= MAX_INT_DIGITS else OutOfRangeNumber(literal)


def _parse_float(literal: str) -> float | OutOfRangeNumber:
    value = float(literal)
    return value if math.isfinite(value) else OutOfRangeNumber(literal)


def _refuse_constant(name: str) -> Any:
    raise ValidationFailed(f"the request body is not valid JSON: {name} is not a JSON value", "$")


def _too_deep(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit`; iterative, so it cannot recurse itself."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def decode_json_body(raw: bytes) -> Any:
    """The decoded body, or a Leonardo-shaped 400 that says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            f"the request body is not valid UTF-8: {error.reason} at byte {error.start}", "$"
        ) from None
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationFailed(f"the request body nests deeper than {MAX_DEPTH} levels", "$") from None
    except json.JSONDecodeError as error:
        raise ValidationFailed(f"the request body is not valid JSON: {error}", "$") from None
    if _too_deep(value, MAX_DEPTH):
        raise ValidationFailed(f"the request body nests deeper than {MAX_DEPTH} levels", "$")
    return value
