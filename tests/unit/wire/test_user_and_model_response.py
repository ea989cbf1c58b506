"""`/me`, `/platformModels` and `/models/{id}` from plain values: Leonardo's keys, exactly."""

from __future__ import annotations

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.wire.model_response import custom_model_by_pk, platform_models
from sfumato.wire.user_response import user_details

USER_DETAILS_KEYS = (
    "user tokenRenewalDate paidTokens subscriptionTokens subscriptionGptTokens subscriptionModelTokens "
    "apiConcurrencySlots apiPaidTokens apiSubscriptionTokens apiPlanTokenRenewalDate"
)
PLATFORM_MODEL_KEYS = "id name description nsfw featured generated_image"
CUSTOM_MODEL_KEYS = (
    "createdAt description id instancePrompt modelHeight modelWidth name public sdVersion status type updatedAt"
)


def test_user_details_is_one_entry_with_the_allowance_and_slots() -> None:
    body = user_details("u-1", "dana", 3, 150)
    (details,) = body["user_details"]
    assert set(details) == set(USER_DETAILS_KEYS.split())
    assert details["user"] == {"id": "u-1", "username": "dana"}
    assert (details["apiConcurrencySlots"], details["apiSubscriptionTokens"], details["paidTokens"]) == (3, 150, 0)


def test_models_in_custom_models_shapes_say_when_weights_are_missing() -> None:
    entry = ModelCatalog.load().get(TINY_MODEL_ID)
    assert entry is not None
    (listed,) = platform_models([(entry, True)])["custom_models"]
    assert set(listed) == set(PLATFORM_MODEL_KEYS.split())
    assert listed["id"] == TINY_MODEL_ID and listed["description"] == entry.face.description
    model = custom_model_by_pk(entry, False)["custom_models_by_pk"]
    assert set(model) == set(CUSTOM_MODEL_KEYS.split())
    assert model["description"].startswith(entry.face.description) and "Not installed" in model["description"]
    assert model["createdAt"] == model["updatedAt"] and model["status"] == "COMPLETE"
    assert custom_model_by_pk(None, False) == {"custom_models_by_pk": None}
