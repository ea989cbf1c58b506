"""Webhook pieces without I/O: the signature, the retry schedule, the URL check (the envelope:
`tests/unit/wire/test_webhook_envelope.py`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import socket
from typing import Any

import pytest

from sfumato.webhooks.backoff import MAX_ATTEMPTS, SCHEDULE_S, retry_delay_s
from sfumato.webhooks.signing import new_webhook_secret, sign
from sfumato.webhooks.url_safety import (
    MalformedWebhookUrl,
    NonPublicWebhookUrl,
    UnsafeWebhookUrl,
    check_public_webhook_url,
    check_webhook_url_form,
)
from sfumato.wire.webhook_envelope import serialize


def test_signature_matches_an_independent_hmac() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    body = serialize({"a": "ü", "b": 1})
    header = sign(secret, "msg-1", 1700000000, body)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"msg-1.1700000000.{body}".encode(), hashlib.sha256).digest()
    assert header == "v1," + base64.b64encode(expected).decode()


def test_backoff_schedule_is_monotonic_reaches_a_day_and_scales() -> None:
    rng = random.Random(7)
    delays = [retry_delay_s(n, 1.0, rng) for n in range(1, MAX_ATTEMPTS)]
    assert all(d is not None for d in delays)
    assert list(SCHEDULE_S) == sorted(SCHEDULE_S) and len(set(SCHEDULE_S)) == len(SCHEDULE_S)
    assert sum(SCHEDULE_S) >= 24 * 3600
    for nominal, actual in zip(SCHEDULE_S, delays, strict=True):
        assert actual is not None and nominal <= actual <= nominal * 1.1
    assert retry_delay_s(MAX_ATTEMPTS, 1.0) is None and retry_delay_s(0, 1.0) is None
    scaled = retry_delay_s(len(SCHEDULE_S), 0.001, random.Random(1))
    assert scaled is not None and SCHEDULE_S[-1] * 0.001 <= scaled <= SCHEDULE_S[-1] * 0.0011


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://93.184.216.34/hook",
        "not a url",
    ],
)
def test_private_and_malformed_webhook_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl):
        check_public_webhook_url(url)


@pytest.mark.parametrize(
    "url", ["", "not a url", "ftp://93.184.216.34/hook", "http:///hook", "http://[::1/hook", "http://h:99999/",
            "http://h:0/", "http://a..b/", "https://exa mple.com/", "http://h/\x00"],
)  # fmt: skip
def test_undeliverable_url_is_malformed_whatever_the_address_rule(url: str) -> None:
    with pytest.raises(MalformedWebhookUrl):
        check_webhook_url_form(url)
    with pytest.raises(MalformedWebhookUrl):
        check_public_webhook_url(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/h", "http://10.0.0.1/h", "http://[::1]/h", "http://169.254.169.254/h",
            "http://localhost:8080/hook"],
)  # fmt: skip
def test_non_public_url_is_well_formed_but_not_public(url: str) -> None:
    check_webhook_url_form(url)  # what --allow-private-webhook still checks
    with pytest.raises(NonPublicWebhookUrl):
        check_public_webhook_url(url)


def test_public_webhook_url_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    check_public_webhook_url("https://93.184.216.34/hook")  # a literal resolves without DNS

    # A name whose DNS answer includes a private address is refused (fake DNS at the edge).
    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeWebhookUrl):
        check_public_webhook_url("https://rebinding.example/hook")
