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

Route = Callable[[httpx.Client, dict[str, Any]], httpx.Response]

ROUTES: dict[str, Route] = {
    "GET /generations/{id}": lambda c, t: c.get(f"/generations/{t['generation_id']}"),
    "GET /generations/user/{userId}": lambda c, t: c.get(f"/generations/user/{t['user_id']}"),
    "DELETE /generations/{id}": lambda c, t: c.delete(f"/generations/{t['generation_id']}"),
    "GET /init-image/{id}": lambda c, t: c.get(f"/init-image/{t['init_image_id']}"),
    "DELETE /init-image/{id}": lambda c, t: c.delete(f"/init-image/{t['init_image_id']}"),
}


def sees_nothing(route: str, body: dict[str, Any]) -> bool:
    return {
        "GET /generations/{id}": body == {"generations_by_pk": None},
        "GET /generations/user/{userId}": body == {"generations": []},
        "DELETE /generations/{id}": body == {"delete_generations_by_pk": None},
        "GET /init-image/{id}": body == {"init_images_by_pk": None},
        "DELETE /init-image/{id}": body == {"delete_init_images_by_pk": None},
    }[route]


@pytest.fixture(scope="module")
def tenants(server: Server) -> dict[str, Any]:
    owner = server.create_key("bola-owner")
    revoked = server.create_key("bola-owner")  # a second key of the same user, then revoked
    run_cli(server.data_dir, "keys", "revoke", revoked["apiKeyId"])
    other = server.create_key("bola-other")
    sdk = server.sdk(owner["apiKey"])
    generation_id = sdk.image.create_generation(request=tiny_request()).object.sd_generation_job.generation_id
    with server.http(owner["apiKey"]) as client:
        wait_for_generation(client, generation_id)
        upload = client.post("/init-image", json={"extension": "png"}).json()["uploadInitImage"]
    stored = httpx.post(upload["url"], data=json.loads(upload["fields"]), files={"file": ("i.png", image_bytes())})
    assert stored.status_code == 204, stored.text
    return {
        "generation_id": generation_id,
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
    assert init_image is not None and httpx.get(init_image["url"]).status_code == 200


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
