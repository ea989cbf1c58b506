"""`controlnets[]`, the legacy `controlNet` fields and `imagePrompts` as the SDKs send them."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.domain.guidance import ControlnetRef
from sfumato.domain.image_inputs import ImageOrigin, ImageRef
from sfumato.errors import GENERATION_ARGS_PATH, ClientError
from sfumato.wire.generation_request import parse_create_generation


def parse(**fields: Any) -> Any:
    return parse_create_generation({"prompt": "x", **fields})


def refused(**fields: Any) -> ClientError:
    with pytest.raises(ClientError) as raised:
        parse(**fields)
    return raised.value


def test_controlnets_as_the_python_sdk_sends_them() -> None:
    request = parse(
        controlnets=[
            {"initImageId": "u", "initImageType": "UPLOADED", "preprocessorId": 1.0, "weight": 1.0},
            {"initImageId": "g", "initImageType": "GENERATED", "preprocessorId": 67.0, "strengthType": "Mid",
             "influence": 0.5},
        ]
    )  # fmt: skip
    assert request.controlnets == (
        ControlnetRef(ImageRef(ImageOrigin.UPLOADED, "u", "controlnets[0].initImageId"), 1, 1.0,
                      field="controlnets[0]"),
        ControlnetRef(ImageRef(ImageOrigin.GENERATED, "g", "controlnets[1].initImageId"), 67, None, "Mid", 0.5,
                      field="controlnets[1]"),
    )  # fmt: skip
    assert request.init_image is None


def test_a_fractional_preprocessor_id_is_refused() -> None:
    error = refused(controlnets=[{"initImageId": "u", "initImageType": "UPLOADED", "preprocessorId": 1.5}])
    assert error.path == f"{GENERATION_ARGS_PATH}.controlnets[0].preprocessorId"


def test_image_prompts_name_uploads_and_skip_nulls() -> None:
    request = parse(imagePrompts=["a", None, "b"], imagePromptWeight=0.8)
    assert request.image_prompts == (
        ImageRef(ImageOrigin.UPLOADED, "a", "imagePrompts[0]"),
        ImageRef(ImageOrigin.UPLOADED, "b", "imagePrompts[2]"),
    )
    assert request.image_prompt_weight == 0.8


def test_legacy_controlnet_takes_the_init_image_as_its_control_image() -> None:
    request = parse(controlNet=True, controlNetType="POSE", init_generation_image_id="g", weighting=0.7)
    source = ImageRef(ImageOrigin.GENERATED, "g", "init_generation_image_id")
    assert request.controlnets == (ControlnetRef(source, None, 0.7, field="controlNetType", legacy_kind="pose"),)
    assert request.init_image is None  # a text-to-image render guided by it, not img2img


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"controlNetType": "CANNY"}, "controlNetType"),  # without controlNet: true
        ({"weighting": 0.5}, "weighting"),
        ({"controlNet": True, "init_image_id": "u"}, "controlNetType"),
        ({"controlNet": True, "controlNetType": "DEPTH"}, "controlNet"),  # no init image
        ({"controlNet": True, "controlNetType": "DEPTH", "init_image_id": "u", "init_strength": 0.5}, "init_strength"),
        ({"controlNet": True, "controlNetType": "DEPTH", "init_image_id": "u", "weighting": 2.5}, "weighting"),
    ],
)
def test_legacy_controlnet_rules(fields: dict[str, Any], field: str) -> None:
    assert refused(**fields).path == f"{GENERATION_ARGS_PATH}.{field}"


def test_controlnet_false_is_neutral() -> None:
    request = parse(controlNet=False, init_image_id="u")
    assert request.controlnets == () and request.init_image is not None
