"""Faults end jobs quickly and truthfully: an image that cannot be written, a burst at a key's
limits, a database that stays busy. Each against a real server, with real faults (a file in the
way on the real filesystem, a real SQLite write lock held from this process), no mocks."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Server, tiny_request, to_wire, wait_for_generation

# Well below the 600 s lease: a job that waited for its lease to lapse could not finish in time.
FAST_S = 60
# Leonardo's file names, `<Model_Name>_<prompt words>_<i>.png`, for the tiny request's prompt.
SECOND_IMAGE = "Sfumato_Tiny_a_lighthouse_at_dusk_1.png"


def body(**overrides: Any) -> dict[str, Any]:
    return to_wire(tiny_request(**overrides))


def create(client: httpx.Client, **overrides: Any) -> str:
    response = client.post("/generations", json=body(**overrides))
    assert response.status_code == 200, response.text
    return str(response.json()["sdGenerationJob"]["generationId"])


def job_row(server: Server, generation_id: str) -> tuple[int, str | None]:
    """(attempts, last_error) of a generation's job, read-only from the server's SQLite file."""
    db = sqlite3.connect(f"file:{server.data_dir / 'sfumato.db'}?mode=ro", uri=True, timeout=30)
    try:
        attempts, last_error = db.execute(
            "SELECT attempts, last_error FROM jobs WHERE generation_id = ?", (generation_id,)
        ).fetchone()
    finally:
        db.close()
    return int(attempts), last_error


def generation_folder(server: Server, user_id: str, generation_id: str) -> Path:
    return server.data_dir / "images" / "users" / user_id / "generations" / generation_id


# --- an image that cannot be written ---------------------------------------------------------


def test_an_image_that_cannot_be_written_fails_at_once_with_its_reason_and_frees_the_slot(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_JOB_MAX_ATTEMPTS": "3", "SFUMATO_JOB_POLL_INTERVAL_S": "0.2"})
    server.start()
    try:
        key = server.create_key("writer", "--concurrency", "1")
        # A regular file where the user's image folder must go: the blob store's mkdir fails (even as root).
        in_the_way = server.data_dir / "images" / "users" / key["userId"]
        in_the_way.parent.mkdir(parents=True, exist_ok=True)
        in_the_way.write_text("not a folder")
        sdk = server.sdk(key["apiKey"])
        failed_id = sdk.image.create_generation(request=tiny_request()).object.sd_generation_job.generation_id
        with server.http(key["apiKey"]) as client:
            failed = wait_for_generation(client, failed_id, timeout_s=FAST_S)
            assert failed["status"] == "FAILED"
            assert failed["generated_images"] == []
            reason = failed["failureReason"]
            assert reason == "storing image 0 failed: NotADirectoryError: Not a directory"
            assert str(tmp_path) not in reason  # the server's paths never reach a client
            assert job_row(server, failed_id) == (3, reason)  # every attempt was used, at once

            in_the_way.unlink()
            ok_id = create(client)  # the key's one slot was freed by the failure
            done = wait_for_generation(client, ok_id, timeout_s=FAST_S)
            assert done["status"] == "COMPLETE" and len(done["generated_images"]) == 1
        assert [p.name for p in generation_folder(server, key["userId"], ok_id).iterdir()] == [
            "Sfumato_Tiny_a_lighthouse_at_dusk_0.png"
        ]
    finally:
        server.stop()


def test_a_write_that_fails_midway_leaves_no_partial_files_and_is_retried_at_once(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0"})
    server.start()
    key = server.create_key("partial")
    with server.http(key["apiKey"]) as client:
        generation_id = create(client, num_images=2)
    server.stop()
    # A folder where the second image's file goes: image 0 is written, then image 1's rename fails.
    folder = generation_folder(server, key["userId"], generation_id)
    (folder / SECOND_IMAGE).mkdir(parents=True)

    server.env["SFUMATO_WORKER_THREADS"] = "1"
    server.start()
    try:
        with server.http(key["apiKey"]) as client:
            done = wait_for_generation(client, generation_id, timeout_s=FAST_S)
        assert done["status"] == "COMPLETE" and len(done["generated_images"]) == 2
        # The failed attempt removed what it had written (image 0, the temp file, the obstacle with
        # them), so the retry at once wrote one clean set.
        assert sorted(p.name for p in folder.iterdir()) == ["Sfumato_Tiny_a_lighthouse_at_dusk_0.png", SECOND_IMAGE]
        assert all(p.is_file() for p in folder.iterdir())
        assert job_row(server, generation_id) == (2, None)
        assert server.log_path is not None
        assert "storing image 1 failed: IsADirectoryError: Is a directory" in server.log_path.read_text()
    finally:
        server.stop()


# --- a burst at a key's limits -----------------------------------------------------------------


def burst(servers: Sequence[Server], api_key: str, count: int) -> list[httpx.Response]:
    """`count` POST /generations at once, each from its own thread and client (its connection
    opened beforehand), spread over `servers`."""
    barrier = threading.Barrier(count)

    def post(index: int) -> httpx.Response:
        with servers[index % len(servers)].http(api_key) as client:
            assert client.get("/me").status_code == 200
            barrier.wait(timeout=120)
            return client.post("/generations", json=body(seed=index))

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, range(count)))


def assert_at_most(responses: list[httpx.Response], limit: int, refusal: str) -> list[str]:
    """Exactly `limit` accepted; every other answer a 429 (or 503) with Retry-After and Leonardo's
    body, the 429s naming `refusal`. Returns the accepted generation ids."""
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    print(f"{len(accepted)} accepted, statuses refused: {sorted({r.status_code for r in refused})}")
    for response in refused:
        assert response.status_code in (429, 503), response.text
        assert int(response.headers["Retry-After"]) >= 1
        payload = response.json()
        assert list(payload) == ["error", "path", "code"] and payload["code"] == "unexpected"
        if response.status_code == 429:
            assert refusal in payload["error"]
    assert len(accepted) == limit
    return [str(r.json()["sdGenerationJob"]["generationId"]) for r in accepted]


def check_burst_limits(servers: Sequence[Server]) -> None:
    """Against a queue cap of 15 and a rate of 20 a minute, with nothing finishing: a burst of 45
    gets exactly 15 in (the queue binds); those deleted, a second burst gets exactly 5 (the rate)."""
    key = servers[0].create_key("burst")
    queued = assert_at_most(burst(servers, key["apiKey"], 45), 15, "pending")
    with servers[0].http(key["apiKey"]) as client:
        for generation_id in queued:
            assert client.delete(f"/generations/{generation_id}").status_code == 200
    assert_at_most(burst(servers, key["apiKey"], 45), 5, "rate limit")


BURST_LIMITS = {"SFUMATO_WORKER_THREADS": "0", "SFUMATO_KEY_QUEUE_CAP": "15", "SFUMATO_KEY_RATE_PER_MINUTE": "20"}


def test_a_burst_gets_at_most_the_queue_cap_then_the_rate_limit(tmp_path: Path) -> None:
    server = Server(tmp_path, env=BURST_LIMITS)
    server.start()
    try:
        check_burst_limits([server])
    finally:
        server.stop()


# --- a busy database -------------------------------------------------------------------------


def test_a_database_busy_past_its_timeout_answers_503_with_retry_after(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0", "SFUMATO_DATABASE_BUSY_TIMEOUT_S": "0.5"})
    server.start()
    holder = sqlite3.connect(server.data_dir / "sfumato.db", isolation_level=None, timeout=30)
    try:
        key = server.create_key("patient")
        with server.http(key["apiKey"]) as client:  # its 30 s timeout is this test's deadline
            create(client)
            holder.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held by another process
            try:
                response = client.post("/generations", json=body())
            finally:
                holder.execute("ROLLBACK")
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "1"
            assert response.headers["content-type"].startswith("application/json")
            assert response.json() == {
                "error": "the database is busy; retry shortly",
                "path": "$",
                "code": "unexpected",
            }
            create(client)  # the lock released, the same connection works again
        assert server.log_path is not None
        log = server.log_path.read_text()
        assert "database busy or unavailable on POST /api/rest/v1/generations: database is locked" in log
        assert "Traceback" not in log
    finally:
        holder.close()
        server.stop()
