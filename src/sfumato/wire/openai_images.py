"""The OpenAI Images API's wire: its request rules and messages, its answer and error bodies.

A request is read as OpenAI reads it (an unknown argument is refused by name, `n` is 1..10, `size`
is one of its sizes or any `WIDTHxHEIGHT`), then said in Sfumato's terms (`ImagesCall`); whether the
model takes that size is the generation rules' to say. Every error on the `/v1` paths leaves as
OpenAI's `{"error": {"message", "type", "param", "code"}}` (`openai_error_body`), so the official
client raises its own exception classes with the body it expects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sfumato.errors import GENERATION_ARGS_PATH, GatewayTimeout, NotFound, SfumatoError, ValidationFailed

# OpenAI's named sizes; any other `WIDTHxHEIGHT` is also taken, if the model's rules allow it.
NAMED_SIZES = ("256x256", "512x512", "1024x1024", "1792x1024", "1024x1792", "1536x1024", "1024x1536")
_SIZE = re.compile(r"^([1-9][0-9]{0,4})x([1-9][0-9]{0,4})$")
QUALITIES = ("standard", "hd", "low", "medium", "high", "auto")
RESPONSE_FORMATS = ("url", "b64_json")
# `style` as a Leonardo preset; no style is the prompt untouched (`NONE`), as OpenAI draws it.
STYLE_PRESETS = {"vivid": "VIBRANT", "natural": "NEUTRAL"}
BACKGROUNDS = ("transparent", "opaque", "auto")
N_MAX = 10
# Arguments read but without effect here (who asks, moderation, fidelity, compression of a PNG).
_IGNORED = ("user", "safety_identifier", "moderation", "input_fidelity", "output_compression", "complexity")
GENERATION_FIELDS = frozenset(
    ("model", "prompt", "n", "size", "quality", "response_format", "style", "background", "output_format", "stream",
     "partial_images", *_IGNORED)
)  # fmt: skip
EDIT_FIELDS = GENERATION_FIELDS | {"image", "image[]", "mask"}


class OpenAIRefusal(SfumatoError):
    """A refusal in OpenAI's words: its `param` and `code` as OpenAI sends them."""

    status = 400

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.openai_param = param
        self.openai_code = code


class ModelNotFound(NotFound):
    openai_code = "model_not_found"
    openai_param = "model"

    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist or you do not have access to it.")


class StillRendering(GatewayTimeout):
    """The wait ran out; the generation is not lost and still completes (the client must not retry it)."""

    openai_code = "generation_timeout"

    def __init__(self, generation_id: str, wait_s: float) -> None:
        super().__init__(
            f"The generation {generation_id} did not finish within {wait_s:g} s. It is still running and will "
            f"complete: read it at GET /api/rest/v1/generations/{generation_id} (it shows in the user's gallery, "
            "GET /api/rest/v1/generations/user/{userId}) instead of sending this request again."
        )
        self.generation_id = generation_id

    @property
    def headers(self) -> dict[str, str]:
        return {"x-should-retry": "false"}


@dataclass(frozen=True)
class ImagesCall:
    """A generation or edit request in Sfumato's terms. `size` None: `auto` (the model's or the image's)."""

    prompt: str
    model: str | None = None
    n: int = 1
    size: tuple[int, int] | None = None
    steps_floor: bool = False  # quality `low`: the fewest steps the rules allow
    alchemy: bool = False  # quality `hd` / `high`
    response_format: str = "url"
    preset_style: str = "NONE"
    transparent: bool = False


def _invalid_value(param: str, value: object, allowed: Iterable[str]) -> OpenAIRefusal:
    shown = ", ".join(f"'{choice}'" for choice in allowed)
    return OpenAIRefusal(f"Invalid value: '{value}'. Supported values are: {shown}.", param, "invalid_value")


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise OpenAIRefusal(
            f"Invalid type for '{name}': expected a string, but got {_json_type(value)} instead.", name, "invalid_type"
        )
    return value


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "a string"


def _n(value: object) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():  # a multipart field
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise OpenAIRefusal(
            f"Invalid type for 'n': expected an integer, but got {_json_type(value)} instead.", "n", "invalid_type"
        )
    if value < 1:
        raise OpenAIRefusal(
            f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {value} instead.",
            "n",
            "integer_below_min_value",
        )
    if value > N_MAX:
        raise OpenAIRefusal(
            f"Invalid 'n': integer above maximum value. Expected a value <= {N_MAX}, but got {value} instead.",
            "n",
            "integer_above_max_value",
        )
    return value


def parse_size(value: str | None) -> tuple[int, int] | None:
    """`WIDTHxHEIGHT` as (width, height); None for `auto` or absent."""
    if value is None or value == "auto":
        return None
    match = _SIZE.match(value)
    if match is None:
        raise _invalid_value("size", value, (*NAMED_SIZES, "auto", "WIDTHxHEIGHT"))
    return int(match[1]), int(match[2])


