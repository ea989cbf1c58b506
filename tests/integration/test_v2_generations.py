"""A v2 client as Leonardo's guides write one (plain httpx, no Sfumato code, no SDK: none speaks
v2): `POST /api/rest/v2/generations {model, public, parameters}`, read `generate.generationId`, then
poll v1's `GET /generations/{id}` and list the user's generations, on the built-in `sfumato-tiny`.
The same seed draws the same pixels; a reference changes them, the same picture by id or inline
alike."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import Server
from tests.support.images import picture
from tests.support.polling import poll_until

pytestmark = pytest.mark.both_modes

SEED = 11
DYNAMIC = "111dc692-d470-4eec-b791-3475abac4c46"


def v2(server: Server, key: dict[str, Any]) -> httpx.Client:
    """A client on the v2 base URL, the Bearer key as the guides send it."""
    headers = {"authorization": f"Bearer {key['apiKey']}", "accept": "application/json"}
    return httpx.Client(base_url=f"{server.base_url}/api/rest/v2", headers=headers, timeout=30)


def create(server: Server, key: dict[str, Any], **parameters: Any) -> str:
    body = {"model": "sfumato-tiny", "public": False, "parameters": {"prompt": "a lighthouse", **parameters}}
    with v2(server, key) as client:
        answer = client.post("/generations", json=body)
    assert answer.status_code == 200, answer.text
    generate = answer.json()["generate"]
    assert generate["cost"]["unit"] == "CREDITS" and int(generate["cost"]["amount"]) == generate["apiCreditCost"]
    return str(generate["generationId"])


def finished(server: Server, key: dict[str, Any], generation_id: str) -> dict[str, Any]:
    """v1's GET until the job ends, as every v2 client polls."""
    with server.http(key["apiKey"]) as client:

        def done() -> dict[str, Any] | None:
            body = client.get(f"/generations/{generation_id}").json()["generations_by_pk"]
            return body if body["status"] in ("COMPLETE", "FAILED") else None

        generation = poll_until(done, 120, 0.1, f"v2 generation {generation_id} not finished")
    assert generation["status"] == "COMPLETE", generation
    return generation


def pixels(generation: dict[str, Any], index: int = 0) -> np.ndarray:
    data = httpx.get(generation["generated_images"][index]["url"], timeout=30).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded(server: Server, key: dict[str, Any], data: bytes) -> str:
    """The guides' "upload an image and print its id" recipe: v1's POST /init-image, then the form."""
    with server.http(key["apiKey"]) as client:
        form = client.post("/init-image", json={"extension": "png"}).json()["uploadInitImage"]
    sent = httpx.post(form["url"], data=json.loads(form["fields"]), files={"file": ("a.png", data, "image/png")})
    assert sent.status_code == 204, sent.text
    return str(form["id"])


def reference(image: dict[str, Any], strength: str = "HIGH") -> dict[str, Any]:
    return {"guidances": {"image_reference": [{"image": image, "strength": strength}]}}


def test_a_v2_client_runs_the_lifecycle_on_sfumato_tiny(server: Server, alice: dict[str, Any]) -> None:
    base = {"width": 64, "height": 64, "seed": SEED, "style_ids": [DYNAMIC]}
    first_id = create(server, alice, quantity=2, **base)
    first = finished(server, alice, first_id)
    assert len(first["generated_images"]) == 2 and first["seed"] == SEED
    assert (first["imageWidth"], first["imageHeight"], first["presetStyle"]) == (64, 64, "DYNAMIC")
    one, again = (finished(server, alice, create(server, alice, quantity=1, **base)) for _ in range(2))
    assert np.array_equal(pixels(one), pixels(again))  # same seed, same pixels

    init_id = uploaded(server, alice, png(picture((64, 64))))
    upload_ref = reference({"id": init_id, "type": "UPLOADED"})
    generated_ref = reference({"id": first["generated_images"][1]["id"], "type": "GENERATED"})
    by_upload = finished(server, alice, create(server, alice, quantity=1, **base, **upload_ref))
    by_generated = finished(server, alice, create(server, alice, quantity=1, **base, **generated_ref))
    assert np.abs(pixels(by_upload) - pixels(again)).mean() > 1  # the reference changed the picture
    assert np.abs(pixels(by_generated) - pixels(by_upload)).mean() > 1  # another reference, another picture

    with server.http(alice["apiKey"]) as client:
        variation_id = client.post("/variations/nobg", json={"id": first["generated_images"][0]["id"]}).json()[
            "sdNobgJob"
        ]["id"]

        def variation_done() -> bool:
            [variation] = client.get(f"/variations/{variation_id}").json()["generated_image_variation_generic"]
            return bool(variation["status"] == "COMPLETE")

        poll_until(variation_done, 60, 0.1, f"variation {variation_id} not finished")
        by_variation = finished(server, alice, create(server, alice, quantity=1, **base, **reference(
            {"id": variation_id, "type": "VARIATION"})))  # fmt: skip
        assert np.abs(pixels(by_variation) - pixels(again)).mean() > 1
        listed = client.get(f"/generations/user/{alice['userId']}", params={"limit": 50}).json()
    listed_ids = {generation["id"] for generation in listed["generations"]}
    assert {first_id, by_upload["id"], by_generated["id"], by_variation["id"]} <= listed_ids


def test_inline_references_draw_as_the_upload_and_rules_name_the_parameter(
    server: Server, alice: dict[str, Any], bob: dict[str, Any]
) -> None:
    data = png(picture((64, 64)))
    base = {"width": 64, "height": 64, "seed": SEED, "quantity": 1}
    encoded = base64.b64encode(data).decode()
    by_id, inline, data_url = (
        finished(server, alice, create(server, alice, **base, **reference(image)))
        for image in (
            {"id": uploaded(server, alice, data), "type": "UPLOADED"},
            {"type": "BASE64", "data": encoded},
            {"type": "URL", "url": f"data:image/png;base64,{encoded}"},
        )
    )
    assert np.array_equal(pixels(by_id), pixels(inline)) and np.array_equal(pixels(inline), pixels(data_url))

    refused = {
        "quantity": {"quantity": 9},
        "width": {"width": 60},
        "mode": {"mode": "FAST"},
        "guidances.image_reference[0].image.url": reference({"type": "URL", "url": "http://127.0.0.1:9/a.png"}),
        "guidances.image_reference[0].image.id": reference(
            {"id": by_id["generated_images"][0]["id"], "type": "GENERATED"}
        ),
    }
    for name, parameters in refused.items():
        key = bob if name.endswith("image.id") else alice  # alice's image, asked for by bob
        with v2(server, key) as client:
            body = {"model": "sfumato-tiny", "public": False, "parameters": {"prompt": "x", **parameters}}
            answer = client.post("/generations", json=body)
        assert answer.status_code == 400 and answer.json()["path"] == f"$.parameters.{name}", (name, answer.text)
    with v2(server, alice) as client:
        unknown = client.post("/generations", json={"model": "sfumato-tiny", "parameters": {"prompt": "x", "steps": 4}})
        no_slug = client.post("/generations", json={"model": "leonardo-9", "parameters": {"prompt": "x"}})
        no_key = httpx.post(f"{server.base_url}/api/rest/v2/generations", json={"model": "sfumato-tiny"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "Unexpected variable steps"
    assert (
        no_slug.status_code == 400 and no_slug.json()["path"] == "$.model" and "sfumato-tiny" in no_slug.json()["error"]
    )
    assert no_key.status_code == 401 and no_key.json()["code"] == "access-denied"
