"""A key the server has just verified (and so caches) stops working once `sfumato keys revoke` runs
in another process, within the cache's documented window, through the official SDK."""

from __future__ import annotations

import pytest
from leonardo_ai_sdk.models.errors import LeonardoAiSDKError

from sfumato.service.key_cache import KEY_CACHE_TTL_S
from tests.conftest import Server, run_cli
from tests.support.polling import poll_until

pytestmark = pytest.mark.both_modes


def test_a_key_revoked_by_the_cli_while_in_use_stops_working_within_the_ttl(server: Server) -> None:
    issued = server.create_key("revoked-in-use")
    sdk = server.sdk(issued["apiKey"])
    me = sdk.user.get_user_self().object  # verified: now in the server's cache
    assert me is not None and me.user_details and me.user_details[0].user is not None
    assert me.user_details[0].user.id == issued["userId"]

    run_cli(server.data_dir, "keys", "revoke", issued["apiKeyId"], env=server.env)

    def refused() -> bool:
        try:
            sdk.user.get_user_self()
        except LeonardoAiSDKError as refusal:
            assert refusal.status_code == 401
            return True
        return False

    # The deadline is the window plus slack for a slow machine; the test asserts no time.
    poll_until(refused, timeout_s=KEY_CACHE_TTL_S + 20, interval_s=0.2, message="the revoked key still works")
    with pytest.raises(LeonardoAiSDKError) as refusal:
        sdk.user.get_user_self()
    assert refusal.value.status_code == 401
