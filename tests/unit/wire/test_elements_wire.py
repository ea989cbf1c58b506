"""Elements on the wire: `elements[]`/`userElements[]` parsed as sent, and the response shapes
(`loras`, `user_loras`, `generation_elements`) with every spec key, integer weights, no null baseModel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfumato.catalog import AuxFace, AuxWeights, ElementEntry, ModelCatalog
from sfumato.domain.elements import ElementPlan, ElementRef
from sfumato.errors import ClientError
from sfumato.service.elements import element_face
from sfumato.wire.element_response import generation_elements, list_elements, user_loras, user_loras_by_pk
from sfumato.wire.generation_request import parse_create_generation

ARGS = "$.selectionSet.sdGenerationJob.args.arg1"
SPEC = Path(__file__).parents[3] / ".." / "shared" / "spec" / "leonardo-elements.openapi.json"
AK = "33c0cdca-793a-4abb-8634-f9f8a68b47bf"


def _spec_keys(path: str, prop: str) -> set[str]:
    if not SPEC.is_file():
        pytest.skip("the shared spec is not beside this checkout")
    schema: Any = json.loads(SPEC.read_text())["paths"][path]["get"]["responses"]["200"]["content"]
    body = schema["application/json"]["schema"]["properties"][prop]
    return set((body.get("items") or body)["properties"])


def test_elements_and_user_elements_parse_in_order_with_integral_float_ids() -> None:
    request = parse_create_generation(
        {
            "prompt": "x",
            "elements": [{"akUUID": AK, "weight": 0.5}, {"akUUID": "b"}],
            "userElements": [{"userLoraId": 5.0, "weight": 1.0}],
        }
    )
    assert request.elements == (
        ElementRef(AK, None, 0.5, "elements[0]"),
        ElementRef("b", None, None, "elements[1]"),
        ElementRef(None, 5, 1.0, "userElements[0]"),
    )


@pytest.mark.parametrize("number", [5.5, None])
def test_a_user_lora_id_must_be_a_whole_number(number: float | None) -> None:
    with pytest.raises(ClientError) as raised:
        parse_create_generation({"prompt": "x", "userElements": [{"userLoraId": number}]})
    assert raised.value.path == f"{ARGS}.userElements[0].userLoraId"


def _user_element() -> ElementEntry:
    return ElementEntry(
        face=AuxFace(id="0b7d7a52-5f0e-4c4e-9d55-3f1f6c1b2a01", name="Mine", description="d"),
        weights=AuxWeights(path="/x.safetensors"),
        base_model="SDXL_1_0",
        user_id="9f1c1111-2222-4333-8444-555566667777",
        user_lora_id=3,
        created_at="2026-01-02T03:04:05.006",
    )


def test_response_shapes_carry_every_spec_key() -> None:
    builtin = ModelCatalog.load().element(AK)
    assert builtin is not None
    listed = list_elements([builtin])["loras"][0]
    assert set(listed) == _spec_keys("/elements", "loras")
    assert listed["baseModel"] == "v1_5" and all(type(listed[k]) is int for k in ("weightDefault", "weightMin"))
    mine = user_loras([_user_element()])["user_loras"][0]
    assert set(mine) == _spec_keys("/elements/user/{userId}", "user_loras")
    by_pk = user_loras_by_pk(_user_element())["user_loras_by_pk"]
    assert set(by_pk) == _spec_keys("/elements/{id}", "user_loras_by_pk")
    assert (mine["id"], mine["status"], mine["resolution"]) == (3, "COMPLETE", 1024)
    assert user_loras_by_pk(None) == {"user_loras_by_pk": None}


def test_generation_elements_record_each_element_with_its_weight_in_order() -> None:
    builtin = ModelCatalog.load().element(AK)
    assert builtin is not None
    plans = (ElementPlan(AK, 0.5, element_face(builtin)), ElementPlan(_user_element().id, 1.0, None))
    first, second = generation_elements("d1b6a8a4-8f7e-4c1d-9a2b-3c4d5e6f7a8b", plans)
    assert first["lora"]["akUUID"] == AK and first["lora"]["baseModel"] == "v1_5" and first["weightApplied"] == 0.5
    assert second["lora"] is None and isinstance(first["id"], int) and second["id"] == first["id"] + 1
    assert first["id"] < 2**53
    assert generation_elements("not-a-uuid", ()) == []
