"""Every id-taking route, as the owner, another user's key, no key and a revoked key of the
owner: zero cross-tenant reads, lists or deletes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Server, run_cli, tiny_request, wait_for_generation
from tests.support.images import image_bytes
from tests.support.polling import poll_until

pytestmark = pytest.mark.both_modes

Route = Callable[[httpx.Client, dict[str, Any]], httpx.Response]

ROUTES: dict[str, Route] = {
    "GET /generations/{id}": lambda c, t: c.get(f"/generations/{t['generation_id']}"),
    "GET /generations/user/{userId}": lambda c, t: c.get(f"/generations/user/{t['user_id']}"),
    "DELETE /generations/{id}": lambda c, t: c.delete(f"/generations/{t['generation_id']}"),
    "GET /init-image/{id}": lambda c, t: c.get(f"/init-image/{t['init_image_id']}"),
    "DELETE /init-image/{id}": lambda c, t: c.delete(f"/init-image/{t['init_image_id']}"),
    "GET /variations/{id}": lambda c, t: c.get(f"/variations/{t['variation_id']}"),
}

# Every variation create and every field that takes an id: (route, body by the owner's `{image}` or `{variation}`).
VARIATION_CREATES: dict[str, tuple[str, dict[str, Any]]] = {
    "upscale id": ("/variations/upscale", {"id": "{image}"}),
    "nobg id": ("/variations/nobg", {"id": "{image}"}),
    "unzoom id (isVariation)": ("/variations/unzoom", {"id": "{variation}", "isVariation": True}),
    "universal-upscaler generatedImageId": ("/variations/universal-upscaler", {"generatedImageId": "{image}"}),
    "universal-upscaler variationId": ("/variations/universal-upscaler", {"variationId": "{variation}"}),
}
UNKNOWN_ID = "0badbad0-0000-4000-8000-000000000001"


def sees_nothing(route: str, body: dict[str, Any]) -> bool:
    return {
        "GET /generations/{id}": body == {"generations_by_pk": None},
        "GET /generations/user/{userId}": body == {"generations": []},
        "DELETE /generations/{id}": body == {"delete_generations_by_pk": None},
        "GET /init-image/{id}": body == {"init_images_by_pk": None},
        "DELETE /init-image/{id}": body == {"delete_init_images_by_pk": None},
        "GET /variations/{id}": body == {"generated_image_variation_generic": []},
    }[route]


def _variation_body(template: dict[str, Any], image_id: str, variation_id: str) -> dict[str, Any]:
    ids = {"{image}": image_id, "{variation}": variation_id}
    return {name: ids.get(value, value) if isinstance(value, str) else value for name, value in template.items()}


@pytest.fixture(scope="module")
def tenants(server: Server) -> dict[str, Any]:
    owner = server.create_key("bola-owner")
    revoked = server.create_key("bola-owner")  # a second key of the same user, then revoked
    run_cli(server.data_dir, "keys", "revoke", revoked["apiKeyId"], env=server.env)
    other = server.create_key("bola-other")
    sdk = server.sdk(owner["apiKey"])
    generation_id = sdk.image.create_generation(request=tiny_request()).object.sd_generation_job.generation_id
    with server.http(owner["apiKey"]) as client:
        image_id = wait_for_generation(client, generation_id)["generated_images"][0]["id"]
        upload = client.post("/init-image", json={"extension": "png"}).json()["uploadInitImage"]
        variation_id = client.post("/variations/nobg", json={"id": image_id}).json()["sdNobgJob"]["id"]
        poll_until(
            lambda: client.get(f"/variations/{variation_id}").json()["generated_image_variation_generic"][0]["url"],
            120,
            0.1,
            "the owner's variation did not complete",
        )
    stored = httpx.post(upload["url"], data=json.loads(upload["fields"]), files={"file": ("i.png", image_bytes())})
    assert stored.status_code == 204, stored.text
    return {
        "generation_id": generation_id,
        "image_id": image_id,
        "variation_id": variation_id,
        "init_image_id": upload["id"],
        "user_id": owner["userId"],
        "keys": {"owner": owner["apiKey"], "other": other["apiKey"], "none": None, "revoked": revoked["apiKey"]},
    }


@pytest.mark.parametrize("caller", ["other", "none", "revoked"])
@pytest.mark.parametrize("route", list(ROUTES))
def test_no_cross_tenant_access(server: Server, tenants: dict[str, Any], route: str, caller: str) -> None:
    with server.http(tenants["keys"][caller]) as client:
        response = ROUTES[route](client, tenants)
    if caller == "other":
        assert response.status_code == 200 and sees_nothing(route, response.json()), response.text
    else:
        assert response.status_code == 401
        assert response.json() == {
            "error": "Authentication hook unauthorized this request",
            "path": "$",
            "code": "access-denied",
        }
    # Whatever the intruder tried, the owner still has the generation and the init image (and its file).
    with server.http(tenants["keys"]["owner"]) as client:
        assert client.get(f"/generations/{tenants['generation_id']}").json()["generations_by_pk"] is not None
        init_image = client.get(f"/init-image/{tenants['init_image_id']}").json()["init_images_by_pk"]
        [variation] = client.get(f"/variations/{tenants['variation_id']}").json()["generated_image_variation_generic"]
    assert init_image is not None and httpx.get(init_image["url"]).status_code == 200
    assert variation["status"] == "COMPLETE" and httpx.get(variation["url"]).status_code == 200


@pytest.mark.parametrize("caller", ["other", "none", "revoked"])
@pytest.mark.parametrize("route", list(VARIATION_CREATES))
def test_no_variation_of_another_users_image(server: Server, tenants: dict[str, Any], route: str, caller: str) -> None:
    """Another user's image or variation id is refused exactly as an unknown id is; nothing is made."""
    path, template = VARIATION_CREATES[route]
    owned_ids = (tenants["image_id"], tenants["variation_id"])
    with server.http(tenants["keys"][caller]) as client:
        response = client.post(path, json=_variation_body(template, *owned_ids))
        unknown = client.post(path, json=_variation_body(template, UNKNOWN_ID, UNKNOWN_ID))
    if caller != "other":
        assert response.status_code == 401
        return
    assert response.status_code == 400, response.text
    shown = response.json()
    assert any(owned in shown["error"] for owned in owned_ids)
    for owned in owned_ids:
        shown["error"] = shown["error"].replace(owned, UNKNOWN_ID)
    assert shown == unknown.json() and unknown.status_code == 400
    with server.http(tenants["keys"]["owner"]) as client:
        listed = client.get(f"/generations/{tenants['generation_id']}").json()["generations_by_pk"]
    assert [v["id"] for v in listed["generated_images"][0]["generated_image_variation_generics"]] == [
        tenants["variation_id"]
    ]


def test_owner_reads_lists_and_finally_deletes(server: Server, tenants: dict[str, Any]) -> None:
    with server.http(tenants["keys"]["owner"]) as client:
        read = ROUTES["GET /generations/{id}"](client, tenants).json()["generations_by_pk"]
        listed = ROUTES["GET /generations/user/{userId}"](client, tenants).json()["generations"]
        deleted = ROUTES["DELETE /generations/{id}"](client, tenants).json()["delete_generations_by_pk"]
        read_image = ROUTES["GET /init-image/{id}"](client, tenants).json()["init_images_by_pk"]
        deleted_image = ROUTES["DELETE /init-image/{id}"](client, tenants).json()["delete_init_images_by_pk"]
    assert read["id"] == tenants["generation_id"]
    assert tenants["generation_id"] in [g["id"] for g in listed]
    assert deleted == {"id": tenants["generation_id"]}
    assert read_image["id"] == tenants["init_image_id"]
    assert deleted_image == {"id": tenants["init_image_id"]}
