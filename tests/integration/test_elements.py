"""Elements end to end through the official Python SDK: `GET /elements`, a user element registered
with `sfumato elements add --user` (visible to its owner only), training refused, and generations
whose pixels show each element applied at its weight and nothing left behind after it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from leonardo_ai_sdk.models.errors import LeonardoAiSDKError
from PIL import Image

from sfumato.catalog import ElementEntry, ModelCatalog, add_local_entry, local_catalog_path
from tests.conftest import Server, run_cli, tiny_request, to_wire, wait_for_generation
from tests.support.loras import diffusers_lora, kohya_lora

BUILTIN = "33c0cdca-793a-4abb-8634-f9f8a68b47bf"
SDXL_ELEMENT = "6a1c3e2f-9b8d-4f70-8e21-5c4d3b2a1f00"
ARGS = "$.selectionSet.sdGenerationJob.args.arg1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server whose catalog has Alice's element (added with the CLI) and an SDXL one of hers."""
    data_dir = tmp_path_factory.mktemp("elements-data")
    alice, bob = (json.loads(run_cli(data_dir, "keys", "create", "--name", who).stdout) for who in ("alice", "bob"))
    lora = diffusers_lora(tmp_path_factory.mktemp("alice-lora"), seed=5)
    args = ("elements", "add", str(lora), "--name", "Alice's Style", "--base-model", "v1_5", "--user", alice["userId"])
    added = run_cli(data_dir, *args).stdout.splitlines()
    assert added[0] == "userLoraId 1"
    sdxl = ElementEntry.from_row(
        {"id": SDXL_ELEMENT, "name": "XL", "path": str(lora), "base_model": "SDXL_1_0"}
        | {"user_id": alice["userId"], "user_lora_id": 2}
    )
    add_local_entry(local_catalog_path(data_dir), sdxl, ModelCatalog.load(local_file=local_catalog_path(data_dir)))
    with Server(data_dir).running() as server:
        yield {"server": server, "alice": alice, "bob": bob, "alice_element": added[1]}


def test_elements_are_listed_and_a_user_element_is_its_owners_alone(world: dict[str, Any]) -> None:
    server, alice, bob = world["server"], world["alice"], world["bob"]
    as_alice, as_bob = server.sdk(alice["apiKey"]), server.sdk(bob["apiKey"])
    listed = as_alice.elements.list_elements().object.loras
    builtin = next(e for e in listed if e.ak_uuid == BUILTIN)
    assert builtin.base_model == "v1_5"
    assert (builtin.weight_min, builtin.weight_default, builtin.weight_max) == (-1, 1, 2)
    assert world["alice_element"] not in {e.ak_uuid for e in listed}  # user elements are not public
    mine = as_alice.elements.get_custom_elements_by_user_id(user_id=alice["userId"]).object.user_loras
    assert [(e.id, e.name, e.base_model, e.status) for e in mine] == [
        (1, "Alice's Style", "v1_5", "COMPLETE"),
        (2, "XL", "SDXL_1_0", "COMPLETE"),
    ]
    assert as_bob.elements.get_custom_elements_by_user_id(user_id=alice["userId"]).object.user_loras == []
    assert as_alice.elements.get_element_by_id(id=1).object.user_loras_by_pk.name == "Alice's Style"
    assert as_bob.elements.get_element_by_id(id=1).object.user_loras_by_pk is None
    assert as_bob.elements.delete_element_by_id(id=1).object.delete_user_loras_by_pk is None
    with pytest.raises(LeonardoAiSDKError) as deleting:
        as_alice.elements.delete_element_by_id(id=1)
    assert deleting.value.status_code == 400 and "sfumato elements remove" in deleting.value.body
    training = {"name": "x", "dataset_id": "d", "lora_focus": "Style", "learning_rate": 1e-6, "num_train_epochs": 1}
    with pytest.raises(LeonardoAiSDKError) as trained:
        as_alice.elements.create_element(request={**training, "train_text_encoder": True, "sd_version": "FLUX_DEV"})
    assert trained.value.status_code == 400 and "later issue" in json.loads(trained.value.body)["error"]


