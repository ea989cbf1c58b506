"""`GET /generations/{id}/events`: a client receives the progress of a generation rendered by the
server's worker process (another process than the API's) in order, its images, then `complete`;
reconnecting with Last-Event-ID resumes after that event; the end once received is a 204; another
user's generation is a 404."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.conftest import Server, tiny_request, to_wire

# The embedded server (its worker is a child process) and the scale-out deployment (Celery workers, PostgreSQL).
pytestmark = pytest.mark.both_modes

STEPS = 40


def _events(client: httpx.Client, generation_id: str, last_event_id: str | None = None) -> list[ServerSentEvent]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with connect_sse(client, "GET", f"/generations/{generation_id}/events", headers=headers, timeout=120) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return list(source.iter_sse())


def _order(event_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in event_id.split("."))


def test_progress_arrives_in_order_then_the_images_and_complete(server: Server, alice: dict[str, Any]) -> None:
    with server.http(alice["apiKey"]) as client:
        body = to_wire(tiny_request(num_inference_steps=STEPS, num_images=2, width=128, height=128))
        generation_id = client.post("/generations", json=body).json()["sdGenerationJob"]["generationId"]
        events = _events(client, generation_id)

    names = [event.event for event in events]
    assert names[0] == "status" and json.loads(events[0].data)["status"] == "PENDING"
    assert names[-1] == "complete" and names[-3:-1] == ["image", "image"]
    ids = [_order(event.id) for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # strictly increasing: resumable
    steps = [json.loads(event.data)["step"] for event in events if event.event == "progress"]
    running = [step for step in steps if step > 0]
    assert running, "no step of the render was reported"
    assert running == sorted(running) and running[-1] == STEPS
    totals = {json.loads(event.data)["total"] for event in events if event.event == "progress" and event.data}
    assert STEPS in totals
    images = [json.loads(event.data) for event in events if event.event == "image"]
    with server.http(alice["apiKey"]) as client:
        shown = client.get(f"/generations/{generation_id}").json()["generations_by_pk"]
    assert [image["id"] for image in images] == [image["id"] for image in shown["generated_images"]]
    assert httpx.get(images[0]["url"], timeout=30).status_code == 200

    # Reconnecting after the first image: only the second image and the end.
    first_image = next(event for event in events if event.event == "image")
    with server.http(alice["apiKey"]) as client:
        resumed = _events(client, generation_id, first_image.id)
        assert [event.event for event in resumed] == ["image", "complete"]
        ended = client.get(f"/generations/{generation_id}/events", headers={"Last-Event-ID": events[-1].id})
        assert ended.status_code == 204  # the client has the end: EventSource stops reconnecting


def test_another_users_generation_is_not_found(server: Server, alice: dict[str, Any], bob: dict[str, Any]) -> None:
    with server.http(alice["apiKey"]) as client:
        generation_id = client.post("/generations", json=to_wire(tiny_request())).json()["sdGenerationJob"][
            "generationId"
        ]
    with server.http(bob["apiKey"]) as client:
        answer = client.get(f"/generations/{generation_id}/events")
    assert answer.status_code == 404 and answer.json()["code"] == "not-found"
    with server.http(None) as anonymous:
        assert anonymous.get(f"/generations/{generation_id}/events").status_code == 401
