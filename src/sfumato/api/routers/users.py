"""`/me`: who the key belongs to, shaped as Leonardo's `user_details`."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep
from sfumato.api.responses import LeonardoJSON

router = APIRouter(tags=["user"])


@router.get("/me")
def get_me(key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    user = container.keys.user(key.user_id)
    details = {
        "user": {"id": key.user_id, "username": user.username if user else None},
        "tokenRenewalDate": None,
        "paidTokens": 0,
        "subscriptionTokens": 0,
        "subscriptionGptTokens": 0,
        "subscriptionModelTokens": 0,
        "apiConcurrencySlots": key.concurrency,
        "apiPaidTokens": 0,
        # Sfumato does not bill: this is the configured allowance (api_token_allowance).
        "apiSubscriptionTokens": container.settings.api_token_allowance,
        "apiPlanTokenRenewalDate": None,
    }
    return LeonardoJSON({"user_details": [details]})