def _pixels(client: httpx.Client, sdk: Any, **fields: Any) -> tuple[np.ndarray, dict[str, Any]]:
    request = tiny_request(seed=42, **fields)
    generation_id = sdk.image.create_generation(request=request).object.sd_generation_job.generation_id
    done = wait_for_generation(client, str(generation_id))
    assert done["status"] == "COMPLETE", done
    image = Image.open(io.BytesIO(httpx.get(done["generated_images"][0]["url"], timeout=30).content))
    return np.asarray(image.convert("RGB")).astype(np.int16), done


def test_elements_change_the_pixels_at_their_weights_and_leave_nothing_behind(world: dict[str, Any]) -> None:
    server, alice = world["server"], world["alice"]
    sdk = server.sdk(alice["apiKey"])
    with server.http(alice["apiKey"]) as client:
        base, plain = _pixels(client, sdk)
        zero, _ = _pixels(client, sdk, elements=[{"akUUID": BUILTIN, "weight": 0}])
        one, done = _pixels(client, sdk, elements=[{"akUUID": BUILTIN, "weight": 1}])
        both, both_done = _pixels(
            client, sdk, elements=[{"akUUID": BUILTIN, "weight": 1}], user_elements=[{"user_lora_id": 1, "weight": 1}]
        )
        after, _ = _pixels(client, sdk)
    assert np.array_equal(zero, base) and np.array_equal(after, base)
    assert np.abs(one - base).mean() > 1 and not np.array_equal(both, one)
    assert plain["generation_elements"] == []
    [applied] = done["generation_elements"]
    assert applied["weightApplied"] == 1 and applied["lora"]["akUUID"] == BUILTIN
    assert applied["lora"]["baseModel"] == "v1_5" and isinstance(applied["id"], int)
    assert [e["lora"]["name"] for e in both_done["generation_elements"]] == ["Sfumato Tiny Element", "Alice's Style"]
    parsed = sdk.image.get_generation_by_id(id=done["id"]).object.generations_by_pk
    assert parsed.generation_elements[0].lora.ak_uuid == BUILTIN and parsed.generation_elements[0].weight_applied == 1


# (the request's extra fields, the field the 400 names, words of its message)
REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"elements": [{"akUUID": "9b0c7d7e-1111-4222-8333-444455556666"}]}, "elements[0].akUUID", "GET /elements"),
    ({"userElements": [{"userLoraId": 2.0}]}, "userElements[0].userLoraId", "SDXL_1_0"),
    ({"elements": [{"akUUID": BUILTIN, "weight": 5}]}, "elements[0].weight", "between -1 and 2"),
    ({"elements": [{"akUUID": BUILTIN}, {"akUUID": BUILTIN}]}, "elements[1].akUUID", "named twice"),
]


def test_element_refusals_name_the_field(world: dict[str, Any]) -> None:
    server = world["server"]
    with server.http(world["alice"]["apiKey"]) as client:
        for fields, path, words in REFUSALS:
            response = client.post("/generations", json={**to_wire(tiny_request()), **fields})
            assert response.status_code == 400 and response.json()["path"] == f"{ARGS}.{path}", response.text
            assert words in response.json()["error"]
    with server.http(world["bob"]["apiKey"]) as client:  # Alice's element is unknown to Bob
        response = client.post("/generations", json={**to_wire(tiny_request()), "userElements": [{"userLoraId": 1}]})
    assert response.status_code == 400 and response.json()["path"] == f"{ARGS}.userElements[0].userLoraId"


def test_elements_cli_adds_kohya_files_refuses_other_files_lists_and_removes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    kohya = kohya_lora(tmp_path / "kohya.safetensors", seed=3)
    element_id = run_cli(data_dir, "elements", "add", str(kohya), "--name", "K", "--base-model", "v1_5").stdout.strip()
    added = ModelCatalog.load(local_file=local_catalog_path(data_dir)).elements[element_id]
    assert "kohya format" in added.face.description
    not_lora = tmp_path / "model.safetensors"
    not_lora.write_bytes(b"\x0e\x00\x00\x00\x00\x00\x00\x00" + b'{"w": {}}     ')
    refused = run_cli(data_dir, "elements", "add", str(not_lora), "--name", "N", "--base-model", "v1_5", check=False)
    assert refused.returncode == 2 and "no LoRA matrices" in refused.stderr
    assert element_id in run_cli(data_dir, "elements", "list").stdout
    run_cli(data_dir, "elements", "remove", element_id)
    assert element_id not in ModelCatalog.load(local_file=local_catalog_path(data_dir)).elements
