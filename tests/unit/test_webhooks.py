"""Webhook pieces without I/O: Leonardo's envelope, the signature, the retry schedule, the URL check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import socket
from datetime import datetime
from typing import Any

import pytest

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.store.tables import ApiKey, GeneratedImage, Generation
from sfumato.webhooks.backoff import MAX_ATTEMPTS, SCHEDULE_S, retry_delay_s
from sfumato.webhooks.signing import new_webhook_secret, sign
from sfumato.webhooks.url_safety import (
    MalformedWebhookUrl,
    NonPublicWebhookUrl,
    UnsafeWebhookUrl,
    check_public_webhook_url,
    check_webhook_url_form,
)
from sfumato.wire.webhook_envelope import generation_envelope, serialize

# Property names of leonardo-webhooks.asyncapi.yml's schemas, copied verbatim.
ENVELOPE_KEYS = "type object timestamp api_version data"
GENERATION_KEYS = (
    "id createdAt updatedAt userId public flagged nsfw status coreModel guidanceScale imageHeight imageWidth "
    "inferenceSteps initGeneratedImageId initImageId initStrength initType initUpscaledImageId modelId "
    "negativePrompt prompt quantity sdVersion tiling imageAspectRatio tokenCost negativeStylePrompt seed scheduler "
    "presetStyle promptMagic canvasInitImageId canvasMaskImageId canvasRequest api poseImage2Image "
    "imagePromptStrength category poseImage2ImageType highContrast apiDollarCost poseImage2ImageWeight alchemy "
    "contrastRatio highResolution expandedDomain promptMagicVersion unzoom unzoomAmount apiKeyId photoReal "
    "promptMagicStrength photoRealStrength imageToImage controlnetsUsed model images apiKey"
)
MODEL_KEYS = (
    "id createdAt updatedAt name description public userId flagged nsfw official status classPrompt coreModel "
    "initDatasetId instancePrompt sdVersion trainingEpoch trainingSteps tokenCost batchSize learningRate type "
    "modelHeight modelWidth leonardoInstancePrompt trainingStrength featured featuredImageId featuredPosition api "
    "favouriteCount imageCount enhancedModeration apiDollarCost apiKeyId modelLRN"
)
IMAGE_KEYS = "id createdAt updatedAt userId url generationId nobgId nsfw likeCount trendingScore public"
API_KEY_KEYS = "id createdAt userId key lastUsed name type webhookCallbackUrl webhookCallbackApiKey"


def make_generation(status: str = "COMPLETE") -> tuple[Generation, ApiKey]:
    moment = datetime(2023, 11, 9, 0, 42, 22, 707000)
    key = ApiKey(
        id="k-1", user_id="u-1", name="hooked", lookup_prefix="abcd1234", key_hash="0" * 64, concurrency=1,
        webhook_url="https://example.com/hook", webhook_api_key="abcd", created_at=moment,
    )  # fmt: skip
    generation = Generation(
        id="g-1", user_id="u-1", api_key_id="k-1", status=status, failure_reason=None, prompt="a cat",
        negative_prompt="", model_id=TINY_MODEL_ID, sd_version="v1_5", width=64, height=64, num_images=1,
        inference_steps=10, guidance_scale=7.0, seed=905778432, scheduler="EULER_DISCRETE", preset_style=None,
        alchemy=False, public=False, credit_cost=2, plan={}, created_at=moment, updated_at=moment,
    )  # fmt: skip
    generation.images = [
        GeneratedImage(id="i-1", position=0, blob_key="users/u-1/x.png", nsfw=False, created_at=moment)
    ]
    return generation, key


def build(status: str = "COMPLETE") -> dict[str, Any]:
    generation, key = make_generation(status)
    model = ModelCatalog.load().get(TINY_MODEL_ID)
    envelope = generation_envelope(
        generation, key, model, lambda blob: f"http://h:1/files/{blob}", datetime(2023, 11, 9, 0, 42, 26)
    )
    return dict(json.loads(serialize(envelope)))


def test_envelope_has_every_asyncapi_key_and_leonardo_types() -> None:
    body = build()
    assert set(ENVELOPE_KEYS.split()) <= set(body)
    assert (body["type"], body["object"], body["api_version"]) == ("image_generation.complete", "generation", "v1")
    assert body["timestamp"] == 1699490546000 and isinstance(body["timestamp"], int)
    generation = body["data"]["object"]
    assert set(GENERATION_KEYS.split()) <= set(generation)
    assert set(MODEL_KEYS.split()) <= set(generation["model"])
    assert set(API_KEY_KEYS.split()) <= set(generation["apiKey"])
    assert [set(IMAGE_KEYS.split()) <= set(image) for image in generation["images"]] == [True]
    assert generation["seed"] == "905778432"
    assert generation["createdAt"] == "2023-11-09T00:42:22.707Z"
    assert generation["images"][0]["createdAt"].endswith("Z")
    assert generation["images"][0]["url"] == "http://h:1/files/users/u-1/x.png"
    assert generation["status"] == "COMPLETE"
    assert generation["apiKey"]["webhookCallbackApiKey"] == "abcd"


def test_failed_envelope_has_no_images() -> None:
    generation = build("FAILED")["data"]["object"]
    assert generation["status"] == "FAILED" and generation["images"] == []


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
