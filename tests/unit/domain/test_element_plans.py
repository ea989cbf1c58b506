"""A plan's elements keep their weight and the face they were applied with through the stored JSON."""

from __future__ import annotations

import dataclasses

from sfumato.domain.elements import ElementFace, ElementPlan
from sfumato.domain.generation import GenerationPlan
from tests.unit.domain.test_generation_plan import UNVERSIONED

FACE = ElementFace("33c0cdca-793a-4abb-8634-f9f8a68b47bf", "Tiny", "d", "v1_5", None, 1, -1, 2)


def test_elements_round_trip_with_their_faces() -> None:
    elements = (ElementPlan(FACE.ak_uuid, 0.5, FACE), ElementPlan("0b7d7a52-5f0e-4c4e-9d55-3f1f6c1b2a01", 1.0))
    plan = dataclasses.replace(GenerationPlan.from_json(dict(UNVERSIONED)), elements=elements)
    assert GenerationPlan.from_json(plan.to_json()).elements == elements
