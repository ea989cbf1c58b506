"""Strict body parsing with Leonardo's (Hasura's) messages."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.domain.image_inputs import ImageOrigin, ImageRef
from sfumato.errors import BadRequest, ClientError, SfumatoError, ValidationFailed
from sfumato.wire.generation_request import parse_create_generation
from sfumato.wire.json_body import decode_json_body

ARGS = "$.selectionSet.sdGenerationJob.args.arg1"


def test_sdk_default_body_parses() -> None:
    request = parse_create_generation(
        {
            "alchemy": True,
            "height": 768,
            "width": 1024,
            "modelId": "b24e16ff-06e3-43eb-8d33-4416c2d75876",
            "num_images": 4,
            "presetStyle": "DYNAMIC",
            "prompt": "a cat",
        }
    )
    assert request.alchemy is True and request.preset_style == "DYNAMIC" and request.width == 1024


def test_integral_floats_are_ints_as_the_python_sdk_sends() -> None:
    request = parse_create_generation({"prompt": "x", "width": 512.0, "num_images": 2.0, "guidance_scale": 7})
    assert request.width == 512 and isinstance(request.width, int) and request.num_images == 2
    assert request.guidance_scale == 7.0


def test_style_uuid_maps_to_a_preset() -> None:
    request = parse_create_generation({"prompt": "x", "styleUUID": "a5632c7c-ddbb-4e2f-ba34-8456ab3ac436"})
    assert request.preset_style == "CINEMATIC"


@pytest.mark.parametrize(
    ("body", "error_type", "path", "message"),
    [
        (
            {"prompt": "x", "photoReal": "true"},
            ValidationFailed,
            f"{ARGS}.photoReal",
            "expected a boolean for type 'Boolean', but found a string",
        ),
        (
            {"prompt": "x", "width": "512"},
            ValidationFailed,
            f"{ARGS}.width",
            "expected an integer for type 'Int', but found a string",
        ),
        (
            {"prompt": "x", "width": True},
            ValidationFailed,
            f"{ARGS}.width",
            "expected an integer for type 'Int', but found a boolean",
        ),
        (
            {"prompt": "x", "guidance_scale": False},
            ValidationFailed,
            f"{ARGS}.guidance_scale",
            "expected a number for type 'Float', but found a boolean",
        ),
        ({}, ValidationFailed, f"{ARGS}.prompt", 'expecting a value for non-nullable variable: "prompt"'),
        ({"prompt": "x", "sd_Version": "v2", "width": "bad"}, BadRequest, "$", "Unexpected variable sd_Version"),
        ({"prompt": 5}, ValidationFailed, f"{ARGS}.prompt", "expected a string for type 'String', but found a number"),
        (
            {"prompt": "x", "elements": {"akUUID": "a"}},
            ValidationFailed,
            f"{ARGS}.elements",
            "expected a list for type 'List', but found an object",
        ),
    ],
)
def test_type_errors(body: dict[str, Any], error_type: type[SfumatoError], path: str, message: str) -> None:
    with pytest.raises(error_type) as raised:
        parse_create_generation(body)
    assert raised.value.path == path and raised.value.message == message


@pytest.mark.parametrize(
    ("field", "neutral"), [("tiling", None), ("photoReal", False), ("controlnets", []), ("transparency", "disabled")]
)
def test_neutral_values_are_accepted(field: str, neutral: Any) -> None:
    assert parse_create_generation({"prompt": "x", field: neutral}).prompt == "x"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"[" * 2000 + b"]" * 2000, None, "nests deeper than 32"),
        (b'{"prompt": ' + b"[" * 40 + b"]" * 40 + b"}", None, "nests deeper than 32"),
        (b'{"prompt": "x", "seed": ' + b"9" * 5000 + b"}", "seed", "out of range"),
        (b'{"prompt": "x", "width": 1' + b"0" * 400 + b"}", "width", "out of range"),
        (b'{"prompt": "x", "width": 9223372036854775808}', "width", "out of range"),
        (b'{"prompt": "x", "guidance_scale": 1e400}', "guidance_scale", "out of range"),
        (b'{"prompt": "x", "guidance_scale": -Infinity}', None, "-Infinity is not a JSON value"),
        (b'{"prompt": "x\\ud800"}', "prompt", "surrogate"),
        (b'{"prompt": "x", "negative_prompt": "\\u0000"}', "negative_prompt", "NUL"),
        (b'{"prompt": "x", "styleUUID": "\\udfff"}', "styleUUID", "surrogate"),
        (b'{"prompt": "\xff"}', None, "not valid UTF-8"),
        (b'{"prompt": "x", "transparency": 1' + b"0" * 400 + b"}", "transparency", 'but found "1000'),
        (b'{"prompt": "x", "scheduler": ["' + b"y" * 500 + b'"]}', "scheduler", '["yyy'),
    ],
)
def test_hostile_json_is_refused_naming_the_field(raw: bytes, field: str | None, words: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_create_generation(decode_json_body(raw))
    assert raised.value.path == (f"{ARGS}.{field}" if field else "$")
    assert words in raised.value.message


def test_deep_but_legal_nesting_and_big_legal_numbers_decode() -> None:
    assert decode_json_body(b'{"a": ' * 31 + b"1" + b"}" * 31) is not None
    assert decode_json_body(b"[" + b"9" * 64 + b"]") == [int("9" * 64)]


# --- images a generation starts from (sfumato.domain.image_inputs) --------------------------------


def test_init_image_ids_become_references_naming_their_field() -> None:
    uploaded = parse_create_generation({"prompt": "x", "init_image_id": "u1", "init_strength": 0.9})
    assert uploaded.init_image == ImageRef(ImageOrigin.UPLOADED, "u1", "init_image_id")
    assert (uploaded.mask_image, uploaded.init_strength) == (None, 0.9)
    generated = parse_create_generation({"prompt": "x", "init_generation_image_id": "g1"})
    assert generated.init_image == ImageRef(ImageOrigin.GENERATED, "g1", "init_generation_image_id")


@pytest.mark.parametrize(
    ("mode", "with_mask"), [("INPAINT", True), ("OUTPAINT", True), ("IMG2IMG", False), ("SKETCH2IMG", False)]
)
def test_a_canvas_request_names_its_image_and_for_repainting_its_mask(mode: str, with_mask: bool) -> None:
    body = {"prompt": "x", "canvasRequest": True, "canvasRequestType": mode, "canvasInitId": "c1"}
    if with_mask:
        body["canvasMaskId"] = "m1"
    request = parse_create_generation(body)
    assert request.init_image == ImageRef(ImageOrigin.UPLOADED, "c1", "canvasInitId")
    assert request.mask_image == (ImageRef(ImageOrigin.UPLOADED, "m1", "canvasMaskId") if with_mask else None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"init_image_id": "a", "init_generation_image_id": "b"}, "init_generation_image_id"),
        ({"canvasInitId": "c"}, "canvasInitId"),  # without canvasRequest: true
        ({"canvasRequest": False, "canvasMaskId": "m"}, "canvasMaskId"),
        ({"canvasRequest": True, "canvasInitId": "c"}, "canvasRequestType"),
        ({"canvasRequest": True, "canvasRequestType": "INPAINT"}, "canvasInitId"),
        ({"canvasRequest": True, "canvasRequestType": "INPAINT", "canvasInitId": "c"}, "canvasMaskId"),
        ({"canvasRequest": True, "canvasRequestType": "IMG2IMG", "canvasInitId": "c", "canvasMaskId": "m"},
         "canvasMaskId"),
        ({"canvasRequest": True, "canvasRequestType": "IMG2IMG", "canvasInitId": "c", "init_image_id": "i"},
         "init_image_id"),
    ],
)  # fmt: skip
def test_images_named_more_than_one_way_or_half_a_canvas_are_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ClientError) as raised:
        parse_create_generation({"prompt": "x", **body})
    assert raised.value.path == f"{ARGS}.{field}"


def test_unzoom_takes_its_amount_around_an_init_image() -> None:
    request = parse_create_generation({"prompt": "x", "init_image_id": "u1", "unzoom": True, "unzoomAmount": 0.5})
    assert request.unzoom_amount == 0.5 and request.init_image is not None
    assert parse_create_generation({"prompt": "x", "unzoom": False}).unzoom_amount is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"unzoom": True, "unzoomAmount": 0.5}, "unzoom"),  # no init image
        ({"init_image_id": "u1", "unzoom": True}, "unzoomAmount"),
        ({"init_image_id": "u1", "unzoomAmount": 0.5}, "unzoomAmount"),  # without unzoom: true
        ({"canvasRequest": True, "canvasRequestType": "IMG2IMG", "canvasInitId": "c", "unzoom": True,
          "unzoomAmount": 0.5}, "unzoom"),
    ],
)  # fmt: skip
def test_unzoom_without_its_parts_is_refused(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ClientError) as raised:
        parse_create_generation({"prompt": "x", **body})
    assert raised.value.path == f"{ARGS}.{field}"
