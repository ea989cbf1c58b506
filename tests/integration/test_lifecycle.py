"""The Leonardo lifecycle through the official Python SDK, against the real server."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import TINY_MODEL_ID, Server, tiny_request, wait_for_generation

pytestmark = pytest.mark.both_modes


def create(server: Server, key: dict[str, Any], **overrides: Any) -> str:
    response = server.sdk(key["apiKey"]).image.create_generation(request=tiny_request(**overrides))
    assert response.status_code == 200
    job = response.object.sd_generation_job
    assert isinstance(job.api_credit_cost, int) and job.api_credit_cost > 0
    assert job.cost.unit == "CREDITS" and job.cost.amount == str(job.api_credit_cost)
    return str(job.generation_id)


def pixels(url: str) -> np.ndarray:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def test_create_poll_complete_list_delete(server: Server, alice: dict[str, Any]) -> None:
    sdk = server.sdk(alice["apiKey"])
    generation_id = create(server, alice, num_images=2, negative_prompt="fog", seed=1234)

    pending = sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk
    assert pending.status in {"PENDING", "COMPLETE"}
    if pending.status == "PENDING":
        assert pending.generated_images == []

    with server.http(alice["apiKey"]) as client:
        done = wait_for_generation(client, generation_id)
    assert done["status"] == "COMPLETE", done.get("failureReason")
    assert done["seed"] == 1234 and done["imageWidth"] == 64 and done["imageHeight"] == 64
    assert done["negativePrompt"] == "fog" and done["modelId"] == TINY_MODEL_ID
    assert done["sdVersion"] == "v1_5" and done["scheduler"] == "EULER_DISCRETE"
    assert len(done["generated_images"]) == 2
    for image in done["generated_images"]:
        assert pixels(image["url"]).shape == (64, 64, 3)
        assert image["likeCount"] == 0 and image["nsfw"] is False

    # The SDK parses the finished generation with its own models.
    parsed = sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk
    assert parsed.status == "COMPLETE" and len(parsed.generated_images) == 2

    listed = sdk.image.get_generations_by_user_id(user_id=alice["userId"], limit=50).object.generations
    assert generation_id in [g.id for g in listed]

    deleted = sdk.image.delete_generation_by_id(id=generation_id).object.delete_generations_by_pk
    assert deleted.id == generation_id
    assert sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk is None
    assert httpx.get(done["generated_images"][0]["url"]).status_code == 404
    again = sdk.image.delete_generation_by_id(id=generation_id).object.delete_generations_by_pk
    assert again is None


def test_list_is_newest_first_and_paged(server: Server) -> None:
    key = server.create_key("pager")
    ids = [create(server, key, prompt=f"page {i}") for i in range(3)]
    with server.http(key["apiKey"]) as client:
        listed = client.get(f"/generations/user/{key['userId']}").json()["generations"]
        assert [g["id"] for g in listed] == list(reversed(ids))
        page = client.get(f"/generations/user/{key['userId']}", params={"offset": 1, "limit": 1}).json()
        assert [g["id"] for g in page["generations"]] == [ids[1]]


def test_same_seed_same_pixels_other_seed_other_pixels(server: Server, alice: dict[str, Any]) -> None:
    ids = [create(server, alice, seed=seed) for seed in (42, 42, 43)]
    with server.http(alice["apiKey"]) as client:
        images = [pixels(wait_for_generation(client, i)["generated_images"][0]["url"]) for i in ids]
    assert np.array_equal(images[0], images[1])
    assert not np.array_equal(images[0], images[2])


def test_every_scheduler_completes(server: Server, alice: dict[str, Any]) -> None:
    schedulers = ["KLMS", "EULER_ANCESTRAL_DISCRETE", "EULER_DISCRETE", "DDIM", "DPM_SOLVER", "PNDM", "LEONARDO"]
    ids = {name: create(server, alice, scheduler=name) for name in schedulers}
    with server.http(alice["apiKey"]) as client:
        for name, generation_id in ids.items():
            done = wait_for_generation(client, generation_id)
            assert done["status"] == "COMPLETE" and done["scheduler"] == name


def test_alchemy_preset_is_recorded_and_uses_quality_steps(server: Server, alice: dict[str, Any]) -> None:
    generation_id = create(server, alice, alchemy=True, preset_style="CINEMATIC", num_inference_steps=None)
    with server.http(alice["apiKey"]) as client:
        done = wait_for_generation(client, generation_id)
    assert done["status"] == "COMPLETE"
    assert done["presetStyle"] == "CINEMATIC"
    assert done["inferenceSteps"] == 20  # the tiny model's alchemy quality default (10 without)


def test_me_and_platform_models(server: Server, alice: dict[str, Any]) -> None:
    sdk = server.sdk(alice["apiKey"])
    details = sdk.user.get_user_self().object.user_details[0]
    assert details.user.id == alice["userId"] and details.user.username == "alice"
    assert details.api_concurrency_slots == 10
    models = sdk.models.list_platform_models().object.custom_models
    tiny = next(m for m in models if m.id == TINY_MODEL_ID)
    assert "Tiny" in tiny.name
    assert any(m.id == "b24e16ff-06e3-43eb-8d33-4416c2d75876" for m in models)


def test_sdk_default_request_names_the_missing_model(server: Server, alice: dict[str, Any]) -> None:
    """What `create_generation(prompt=...)` sends: Lightning XL, 1024x768, 4 images, alchemy."""
    with server.http(alice["apiKey"]) as client:
        response = client.post(
            "/generations",
            json={
                "alchemy": True, "height": 768, "width": 1024, "modelId": "b24e16ff-06e3-43eb-8d33-4416c2d75876",
                "num_images": 4, "presetStyle": "DYNAMIC", "prompt": "a cat",
            },
        )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unexpected" and body["path"].endswith(".modelId")
    assert "Leonardo Lightning XL" in body["error"] and "sfumato models pull" in body["error"]
