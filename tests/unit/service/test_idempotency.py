"""`Idempotency-Key` on the create routes: a retry with the same key and body gets the first answer
(the same generation id), across a restart; another body is a 422; concurrent duplicates make one
generation; a create that failed does not hold the key. API-only apps: nothing renders."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sfumato.api.app import create_app
from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.store.tables import Generation

BODY = {"prompt": "a lighthouse", "modelId": TINY_MODEL_ID, "width": 64, "height": 64, "num_images": 1}


def _client(data_dir: Path, key: str | None = None) -> tuple[TestClient, str]:
    app = create_app(Settings(data_dir=data_dir, worker_threads=0))
    key = key or app.state.container.keys.create("ida", 10).api_key
    return TestClient(app, headers={"Authorization": f"Bearer {key}"}), key


def _generations(client: TestClient) -> int:
    with client.app.state.container.session_factory() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count(Generation.id))) or 0)


def _create(client: TestClient, body: dict[str, Any], key: str | None, route: str = "/api/rest/v1/generations") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(route, json=body, headers=headers)


def test_a_retry_gets_the_first_answer_even_after_a_restart(tmp_path: Path) -> None:
    client, api_key = _client(tmp_path)
    first = _create(client, BODY, "retry-1")
    assert first.status_code == 200, first.text
    again = _create(client, {**BODY}, "retry-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert _generations(client) == 1
    client.app.state.container.close()  # type: ignore[attr-defined]

    restarted, _ = _client(tmp_path, api_key)
    assert _create(restarted, BODY, "retry-1").json() == first.json()
    assert _generations(restarted) == 1
    other = _create(restarted, BODY, "retry-2")  # another key: another generation
    assert other.status_code == 200 and other.json() != first.json() and _generations(restarted) == 2
    unkeyed = [_create(restarted, BODY, None).json() for _ in range(2)]
    assert unkeyed[0] != unkeyed[1] and _generations(restarted) == 4


def test_the_same_key_with_another_body_or_route_is_a_422(tmp_path: Path) -> None:
    client, _ = _client(tmp_path)
    assert _create(client, BODY, "k").status_code == 200
    changed = _create(client, {**BODY, "prompt": "a cat"}, "k")
    assert changed.status_code == 422
    assert changed.json()["code"] == "validation-failed" and "Idempotency-Key" in changed.json()["error"]
    v2 = _create(client, {"model": "sfumato-tiny", "parameters": {"prompt": "a cat"}}, "k", "/api/rest/v2/generations")
    assert v2.status_code == 422
    assert _generations(client) == 1


def test_concurrent_duplicates_make_one_generation(tmp_path: Path) -> None:
    client, _ = _client(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _create(client, BODY, "burst"), range(8)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.text for answer in answers}) == 1
    assert _generations(client) == 1


def test_a_failed_create_does_not_hold_the_key_and_a_bad_key_is_refused(tmp_path: Path) -> None:
    client, _ = _client(tmp_path)
    refused = _create(client, {**BODY, "width": 7}, "fixed-later")
    assert refused.status_code == 400
    assert _create(client, {**BODY, "width": 7}, "fixed-later").status_code == 400  # runs again: same refusal
    assert _create(client, BODY, "fixed-later").status_code == 200  # not held by the failed body
    too_long = _create(client, BODY, "x" * 256)
    assert too_long.status_code == 400 and "Idempotency-Key" in too_long.json()["error"]
