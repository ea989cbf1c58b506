"""Scalar types with Hasura's strictness, and the translation of pydantic's errors into
Leonardo's messages.

Hasura rejects `"photoReal": "true"` (no coercion), so models are strict. One leniency:
the official Python SDK sends `7.0` where an integer is meant, so an integral float is
accepted as an Int. Numbers too large for any field (`json_body.OutOfRangeNumber`) and text
that no database can store (a NUL, a lone UTF-16 surrogate) are refused here, naming the field.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Strict, ValidationError
from pydantic_core import PydanticCustomError

from sfumato.errors import BadRequest, ClientError, ValidationFailed
from sfumato.wire.enums import ENUM_TYPE_NAMES
from sfumato.wire.json_body import OutOfRangeNumber

# A 64-bit signed integer: the widest column any Leonardo integer lands in (PostgreSQL bigint).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Our own error types: `translate` words them as "<field>: <message>".
_OUT_OF_RANGE, _BAD_TEXT = "number_out_of_range", "text_unstorable"


def _refuse_out_of_range(value: Any) -> Any:
    if isinstance(value, OutOfRangeNumber):
        raise PydanticCustomError(_OUT_OF_RANGE, "the number {number} is out of range", {"number": repr(value)})
    return value


def _integral_float_to_int(value: Any) -> Any:
    value = _refuse_out_of_range(value)
    if isinstance(value, float) and not isinstance(value, bool):
        if value.is_integer():
            value = int(value)
        else:
            raise PydanticCustomError("int_type", "not an integer")
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        raise PydanticCustomError(_OUT_OF_RANGE, "the number {number} is out of range", {"number": str(value)})
    return value


def _storable_text(value: str) -> str:
    """Refuse what PostgreSQL text cannot hold (NUL) and what is not Unicode text at all (a lone
    surrogate, which JSON's `\\ud800` escape can produce and no UTF-8 encoder accepts)."""
    if "\x00" in value:
        raise PydanticCustomError(_BAD_TEXT, "NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(_BAD_TEXT, "a lone UTF-16 surrogate (\\ud800-\\udfff) is not valid text") from None
    return value


Int = Annotated[int, BeforeValidator(_integral_float_to_int)]
# A strict float takes JSON integers too, but never booleans or strings.
Number = Annotated[float, Strict(), BeforeValidator(_refuse_out_of_range)]
Text = Annotated[str, Strict(), AfterValidator(_storable_text)]

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
    if isinstance(value, int | float | OutOfRangeNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _shown(name: str, limit: int = 100) -> str:
    """A client-chosen name as it goes into a message: bounded, so a huge key is not echoed whole."""
    return name if len(name) <= limit else f"{name[:limit]}..."


def _shown_json(value: Any, limit: int = 100) -> str:
    """A client's value echoed in a message: JSON (an out-of-range number as its literal), bounded."""
    text = json.dumps(value, default=repr)
    return text if len(text) <= limit else f"{text[:limit]}..."


def field_path(base: str, loc: tuple[int | str, ...]) -> str:
    path = base
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{_shown(str(part))}"
    return path


def translate(error: ValidationError, base_path: str) -> ValidationFailed | BadRequest:
    """The first pydantic error, said the way Leonardo (Hasura) says it."""
    errors = error.errors()
    # Hasura rejects unknown variables before it looks at any value.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc: tuple[int | str, ...] = tuple(first["loc"])
    kind = first["type"]
    name = _shown(str(loc[-1])) if loc else "body"
    value = first.get("input")
    if kind == "extra_forbidden":
        return BadRequest(f"Unexpected variable {name}", "$")
    path = field_path(base_path, loc)
    if kind in (_OUT_OF_RANGE, _BAD_TEXT):
        return ValidationFailed(f"{name}: {first['msg']}", path)
    if kind == "string_unicode":  # a key (pydantic checks keys before any value) that is not text
        return ValidationFailed("a key of the request body is not valid text (a lone UTF-16 surrogate)", path)
    if kind == "missing" or value is None:
        return ValidationFailed(f'expecting a value for non-nullable variable: "{name}"', path)
    if kind == "literal_error":
        values, type_name = _enum_for(str(first.get("ctx", {}).get("expected", "")))
        return ValidationFailed(
            f"expected one of the values {list(values)} for type '{type_name}', but found {_shown_json(value)}",
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


class StrictBody(BaseModel):
    """A request body in Leonardo's exact names: an unknown key is refused, no type is coerced."""

    model_config = ConfigDict(strict=True, extra="forbid")


Body = TypeVar("Body", bound=StrictBody)


def validated_body(model: type[Body], payload: Any, base_path: str) -> Body:
    """A decoded JSON body as `model`; anything else is a Leonardo-shaped 400 naming the field."""
    if not isinstance(payload, dict):
        raise ClientError("the request body must be a JSON object", "$")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise translate(error, base_path) from None
