"""Per-key concurrency and fairness, 429 limits, leases and retries, crash recovery and cancelling
a running generation: each against a real server and its real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Server, tiny_request, to_wire, wait_for_generation
from tests.support.models import broken_model_catalog
from tests.support.polling import poll_until
from tests.support.processes import crash
from tests.support.receiver import Receiver

# Slow enough per job (a fraction of a second on one CPU core) that RUNNING is observable.
MEDIUM = {"width": 256, "height": 256, "num_inference_steps": 30}
BROKEN_MODEL_ID = "0badbad0-0000-4000-8000-000000000001"


def body(**overrides: Any) -> dict[str, Any]:
    """The tiny request in the wire's camelCase modelId (the SDK's snake_case is for the SDK)."""
    return to_wire(tiny_request(**overrides))


@contextmanager
def read_only_db(server: Server) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{server.data_dir / 'sfumato.db'}?mode=ro", uri=True, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def job_states(db: sqlite3.Connection) -> list[tuple[str, str]]:
    """(api_key_id, state) of every job row, as the worker sees them."""
    return [(str(k), str(s)) for k, s in db.execute("SELECT api_key_id, state FROM jobs")]


def create(client: httpx.Client, **overrides: Any) -> str:
    response = client.post("/generations", json=body(**overrides))
    assert response.status_code == 200, response.text
    return str(response.json()["sdGenerationJob"]["generationId"])


def image_files(server: Server, user_id: str, generation_id: str) -> list[Path]:
    folder = server.data_dir / "images" / "users" / user_id / "generations" / generation_id
    return sorted(folder.glob("*.png")) if folder.exists() else []


# --- per-key concurrency and fairness --------------------------------------------------------


def test_key_never_runs_more_than_its_concurrency(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "3"})
    server.start()
    try:
        key = server.create_key("capped", "--concurrency", "2")
        with server.http(key["apiKey"]) as client, read_only_db(server) as db:
            ids = [create(client, seed=i, **MEDIUM) for i in range(10)]
            running_seen: list[int] = []

            def all_finished() -> bool:
                states = [s for k, s in job_states(db) if k == key["apiKeyId"]]
                running_seen.append(states.count("RUNNING"))
                return all(s in ("DONE", "FAILED") for s in states)

            poll_until(all_finished, timeout_s=300, interval_s=0.01, message="the key's 10 jobs did not finish")
            max_running = max(running_seen)
            assert [wait_for_generation(client, i)["status"] for i in ids] == ["COMPLETE"] * 10
        print(f"max RUNNING seen for a key with concurrency 2 and 3 worker threads: {max_running}")
        assert max_running == 2  # reached, never exceeded
    finally:
        server.stop()


def test_another_keys_single_job_is_not_starved_by_a_long_queue(tmp_path: Path) -> None:
    # Two worker threads, both busy with the first key: the second key's job must take the next free
    # slot (it has 0 running) instead of waiting behind the first key's whole queue.
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "2"})
    server.start()
    try:
        busy = server.create_key("busy", "--concurrency", "2")
        single = server.create_key("single")
        with server.http(busy["apiKey"]) as busy_client, server.http(single["apiKey"]) as single_client:
            busy_ids = [create(busy_client, seed=i, **MEDIUM) for i in range(10)]
            single_id = create(single_client, **MEDIUM)
            with read_only_db(server) as db:

                def rows_once_single_started() -> list[tuple[str, str]] | None:
                    rows = job_states(db)
                    return None if next(s for k, s in rows if k == single["apiKeyId"]) == "QUEUED" else rows

                rows = poll_until(rows_once_single_started, 300, 0.01, "the single key's job never started")
            busy_queued = sum(1 for k, s in rows if k == busy["apiKeyId"] and s == "QUEUED")
            assert wait_for_generation(single_client, single_id)["status"] == "COMPLETE"
            assert [wait_for_generation(busy_client, i)["status"] for i in busy_ids] == ["COMPLETE"] * 10
        print(f"the other key's job started while the busy key still had {busy_queued} queued")
        assert busy_queued >= 5
    finally:
        server.stop()


# --- limits: 429 with Retry-After ------------------------------------------------------------


def assert_too_many(response: httpx.Response, max_retry_after_s: int) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= max_retry_after_s
    payload = response.json()
    assert list(payload) == ["error", "path", "code"]
    assert payload["path"] == "$" and payload["code"] == "unexpected"


def test_queue_cap_answers_429_and_frees_as_the_queue_shrinks(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0", "SFUMATO_KEY_QUEUE_CAP": "3"})
    server.start()
    try:
        key, other = server.create_key("queue"), server.create_key("other")
        with server.http(key["apiKey"]) as client, server.http(other["apiKey"]) as other_client:
            ids = [create(client) for _ in range(3)]
            response = client.post("/generations", json=body())
            assert_too_many(response, 60)
            assert "pending" in response.json()["error"]
            create(other_client)  # the cap is per key
            client.delete(f"/generations/{ids[0]}")
            create(client)  # a slot in the queue freed
    finally:
        server.stop()


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0", "SFUMATO_KEY_RATE_PER_MINUTE": "3"})
    server.start()
    try:
        key, other = server.create_key("rate"), server.create_key("other")
        with server.http(key["apiKey"]) as client, server.http(other["apiKey"]) as other_client:
            first = create(client)
            assert client.delete(f"/generations/{first}").status_code == 200  # deleting gives no room back
            for _ in range(2):
                create(client)
            response = client.post("/generations", json=body())
            assert_too_many(response, 60)
            assert "rate limit" in response.json()["error"]
            create(other_client)  # the rate is per key
    finally:
        server.stop()


# --- failures, crashes and recovery ----------------------------------------------------------


def test_failing_pipeline_is_retried_then_fails_with_its_reason(tmp_path: Path) -> None:
    # A genuine failure: the operator catalog points a model at a folder whose model_index.json is
    # not a diffusers pipeline, so loading it raises inside the job on every attempt.
    catalog = broken_model_catalog(tmp_path, BROKEN_MODEL_ID)
    env = {"SFUMATO_CATALOG_FILE": str(catalog), "SFUMATO_JOB_MAX_ATTEMPTS": "2", "SFUMATO_JOB_POLL_INTERVAL_S": "0.2"}
    server = Server(tmp_path / "data", env=env)
    server.start()
    try:
        key = server.create_key("failing")
        with server.http(key["apiKey"]) as client:
            failed_id = create(client, model_id=BROKEN_MODEL_ID)
            failed = wait_for_generation(client, failed_id)
            assert failed["status"] == "FAILED"
            assert failed["generated_images"] == []
            ok_id = create(client)  # the worker survived the failures
            assert wait_for_generation(client, ok_id)["status"] == "COMPLETE"
        with read_only_db(server) as db:
            attempts, last_error = db.execute(
                "SELECT attempts, last_error FROM jobs WHERE generation_id = ?", (failed_id,)
            ).fetchone()
            (reason,) = db.execute("SELECT failure_reason FROM generations WHERE id = ?", (failed_id,)).fetchone()
        assert attempts == 2
        assert last_error and reason == last_error
        assert "broken-model" in reason or "Error" in reason
    finally:
        server.stop()


def submit_and_kill_while_running(server: Server, api_key: str, count: int, num_images: int) -> list[str]:
    with server.http(api_key) as client, read_only_db(server) as db:
        ids = [create(client, seed=i, num_images=num_images, **MEDIUM) for i in range(count)]
        poll_until(lambda: any(s == "RUNNING" for _k, s in job_states(db)), 120, 0.02, "no job started RUNNING")
    # The server and the worker child that runs the jobs: a server killed alone lets its child hand
    # them back (tests/integration/test_worker_process.py), which is no crash of the worker.
    assert server.process is not None
    crash(server.process.pid)
    server.stop()
    return ids


def test_sigkilled_server_recovers_every_generation_and_notifies_once_per_body(tmp_path: Path) -> None:
    """The issue's crash test: 30 generations, SIGKILL while some run, restart: all 30 COMPLETE
    with one image set each; every webhook arrives at least once, never with two bodies."""
    receiver = Receiver()
    fast_hooks = {"SFUMATO_WEBHOOK_BACKOFF_SCALE": "0.01", "SFUMATO_WEBHOOK_POLL_INTERVAL_S": "0.05"}
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "2", **fast_hooks})
    server.start()
    try:
        key = server.create_key("crash", "--allow-private-webhook", "--webhook-url", receiver.url)
        ids = submit_and_kill_while_running(server, key["apiKey"], count=30, num_images=2)
        with read_only_db(server) as db:
            running_at_kill = sum(1 for _k, s in job_states(db) if s == "RUNNING")
        assert running_at_kill >= 1  # the kill really left jobs RUNNING under a dead process's lease

        server.start()  # same data dir; the lease (600 s) has not lapsed: the dead pid is the cue
        with server.http(key["apiKey"]) as client:
            done = [wait_for_generation(client, i, timeout_s=300) for i in ids]
        assert [d["status"] for d in done] == ["COMPLETE"] * 30
        assert all(len(d["generated_images"]) == 2 for d in done)
        assert all(len(image_files(server, key["userId"], i)) == 2 for i in ids)

        def every_generation_notified() -> bool:
            return len({json.loads(r.body)["data"]["object"]["id"] for r in receiver.requests}) >= 30

        poll_until(every_generation_notified, 120, 0.02, "not every generation's webhook arrived")
        bodies: dict[str, set[bytes]] = {}
        for request in receiver.requests:
            bodies.setdefault(json.loads(request.body)["data"]["object"]["id"], set()).add(request.body)
        assert set(bodies) == set(ids)
        assert all(len(variants) == 1 for variants in bodies.values())
        print(f"{running_at_kill} job(s) RUNNING at SIGKILL; 30/30 COMPLETE; {len(receiver.requests)} webhooks")
    finally:
        server.stop()
        receiver.close()


def test_job_whose_worker_died_too_often_ends_failed(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "1", "SFUMATO_JOB_MAX_ATTEMPTS": "1"})
    server.start()
    key = server.create_key("fragile")
    ids = submit_and_kill_while_running(server, key["apiKey"], count=3, num_images=1)
    with read_only_db(server) as db:
        died = {str(g) for (g,) in db.execute("SELECT generation_id FROM jobs WHERE state = 'RUNNING'")}
    assert len(died) == 1

    server.start()
    try:
        with server.http(key["apiKey"]) as client:
            done = {i: wait_for_generation(client, i) for i in ids}
        for generation_id, generation in done.items():
            if generation_id in died:
                assert generation["status"] == "FAILED"
                assert generation["generated_images"] == []
            else:
                assert generation["status"] == "COMPLETE"
        with read_only_db(server) as db:
            reasons = [r for (r,) in db.execute("SELECT failure_reason FROM generations WHERE status = 'FAILED'")]
        assert reasons == ["worker died 1 times"]
    finally:
        server.stop()


# --- DELETE of a running generation ------------------------------------------------------------


def test_delete_interrupts_a_running_generation_and_frees_its_slot(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "1"})
    server.start()
    try:
        key = server.create_key("deleter", "--concurrency", "1")
        with server.http(key["apiKey"]) as client, read_only_db(server) as db:
            long_id = create(client, width=1024, height=1024, num_inference_steps=60, num_images=2)
            next_id = create(client)

            def long_running() -> bool:
                row = db.execute("SELECT state FROM jobs WHERE generation_id = ?", (long_id,)).fetchone()
                return row is not None and row[0] == "RUNNING"

            poll_until(long_running, 120, 0.02, "the long generation never started RUNNING")
            response = client.delete(f"/generations/{long_id}")
            assert response.json() == {"delete_generations_by_pk": {"id": long_id}}
            assert wait_for_generation(client, next_id)["status"] == "COMPLETE"  # the slot freed
            assert client.get(f"/generations/{long_id}").json() == {"generations_by_pk": None}
        assert image_files(server, key["userId"], long_id) == []
        assert server.log_path is not None
        log = server.log_path.read_text()
        assert f"generation {long_id} was deleted or taken over while running; dropped" in log
    finally:
        server.stop()
