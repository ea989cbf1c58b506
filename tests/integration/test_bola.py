"""Every id-taking route, as the owner, another user's key, no key and a revoked key of the
owner: zero cross-tenant reads, lists or deletes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Server, run_cli, tiny_request, wait_for_generation

Route = Callable[[httpx.Client, dict[str, Any]], httpx.Response]

ROUTES: dict[str, Route] = {
    "GET /generations/{id}": lambda c, t: c.get(f"/generations/{t['generation_id']}"),
    "GET /generations/user/{userId}": lambda c, t: c.get(f"/generations/user/{t['user_id']}"),
    "DELETE /generations/{id}": lambda c, t: c.delete(f"/generations/{t['generation_id']}"),
}


def sees_nothing(route: str, body: dict[str, Any]) -> bool:
    return {
        "GET /generations/{id}": body == {"generations_by_pk": None},
        "GET /generations/user/{userId}": body == {"generations": []},
        "DELETE /generations/{id}": body == {"delete_generations_by_pk": None},
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
    return {
        "generation_id": generation_id,
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
    # Whatever the intruder tried, the owner still has the generation.
    with server.http(tenants["keys"]["owner"]) as client:
        assert client.get(f"/generations/{tenants['generation_id']}").json()["generations_by_pk"] is not None


def test_owner_reads_lists_and_finally_deletes(server: Server, tenants: dict[str, Any]) -> None:
    with server.http(tenants["keys"]["owner"]) as client:
        read = ROUTES["GET /generations/{id}"](client, tenants).json()["generations_by_pk"]
        listed = ROUTES["GET /generations/user/{userId}"](client, tenants).json()["generations"]
        deleted = ROUTES["DELETE /generations/{id}"](client, tenants).json()["delete_generations_by_pk"]
    assert read["id"] == tenants["generation_id"]
    assert tenants["generation_id"] in [g["id"] for g in listed]
    assert deleted == {"id": tenants["generation_id"]}
