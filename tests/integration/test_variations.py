"""Variations against the real server through the official Python SDK: upscale, no background,
unzoom and the universal upscaler each end COMPLETE with the right transformType and size, appear
under their image's `generated_image_variation_generics` and at `GET /variations/{id}`; a variation
of a variation works; an empty or bodiless POST is a clear 400."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from leonardo_ai_sdk import LeonardoAiSDK
from leonardo_ai_sdk.models import errors
from PIL import Image

from tests.conftest import Server, tiny_request, wait_for_generation
from tests.support.polling import poll_until

pytestmark = pytest.mark.both_modes

SIDE = 64  # tiny_request's width and height


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, Any]:
    return server.create_key("varier")


@pytest.fixture(scope="module")
def sdk(server: Server, owner: dict[str, Any]) -> LeonardoAiSDK:
    return server.sdk(owner["apiKey"])


@pytest.fixture(scope="module")
def made(server: Server, owner: dict[str, Any], sdk: LeonardoAiSDK) -> dict[str, str]:
    """A finished tiny generation's id and its image's id."""
    job = sdk.image.create_generation(request=tiny_request()).object
    assert job is not None and job.sd_generation_job is not None
    generation_id = str(job.sd_generation_job.generation_id)
    with server.http(owner["apiKey"]) as client:
        generation = wait_for_generation(client, generation_id)
    assert generation["status"] == "COMPLETE"
    return {"generation_id": generation_id, "image_id": generation["generated_images"][0]["id"]}


def wait_for_variation(sdk: LeonardoAiSDK, variation_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Poll `GET /variations/{id}` through the SDK until the variation is COMPLETE or FAILED."""

    def finished() -> dict[str, Any] | None:
        answer = sdk.variation.get_variation_by_id(id=variation_id).object
        assert answer is not None and answer.generated_image_variation_generic is not None
        [item] = answer.generated_image_variation_generic
        status = str(item.status.value if item.status is not None else None)
        transform = item.transform_type.value if item.transform_type is not None else None
        done = status in ("COMPLETE", "FAILED")
        return {"id": item.id, "status": status, "transformType": transform, "url": item.url} if done else None

    return poll_until(finished, timeout_s, 0.1, f"variation {variation_id} not finished")


def downloaded(item: dict[str, Any]) -> Image.Image:
    assert item["status"] == "COMPLETE" and isinstance(item["url"], str), item
    response = httpx.get(item["url"], timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_each_variation_completes_with_its_transform_and_size(sdk: LeonardoAiSDK, made: dict[str, str]) -> None:
    image_id = made["image_id"]
    upscale = sdk.variation.create_variation_upscale(request={"id": image_id}).object
    nobg = sdk.variation.create_variation_no_bg(request={"id": image_id}).object
    unzoom = sdk.variation.create_variation_unzoom(request={"id": image_id}).object
    universal = sdk.variation.create_universal_upscaler_job(request={"generated_image_id": image_id}).object
    assert upscale is not None and upscale.sd_upscale_job is not None and nobg is not None and nobg.sd_nobg_job
    assert unzoom is not None and unzoom.sd_unzoom_job is not None
    assert universal is not None and universal.universal_upscaler is not None
    jobs = {
        "UPSCALE": upscale.sd_upscale_job,
        "NOBG": nobg.sd_nobg_job,
        "UNZOOM": unzoom.sd_unzoom_job,
        "UNIVERSAL": universal.universal_upscaler,
    }
    costs = {name: (job.cost.amount, job.cost.unit.value) for name, job in jobs.items() if job.cost and job.cost.unit}
    assert costs == {"UPSCALE": ("15", "CREDITS"), "NOBG": ("5", "CREDITS"), "UNZOOM": ("15", "CREDITS"),
                     "UNIVERSAL": ("15", "CREDITS")}  # fmt: skip
    done = {name: wait_for_variation(sdk, str(job.id)) for name, job in jobs.items()}
    assert {name: item["transformType"] for name, item in done.items()} == {
        "UPSCALE": "UPSCALE", "NOBG": "NOBG", "UNZOOM": "UNZOOM", "UNIVERSAL": "UPSCALE",
    }  # fmt: skip

    assert downloaded(done["UPSCALE"]).size == (2 * SIDE, 2 * SIDE)
    assert downloaded(done["UNIVERSAL"]).size == (96, 96)  # the SDK's default upscaleMultiplier, 1.5
    assert downloaded(done["UNZOOM"]).size == (96, 96)  # the canvas: half of each side more
    transparent = downloaded(done["NOBG"])
    low, high = transparent.getchannel("A").getextrema()
    assert transparent.mode == "RGBA" and transparent.size == (SIDE, SIDE) and low < high

    answer = sdk.image.get_generation_by_id(id=made["generation_id"]).object
    assert answer is not None and answer.generations_by_pk is not None and answer.generations_by_pk.generated_images
    [image] = answer.generations_by_pk.generated_images
    generics = image.generated_image_variation_generics or []
    listed = {(generic.id, generic.transform_type.value if generic.transform_type else None) for generic in generics}
    assert {(item["id"], item["transformType"]) for item in done.values()} <= listed


def test_a_variation_of_a_variation(sdk: LeonardoAiSDK, made: dict[str, str]) -> None:
    unzoom = sdk.variation.create_variation_unzoom(request={"id": made["image_id"]}).object
    assert unzoom is not None and unzoom.sd_unzoom_job is not None
    wait_for_variation(sdk, str(unzoom.sd_unzoom_job.id))
    nobg = sdk.variation.create_variation_no_bg(request={"id": str(unzoom.sd_unzoom_job.id), "is_variation": True})
    assert nobg.object is not None and nobg.object.sd_nobg_job is not None
    item = wait_for_variation(sdk, str(nobg.object.sd_nobg_job.id))
    assert item["transformType"] == "NOBG" and downloaded(item).size == (96, 96)


def test_an_empty_or_bodiless_post_is_a_clear_400(server: Server, owner: dict[str, Any], sdk: LeonardoAiSDK) -> None:
    with pytest.raises(errors.SDKError) as raised:
        sdk.variation.create_variation_unzoom()  # the Python SDK sends no body and no Content-Type
    assert raised.value.status_code == 400 and "body is empty" in raised.value.body
    with server.http(owner["apiKey"]) as client:
        for route in ("upscale", "nobg", "unzoom", "universal-upscaler"):
            # The npm SDK's way: a JSON Content-Type with nothing after it.
            bare = client.post(f"/variations/{route}", headers={"Content-Type": "application/json"})
            assert bare.status_code == 400, bare.text
            assert bare.json() == {
                "error": "the request body is empty: a JSON object is expected",
                "path": "$",
                "code": "validation-failed",
            }
        unknown = client.post("/variations/upscale", json={"id": "0badbad0-0000-4000-8000-000000000001"})
        assert unknown.status_code == 400 and unknown.json()["error"].startswith("couldn't access image")
        assert client.get("/variations/0badbad0-0000-4000-8000-000000000001").json() == {
            "generated_image_variation_generic": []
        }
