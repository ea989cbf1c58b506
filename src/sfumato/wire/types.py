"""Scalar types with Hasura's strictness, and the translation of pydantic's errors into
Leonardo's messages.

Hasura rejects `"photoReal": "true"` (no coercion), so models are strict. One leniency:
the official Python SDK sends `7.0` where an integer is meant, so an integral float is
accepted as an Int.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

from sfumato.errors import BadRequest, ValidationFailed
from sfumato.wire.enums import ENUM_TYPE_NAMES


def _integral_float_to_int(value: Any) -> Any:
    if isinstance(value, float) and not isinstance(value, bool):
        if value.is_integer():
            return int(value)
        raise PydanticCustomError("int_type", "not an integer")
    return value


Int = Annotated[int, BeforeValidator(_integral_float_to_int)]

_TYPE_NAMES = {
    "bool_type": ("a boolean", "Boolean"),
    "int_type": ("an integer", "Int"),
    "int_from_float": ("an integer", "Int"),
    "float_type": ("a number", "Float"),
    "string_type": ("a string", "String"),
    "list_type": ("a list", "List"),
    "model_type": ("an object", "Object"),
    "model_attributes_type": ("an object", "Object"),
    "dict_type": ("an object", "Object"),
}


def json_kind(value: Any) -> str:
    """How Hasura names a JSON value's kind in its messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def field_path(base: str, loc: tuple[int | str, ...]) -> str:
    path = base
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def translate(error: ValidationError, base_path: str) -> ValidationFailed | BadRequest:
    """The first pydantic error, said the way Leonardo (Hasura) says it."""
    errors = error.errors()
    # Hasura rejects unknown variables before it looks at any value.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: tuple[int | str, ...] = tuple(first["loc"])
    kind = first["type"]
    name = str(loc[-1]) if loc else "body"
    value = first.get("input")
    if kind == "extra_forbidden":
        return BadRequest(f"Unexpected variable {name}", "$")
    path = field_path(base_path, loc)
    if kind == "missing" or value is None:
        return ValidationFailed(f'expecting a value for non-nullable variable: "{name}"', path)
    if kind == "literal_error":
        values, type_name = _enum_for(str(first.get("ctx", {}).get("expected", "")))
        return ValidationFailed(
            f"expected one of the values {list(values)} for type '{type_name}', but found {json.dumps(value)}",
            path,
        )
    wanted, type_name = _TYPE_NAMES.get(kind, ("a valid value", "value"))
    return ValidationFailed(f"expected {wanted} for type '{type_name}', but found {json_kind(value)}", path)


def _enum_for(expected: str) -> tuple[tuple[str, ...], str]:
    """The Leonardo enum whose values pydantic listed in `expected`."""
    for values, type_name in ENUM_TYPE_NAMES.items():
        if all(f"'{v}'" in expected for v in values):
            return values, type_name
    return (), "enum"
