"""Completion webhooks end to end: a real server, a real HTTP receiver on 127.0.0.1 (the only
fake, at the edge), Leonardo's envelope, Standard Webhooks signatures, retries and restarts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TINY_MODEL_ID, Server, run_cli, tiny_request, wait_for_generation
from tests.support.models import broken_model_catalog
from tests.support.polling import poll_until
from tests.support.receiver import Received, Receiver

BROKEN_MODEL_ID = "0badc0de-0000-4000-8000-000000000001"
FAST_RETRIES = {"SFUMATO_WEBHOOK_BACKOFF_SCALE": "0.01", "SFUMATO_WEBHOOK_POLL_INTERVAL_S": "0.05"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def hook_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with compressed retries and one model whose weights are genuinely broken."""
    root = tmp_path_factory.mktemp("webhooks")
    catalog = broken_model_catalog(root, BROKEN_MODEL_ID)
    with Server(root / "data", env={**FAST_RETRIES, "SFUMATO_CATALOG_FILE": str(catalog)}).running() as instance:
        yield instance


def generate(server: Server, api_key: str, **overrides: Any) -> dict[str, Any]:
    request = tiny_request(**overrides)
    body = {"prompt": request["prompt"], "modelId": request["model_id"], "width": 64, "height": 64,
            "num_images": 1, "num_inference_steps": 10, "alchemy": False}  # fmt: skip
    with server.http(api_key) as client:
        response = client.post("/generations", json=body)
        assert response.status_code == 200, response.text
        return wait_for_generation(client, response.json()["sdGenerationJob"]["generationId"])


