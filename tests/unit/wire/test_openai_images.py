"""OpenAI's request rules and error bodies (sfumato.wire.openai_images)."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.errors import GENERATION_ARGS_PATH, ClientError, TooManyRequests, Unauthorized
from sfumato.wire.openai_images import (
    EDIT_FIELDS,
    ImagesCall,
    ModelNotFound,
    OpenAIRefusal,
    StillRendering,
    openai_error_body,
    parse_images_request,
    parse_size,
)


def refusal(body: Any, allowed: frozenset[str] | None = None) -> OpenAIRefusal:
    with pytest.raises(OpenAIRefusal) as refused:
        parse_images_request(body) if allowed is None else parse_images_request(body, allowed)
    return refused.value


def test_a_bare_prompt_gets_openais_defaults() -> None:
    assert parse_images_request({"prompt": "a fox"}) == ImagesCall(prompt="a fox")


def test_every_argument_is_said_in_sfumatos_terms() -> None:
    call = parse_images_request(
        {"prompt": "a fox", "model": "sd-turbo", "n": 3, "size": "1792x1024", "quality": "hd",
         "response_format": "b64_json", "style": "vivid", "background": "transparent", "user": "u-1"}
    )  # fmt: skip
    assert call == ImagesCall(
        prompt="a fox", model="sd-turbo", n=3, size=(1792, 1024), alchemy=True, response_format="b64_json",
        preset_style="VIBRANT", transparent=True,
    )  # fmt: skip
    assert parse_images_request({"prompt": "a fox", "quality": "low"}).steps_floor


@pytest.mark.parametrize(
    ("size", "parsed"), [("auto", None), (None, None), ("256x256", (256, 256)), ("1024x1536", (1024, 1536)),
                         ("64x96", (64, 96))],
)  # fmt: skip
def test_sizes_are_openais_or_any_width_by_height(size: str | None, parsed: tuple[int, int] | None) -> None:
    assert parse_size(size) == parsed


def test_an_unknown_argument_is_named() -> None:
    refused = refusal({"prompt": "a fox", "colour": "red"})
    assert refused.message == "Unrecognized request argument supplied: colour"
    assert (refused.openai_param, refused.openai_code) == ("colour", "unknown_parameter")


def test_an_edit_takes_its_image_fields_and_a_generation_does_not() -> None:
    assert refusal({"prompt": "a fox", "mask": "x"}).openai_param == "mask"
    assert parse_images_request({"prompt": "a fox", "n": "2"}, EDIT_FIELDS).n == 2  # a multipart field is text


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({}, "prompt", "missing_required_parameter"),
        ({"prompt": " "}, "prompt", "empty_string"),
        ({"prompt": 5}, "prompt", "invalid_type"),
        ({"prompt": "a", "n": 0}, "n", "integer_below_min_value"),
        ({"prompt": "a", "n": 11}, "n", "integer_above_max_value"),
        ({"prompt": "a", "n": True}, "n", "invalid_type"),
        ({"prompt": "a", "size": "huge"}, "size", "invalid_value"),
        ({"prompt": "a", "quality": "ultra"}, "quality", "invalid_value"),
        ({"prompt": "a", "response_format": "jpeg"}, "response_format", "invalid_value"),
        ({"prompt": "a", "style": "loud"}, "style", "invalid_value"),
        ({"prompt": "a", "output_format": "webp"}, "output_format", "invalid_value"),
        ({"prompt": "a", "stream": True}, "stream", "unsupported_value"),
    ],
)
def test_openais_rules_refuse_with_its_param_and_code(body: dict[str, Any], param: str, code: str) -> None:
    refused = refusal(body)
    assert (refused.openai_param, refused.openai_code, refused.status) == (param, code, 400)


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert refusal(["a fox"]).status == 400


def test_error_bodies_are_openais_shape() -> None:
    assert openai_error_body(ModelNotFound("dall-e-9")) == {
        "error": {
            "message": "The model `dall-e-9` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert openai_error_body(Unauthorized())["error"]["code"] == "invalid_api_key"
    limited = openai_error_body(TooManyRequests("slow down", 5))["error"]
    assert (limited["type"], limited["code"]) == ("requests", "rate_limit_exceeded")
    timed_out = StillRendering("g-1", 300)
    assert openai_error_body(timed_out)["error"]["type"] == "server_error" and timed_out.status == 504
    assert timed_out.headers == {"x-should-retry": "false"} and "g-1" in timed_out.message


def test_a_generation_rules_refusal_names_the_openai_argument() -> None:
    error = ClientError("width must be at most 1536, got 2048", f"{GENERATION_ARGS_PATH}.width")
    assert openai_error_body(error)["error"]["param"] == "size"
