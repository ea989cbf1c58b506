"""The v2 envelope is strict: an unknown key anywhere is `Unexpected variable`, a wrong type names its
field under `$.parameters`; the answer has every v2 client's `generate` shape."""

from __future__ import annotations

from typing import Any

import pytest

from sfumato.errors import BadRequest, ClientError, ValidationFailed
from sfumato.wire.v2_request import parse_v2_generation, v2_generation_job


def body(**parameters: Any) -> dict[str, Any]:
    return {"model": "sfumato-tiny", "public": False, "parameters": {"prompt": "a cat", **parameters}}


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({**body(), "modelId": "x"}, "modelId"),
        (body(steps=4), "steps"),
        (body(guidances={"depth": []}), "depth"),
        (body(guidances={"image_reference": [{"image": {"type": "URL", "uri": "x"}}]}), "uri"),
    ],
)
def test_an_unknown_key_anywhere_is_an_unexpected_variable(payload: dict[str, Any], key: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_v2_generation(payload)
    assert caught.value.message == f"Unexpected variable {key}"


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"model": "sfumato-tiny"}, "$.parameters"),
        ({"parameters": {"prompt": "x"}}, "$.model"),
        ({**body(), "public": "no"}, "$.public"),
        (body(quantity="2"), "$.parameters.quantity"),
        (body(tiling=1), "$.parameters.tiling"),
        (body(style_ids="111dc692-d470-4eec-b791-3475abac4c46"), "$.parameters.style_ids"),
        (body(guidances={"image_reference": [{"strength": "LOW"}]}), "$.parameters.guidances.image_reference[0].image"),
    ],
)
def test_a_wrong_or_missing_value_names_its_field(payload: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_v2_generation(payload)
    assert caught.value.path == path


def test_a_body_is_read_into_the_v2_request() -> None:
    guide = {"image": {"type": "GENERATED", "id": "g"}, "strength": "LOW", "order": 1}
    parsed = parse_v2_generation(body(quantity=2.0, seed=5, style_ids=["a"], guidances={"image_reference": [guide]}))
    assert (parsed.slug, parsed.quantity, parsed.seed, parsed.style_ids, parsed.public) == (
        "sfumato-tiny", 2, 5, ("a",), False)  # fmt: skip
    [read] = parsed.guides
    assert (read.kind, read.image.type, read.image.id, read.strength, read.field, read.order) == (
        "image_reference", "GENERATED", "g", "LOW", "guidances.image_reference[0]", 1)  # fmt: skip
    assert parsed.sent == {"prompt", "quantity", "seed", "style_ids", "guidances"}
    with pytest.raises(ClientError):
        parse_v2_generation([body()])


def test_the_answer_is_generate_with_its_cost_in_credits() -> None:
    assert v2_generation_job("g", 6) == {
        "generate": {"generationId": "g", "apiCreditCost": 6, "cost": {"amount": "6", "unit": "CREDITS"}}
    }