def verify_signature(secret: str, received: Received) -> None:
    """An independent Standard Webhooks check, as a receiver would write it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{received.headers['webhook-id']}.{received.headers['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in received.headers["webhook-signature"].split(" ")


def deliveries(server: Server) -> list[dict[str, Any]]:
    with sqlite3.connect(server.data_dir / "sfumato.db") as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM webhook_deliveries ORDER BY created_at").fetchall()
        result = []
        for row in rows:
            attempts = db.execute(
                "SELECT status_code FROM webhook_attempts WHERE delivery_id = ? ORDER BY id", (row["id"],)
            ).fetchall()
            result.append({**dict(row), "history": [a[0] for a in attempts]})
        return result


def wait_for_state(server: Server, delivery_id: str, state: str, timeout_s: float = 60) -> dict[str, Any]:
    def in_state() -> dict[str, Any] | None:
        return next((d for d in deliveries(server) if d["id"] == delivery_id and d["state"] == state), None)

    return poll_until(in_state, timeout_s, 0.05, f"delivery {delivery_id} not {state}")


def test_complete_generation_delivers_leonardo_envelope(hook_server: Server, receiver: Receiver) -> None:
    key = hook_server.create_key(
        "hook-ok", "--allow-private-webhook", "--webhook-url", receiver.url, "--webhook-api-key", "abcd"
    )
    assert key["webhookSecret"].startswith("whsec_")
    generation = generate(hook_server, key["apiKey"])
    assert generation["status"] == "COMPLETE"

    [request] = receiver.wait_for(1)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer abcd"
    assert request.headers["user-agent"].startswith("Sfumato/")
    verify_signature(key["webhookSecret"], request)
    body = json.loads(request.body)
    assert (body["type"], body["object"], body["api_version"]) == ("image_generation.complete", "generation", "v1")
    assert isinstance(body["timestamp"], int)
    obj = body["data"]["object"]
    assert obj["id"] == generation["id"] and obj["status"] == "COMPLETE"
    assert obj["seed"] == str(generation["seed"]) and obj["createdAt"].endswith("Z")
    assert obj["modelId"] == TINY_MODEL_ID and obj["apiKeyId"] == key["apiKeyId"]
    assert obj["apiKey"]["webhookCallbackUrl"] == receiver.url
    [image] = obj["images"]
    assert image["url"] == generation["generated_images"][0]["url"]
    assert httpx.get(image["url"]).status_code == 200  # absolute and served
    wait_for_state(hook_server, request.headers["webhook-id"], "DELIVERED")


def test_without_webhook_secret_header_is_absent_when_no_api_key(hook_server: Server, receiver: Receiver) -> None:
    key = hook_server.create_key("hook-nobearer", "--allow-private-webhook", "--webhook-url", receiver.url)
    generate(hook_server, key["apiKey"])
    [request] = receiver.wait_for(1)
    assert "authorization" not in request.headers
    verify_signature(key["webhookSecret"], request)


def test_retries_resend_identical_bytes_until_2xx(hook_server: Server, receiver: Receiver) -> None:
    receiver.script = [503, 503, 503]
    key = hook_server.create_key("hook-retry", "--allow-private-webhook", "--webhook-url", receiver.url)
    generate(hook_server, key["apiKey"])

    requests = receiver.wait_for(4)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1
    for request in requests:
        verify_signature(key["webhookSecret"], request)
    delivery_id = requests[0].headers["webhook-id"]
    row = wait_for_state(hook_server, delivery_id, "DELIVERED")
    assert row["attempts"] == 4 and row["history"] == [503, 503, 503, 200]

    listing = run_cli(hook_server.data_dir, "webhooks", "list", "--state", "delivered", env=hook_server.env)
    assert delivery_id in listing.stdout and "503 503 503 200" in listing.stdout
    as_json = run_cli(hook_server.data_dir, "webhooks", "list", "--json", env=hook_server.env)
    [listed] = [d for d in json.loads(as_json.stdout) if d["id"] == delivery_id]
    assert (listed["state"], listed["attempts"], listed["lastStatus"]) == ("DELIVERED", 4, 200)
    assert listed["url"] == receiver.url
    assert [a["statusCode"] for a in listed["history"]] == [503, 503, 503, 200]
    assert listed["generationId"] == json.loads(requests[0].body)["data"]["object"]["id"]


def test_410_gives_up_and_manual_retry_resends(hook_server: Server, receiver: Receiver) -> None:
    receiver.script = [410]
    key = hook_server.create_key("hook-gone", "--allow-private-webhook", "--webhook-url", receiver.url)
    generate(hook_server, key["apiKey"])
    [first] = receiver.wait_for(1)
    delivery_id = first.headers["webhook-id"]
    row = wait_for_state(hook_server, delivery_id, "GAVE_UP")
    assert row["history"] == [410]
    time.sleep(1.0)  # many scaled retry delays: nothing more may arrive
    assert len(receiver.requests) == 1

    listing = run_cli(hook_server.data_dir, "webhooks", "list", "--state", "GAVE_UP", env=hook_server.env)
    assert delivery_id in listing.stdout
    run_cli(hook_server.data_dir, "webhooks", "retry", delivery_id, env=hook_server.env)
    second = receiver.wait_for(2)[1]
    assert second.headers["webhook-id"] == delivery_id and second.body == first.body
    assert wait_for_state(hook_server, delivery_id, "DELIVERED")["history"] == [410, 200]


def test_failed_generation_notifies_too(hook_server: Server, receiver: Receiver) -> None:
    key = hook_server.create_key("hook-fail", "--allow-private-webhook", "--webhook-url", receiver.url)
    generation = generate(hook_server, key["apiKey"], model_id=BROKEN_MODEL_ID)
    assert generation["status"] == "FAILED"
    [request] = receiver.wait_for(1)
    verify_signature(key["webhookSecret"], request)
    obj = json.loads(request.body)["data"]["object"]
    assert body_type(request) == "image_generation.complete"
    assert obj["id"] == generation["id"] and obj["status"] == "FAILED" and obj["images"] == []


def body_type(request: Received) -> str:
    return str(json.loads(request.body)["type"])


def test_pending_deliveries_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.default = 503
    first = Server(tmp_path, env=FAST_RETRIES)
    first.start()
    key = first.create_key("hook-restart", "--allow-private-webhook", "--webhook-url", receiver.url)
    generate(first, key["apiKey"])
    receiver.wait_for(2)  # failing, with retries scheduled
    first.stop()
    [row] = deliveries(first)
    assert row["state"] == "PENDING"
    sent_before = len(receiver.requests)

    receiver.default = 200
    second = Server(tmp_path, env=FAST_RETRIES, port=first.port)
    second.start()
    try:
        requests = receiver.wait_for(sent_before + 1)
        assert {r.headers["webhook-id"] for r in requests} == {row["id"]}
        assert len({r.body for r in requests}) == 1
        done = wait_for_state(second, row["id"], "DELIVERED")
        assert done["history"][-1] == 200 and done["attempts"] == len(done["history"])
    finally:
        second.stop()
