"""One user never reads, lists or deletes another's generations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server, tiny_request, wait_for_generation

pytestmark = pytest.mark.both_modes


def test_other_user_cannot_read_list_or_delete(server: Server, alice: dict[str, Any], bob: dict[str, Any]) -> None:
    alice_sdk, bob_sdk = server.sdk(alice["apiKey"]), server.sdk(bob["apiKey"])
    generation_id = alice_sdk.image.create_generation(request=tiny_request()).object.sd_generation_job.generation_id

    assert bob_sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk is None
    assert bob_sdk.image.get_generations_by_user_id(user_id=alice["userId"]).object.generations == []
    assert bob_sdk.image.delete_generation_by_id(id=generation_id).object.delete_generations_by_pk is None

    # Alice still has it, untouched.
    with server.http(alice["apiKey"]) as client:
        assert wait_for_generation(client, generation_id)["status"] == "COMPLETE"
    listed = alice_sdk.image.get_generations_by_user_id(user_id=alice["userId"], limit=100).object.generations
    assert generation_id in [g.id for g in listed]


def test_a_second_key_of_the_same_user_sees_the_same_generations(server: Server) -> None:
    first = server.create_key("carol")
    second = server.create_key("carol")
    assert first["userId"] == second["userId"] and first["apiKey"] != second["apiKey"]
    generation_id = server.sdk(first["apiKey"]).image.create_generation(request=tiny_request()).object
    seen = server.sdk(second["apiKey"]).image.get_generation_by_id(id=generation_id.sd_generation_job.generation_id)
    assert seen.object.generations_by_pk is not None
