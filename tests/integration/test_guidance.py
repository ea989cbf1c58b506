"""Image guidance through the official Python SDK on the built-in model and its built-in tiny ControlNet.

An uploaded picture as an Edge (canny, preprocessorId 1) ControlNet changes the pixels, and at
weight 0 gives exactly the picture without it; an uploaded and a generated image guide at once; the
legacy `controlNet` + `controlNetType` draws exactly as the `controlnets[]` entry it maps onto. An id
the model cannot take, and another user's image, are refused naming the field. (Image prompts: the
SDK test is tests/integration/test_tiling_and_references.py.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from leonardo_ai_sdk import LeonardoAiSDK

from tests.conftest import Server, tiny_request, to_wire
from tests.integration.test_image_to_image import generate, pixels, uploaded_init_image
from tests.support.images import picture

pytestmark = pytest.mark.both_modes

SIZE = 64


@pytest.fixture(scope="module")
def alice_sdk(server: Server, alice: dict[str, Any]) -> LeonardoAiSDK:
    return server.sdk(alice["apiKey"])


@pytest.fixture(scope="module")
def upload_id(alice_sdk: LeonardoAiSDK) -> str:
    return uploaded_init_image(alice_sdk, picture((SIZE, SIZE)))


@pytest.fixture(scope="module")
def base(server: Server, alice: dict[str, Any]) -> dict[str, Any]:
    return generate(server, alice)


def canny(image_id: str, image_type: str = "UPLOADED", **fields: Any) -> dict[str, Any]:
    return {"init_image_id": image_id, "init_image_type": image_type, "preprocessor_id": 1, **fields}


def test_a_controlnet_guides_and_weight_zero_is_the_base(
    server: Server, alice: dict[str, Any], upload_id: str, base: dict[str, Any]
) -> None:
    guided = pixels(generate(server, alice, controlnets=[canny(upload_id, weight=1.0)]))
    assert np.abs(guided - pixels(base)).mean() > 1
    off = pixels(generate(server, alice, controlnets=[canny(upload_id, weight=0.0)]))
    assert np.array_equal(off, pixels(base))


def test_an_uploaded_and_a_generated_image_guide_at_once(
    server: Server, alice: dict[str, Any], upload_id: str, base: dict[str, Any]
) -> None:
    generated_id = base["generated_images"][0]["id"]
    depth = {"init_image_id": generated_id, "init_image_type": "GENERATED", "preprocessor_id": 3}
    both = generate(server, alice, controlnets=[canny(upload_id, strength_type="Mid"), depth])
    one = generate(server, alice, controlnets=[canny(upload_id, strength_type="Mid")])
    assert np.abs(pixels(both) - pixels(one)).mean() > 0.5


def test_the_legacy_controlnet_is_the_controlnets_entry_it_maps_onto(
    server: Server, alice: dict[str, Any], base: dict[str, Any]
) -> None:
    generated_id = base["generated_images"][0]["id"]
    legacy = generate(server, alice, control_net=True, control_net_type="CANNY", init_generation_image_id=generated_id)
    mapped = generate(server, alice, controlnets=[canny(generated_id, "GENERATED", strength_type="Mid")])
    assert np.array_equal(pixels(legacy), pixels(mapped))  # text-to-image guided by the init image
    assert np.abs(pixels(legacy) - pixels(base)).mean() > 1


def test_refusals_name_the_field(server: Server, alice: dict[str, Any], bob: dict[str, Any], upload_id: str) -> None:
    body = to_wire(tiny_request(width=SIZE, height=SIZE))  # as the SDK sends it: preprocessorId a float
    body["controlnets"] = [{"initImageId": upload_id, "initImageType": "UPLOADED", "preprocessorId": 19.0}]
    with server.http(alice["apiKey"]) as client:
        wrong_id = client.post("/generations", json=body)
    assert wrong_id.status_code == 400, wrong_id.text
    assert wrong_id.json()["path"].endswith(".controlnets[0].preprocessorId")
    assert "preprocessorId 19" in wrong_id.json()["error"] and "Sfumato Tiny" in wrong_id.json()["error"]
    body["controlnets"][0]["preprocessorId"] = 1.0
    with server.http(bob["apiKey"]) as client:
        not_his = client.post("/generations", json=body)
    assert not_his.status_code == 400 and not_his.json()["path"].endswith(".controlnets[0].initImageId"), not_his.text
