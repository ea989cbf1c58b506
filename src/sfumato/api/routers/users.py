"""`/me`: who the key belongs to, shaped as Leonardo's `user_details`."""

from __future__ import annotations

from fastapi import APIRouter

from sfumato.api.deps import ContainerDep, KeyDep
from sfumato.api.responses import LeonardoJSON
from sfumato.wire.user_response import user_details

router = APIRouter(tags=["user"])


@router.get("/me")
def get_me(key: KeyDep, container: ContainerDep) -> LeonardoJSON:
    username = container.keys.username(key.user_id)
    # Sfumato does not bill: the API tokens shown are the configured allowance.
    allowance = container.settings.prices.api_token_allowance
    return LeonardoJSON(user_details(key.user_id, username, key.concurrency, allowance))
