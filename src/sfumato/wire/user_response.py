"""`/me` as Leonardo's `user_details`: one entry, the token counters Sfumato does not bill at zero."""

from __future__ import annotations

from typing import Any


def user_details(user_id: str, username: str | None, concurrency: int, token_allowance: int) -> dict[str, Any]:
    """`token_allowance` is the configured `api_token_allowance`, shown as the API subscription tokens."""
    details = {
        "user": {"id": user_id, "username": username},
        "tokenRenewalDate": None,
        "paidTokens": 0,
        "subscriptionTokens": 0,
        "subscriptionGptTokens": 0,
        "subscriptionModelTokens": 0,
        "apiConcurrencySlots": concurrency,
        "apiPaidTokens": 0,
        "apiSubscriptionTokens": token_allowance,
        "apiPlanTokenRenewalDate": None,
    }
    return {"user_details": [details]}
