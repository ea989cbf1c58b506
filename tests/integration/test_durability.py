"""Accepted jobs survive load and restarts: all of them end COMPLETE."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.conftest import TINY_MODEL_ID, Server, wait_for_generation

BODY = {"prompt": "a boat", "modelId": TINY_MODEL_ID, "width": 64, "height": 64, "num_images": 1,
        "num_inference_steps": 10, "alchemy": False}  # fmt: skip


def submit(server: Server, api_key: str, count: int) -> list[str]:
    def one(index: int) -> str:
        with server.http(api_key) as client:
            response = client.post("/generations", json={**BODY, "seed": index})
            assert response.status_code == 200, response.text
            return str(response.json()["sdGenerationJob"]["generationId"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_concurrent_submissions_all_complete(server: Server) -> None:
    key = server.create_key("burst")
    ids = submit(server, key["apiKey"], 50)
    assert len(set(ids)) == 50
    with server.http(key["apiKey"]) as client:
        statuses = [wait_for_generation(client, i, timeout_s=300)["status"] for i in ids]
    assert statuses == ["COMPLETE"] * 50


def test_pending_jobs_run_after_restart(tmp_path: Path) -> None:
    # First life: the API accepts work but has no worker (as if it stopped before running it).
    first = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0"})
    first.start()
    key = first.create_key("restart")
    ids = submit(first, key["apiKey"], 5)
    with first.http(key["apiKey"]) as client:
        assert {client.get(f"/generations/{i}").json()["generations_by_pk"]["status"] for i in ids} == {"PENDING"}
    first.stop(signal.SIGKILL)

    second = Server(tmp_path, port=first.port)
    second.start()
    try:
        with second.http(key["apiKey"]) as client:
            assert [wait_for_generation(client, i)["status"] for i in ids] == ["COMPLETE"] * 5
    finally:
        second.stop()


def test_jobs_interrupted_by_shutdown_complete_after_restart(tmp_path: Path) -> None:
    server = Server(tmp_path)
    server.start()
    key = server.create_key("graceful")
    ids = submit(server, key["apiKey"], 8)
    server.stop(signal.SIGTERM)  # mid-queue: running job is interrupted and re-queued

    server.start()
    try:
        with server.http(key["apiKey"]) as client:
            done = [wait_for_generation(client, i) for i in ids]
        assert [d["status"] for d in done] == ["COMPLETE"] * 8
        assert all(len(d["generated_images"]) == 1 for d in done)
        for d in done:
            assert httpx.get(d["generated_images"][0]["url"]).status_code == 200
    finally:
        server.stop()