def parse_images_request(body: Any, allowed: frozenset[str] = GENERATION_FIELDS) -> ImagesCall:
    """A generation's JSON body (or an edit's text fields), checked as OpenAI checks it."""
    if not isinstance(body, dict):
        raise OpenAIRefusal("The request body must be a JSON object.", None, "invalid_type")
    for name in body:
        if name not in allowed:
            raise OpenAIRefusal(f"Unrecognized request argument supplied: {name}", name, "unknown_parameter")
    prompt = _text(body, "prompt")
    if prompt is None:
        raise OpenAIRefusal("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    if not prompt.strip():
        raise OpenAIRefusal("Invalid 'prompt': empty string. Expected a non-empty prompt.", "prompt", "empty_string")
    for name in ("user", "safety_identifier", "moderation", "input_fidelity", "complexity"):
        _text(body, name)
    quality = _text(body, "quality") or "auto"
    if quality not in QUALITIES:
        raise _invalid_value("quality", quality, QUALITIES)
    response_format = _text(body, "response_format") or "url"
    if response_format not in RESPONSE_FORMATS:
        raise _invalid_value("response_format", response_format, RESPONSE_FORMATS)
    style = _text(body, "style")
    if style is not None and style not in STYLE_PRESETS:
        raise _invalid_value("style", style, STYLE_PRESETS)
    background = _text(body, "background") or "auto"
    if background not in BACKGROUNDS:
        raise _invalid_value("background", background, BACKGROUNDS)
    output_format = _text(body, "output_format") or "png"
    if output_format != "png":
        raise OpenAIRefusal(
            f"output_format '{output_format}' is not supported by this server: its images are PNG; send 'png' or "
            "leave it out.",
            "output_format",
            "invalid_value",
        )
    if body.get("stream") not in (None, False, "false"):
        raise OpenAIRefusal("Streaming image generation is not supported by this server; send stream false or "
                            "leave it out (GET /api/rest/v1/generations/{id}/events streams progress).", "stream",
                            "unsupported_value")  # fmt: skip
    if body.get("partial_images") not in (None, 0, "0"):
        raise OpenAIRefusal("partial_images needs streaming, which this server does not offer.", "partial_images",
                            "unsupported_value")  # fmt: skip
    return ImagesCall(
        prompt=prompt,
        model=_text(body, "model"),
        n=1 if body.get("n") is None else _n(body["n"]),
        size=parse_size(_text(body, "size")),
        steps_floor=quality == "low",
        alchemy=quality in ("hd", "high"),
        response_format=response_format,
        preset_style=STYLE_PRESETS.get(style or "", "NONE"),
        transparent=background == "transparent",
    )


# A v1 field a generation rule refuses, as the OpenAI argument that chose it.
_PARAMS = {"width": "size", "height": "size", "num_images": "n", "prompt": "prompt", "modelId": "model",
           "canvasInitId": "image", "canvasMaskId": "mask", "init_image_id": "image", "presetStyle": "style",
           "num_inference_steps": "quality", "alchemy": "quality", "transparency": "background"}  # fmt: skip


def openai_param(path: str) -> str | None:
    """A refusal's path (`$.selectionSet.sdGenerationJob.args.arg1.width`) as the argument sent (`size`)."""
    prefix = f"{GENERATION_ARGS_PATH}."
    if not path.startswith(prefix):
        return None
    return _PARAMS.get(path.removeprefix(prefix).split(".")[0].split("[")[0])


def _error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    if status == 429:
        return "requests"
    return "invalid_request_error"


def openai_error_body(error: SfumatoError) -> dict[str, Any]:
    """Any Sfumato error as OpenAI's error body; the status stays the error's."""
    code = getattr(error, "openai_code", None)
    param = getattr(error, "openai_param", None) or openai_param(error.path)
    message = error.message
    if error.status == 401:
        code, message = "invalid_api_key", "Incorrect API key provided. Send one of this server's keys as "
        message += "`Authorization: Bearer <key>` (`sfumato keys create` makes one)."
    elif code is None and error.status == 429:
        code = "rate_limit_exceeded"
    elif code is None and isinstance(error, ValidationFailed):
        code = "invalid_value"
    return {"error": {"message": message, "type": _error_type(error.status), "param": param, "code": code}}


def http_error_body(status: int, message: str) -> dict[str, Any]:
    """A framework error (no route, wrong method) in OpenAI's shape."""
    return {"error": {"message": message, "type": _error_type(status), "param": None, "code": None}}


def images_response(created: int, images: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`{"created", "data": [{"url"} | {"b64_json"}]}` from (field, value) pairs."""
    return {"created": created, "data": [{field: value} for field, value in images]}


# `created` of every listed model: when the catalog has no date for a row (it has none), OpenAI's
# own listings still carry one; a fixed instant keeps the answer stable.
MODELS_CREATED = 1_700_000_000


def models_list(ids: Iterable[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": id_, "object": "model", "created": MODELS_CREATED, "owned_by": "sfumato"} for id_ in ids],
    }
