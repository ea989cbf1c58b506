"""`sfumato serve` renders in a worker child process it supervises (issue #14): the server never
loads torch, a killed child is replaced and its job re-run, a killed server's child stops on its
own, DELETE reaches the child, and SFUMATO_WORKER_PROCESS=false keeps the threads in the server.
Processes are observed through /proc (Linux, `tests.support.processes`)."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, wait_for_generation
from tests.integration.test_reliability import create, read_only_db
from tests.support.polling import poll_until
from tests.support.processes import alive, children, loaded_torch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads processes from /proc")

# About a second of rendering on one CPU core: long enough to be seen RUNNING and killed mid-render.
LONG = {"width": 256, "height": 256, "num_inference_steps": 60}
READY = "serving every model"  # the worker's start-up line, in the server's log (the child shares it)


def server_pid(server: Server) -> int:
    assert server.process is not None
    return server.process.pid


def log_of(server: Server) -> str:
    assert server.log_path is not None
    return server.log_path.read_text(errors="replace")


def the_worker(server: Server, not_pid: int | None = None) -> int:
    """The server's one worker child once it serves (another than `not_pid`, after a restart)."""

    def started() -> int | None:
        pids = [pid for pid in children(server_pid(server)) if pid != not_pid]
        ready = log_of(server).count(READY) >= (1 if not_pid is None else 2)
        return pids[0] if len(pids) == 1 and ready else None

    pid = poll_until(started, 120, 0.05, "the server's worker child did not start")
    assert pid is not None  # poll_until returns only a truthy result
    return pid


def running_owner_pid(db: sqlite3.Connection, generation_id: str) -> int | None:
    """The pid in the lease owner (`host:pid:token`) of the generation's RUNNING job."""
    row = db.execute("SELECT state, lease_owner FROM jobs WHERE generation_id = ?", (generation_id,)).fetchone()
    return int(str(row[1]).rsplit(":", 2)[1]) if row is not None and row[0] == "RUNNING" else None


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("supervised"), env={"SFUMATO_WORKER_THREADS": "1"}).running() as server:
        yield server


@pytest.fixture(scope="module")
def api_key(supervised: Server) -> str:
    return str(supervised.create_key("supervised")["apiKey"])


def test_the_worker_is_a_child_process_and_the_server_never_loads_torch(supervised: Server, api_key: str) -> None:
    worker = the_worker(supervised)
    with supervised.http(api_key) as client, read_only_db(supervised) as db:
        generation_id = create(client, **LONG)
        owner = poll_until(lambda: running_owner_pid(db, generation_id), 120, 0.02, "the job never ran")
        assert wait_for_generation(client, generation_id)["status"] == "COMPLETE"
    assert owner == worker != server_pid(supervised)
    assert loaded_torch(worker)
    assert not loaded_torch(server_pid(supervised))
    assert httpx.get(f"{supervised.base_url}/healthz", timeout=10).json() == {"status": "ok", "worker": True}


def test_a_killed_worker_is_replaced_and_its_job_completes(supervised: Server, api_key: str) -> None:
    first = the_worker(supervised)
    answers: list[int] = []
    done = threading.Event()

    def keep_asking(client: httpx.Client, generation_id: str) -> None:
        """GETs all along the kill and the restart: the API must answer every one."""
        while not done.is_set():
            try:
                answers.append(client.get(f"/generations/{generation_id}", timeout=10).status_code)
            except httpx.HTTPError:
                answers.append(0)
            done.wait(0.05)

    with supervised.http(api_key) as client, read_only_db(supervised) as db:
        generation_id = create(client, **LONG)
        poll_until(lambda: running_owner_pid(db, generation_id) == first, 120, 0.02, "the job never ran")
        asker = threading.Thread(target=keep_asking, args=(supervised.http(api_key), generation_id))
        asker.start()
        try:
            os.kill(first, signal.SIGKILL)
            second = the_worker(supervised, not_pid=first)  # its start-up sweep re-queues the dead one's job
            finished = wait_for_generation(client, generation_id)
        finally:
            done.set()
            asker.join(30)
    assert not alive(first) and second != first
    assert finished["status"] == "COMPLETE" and len(finished["generated_images"]) == 1
    assert answers and set(answers) == {200}, answers
    assert f"worker process {first} exited" in log_of(supervised)
    assert "re-queued 1 job(s) whose worker died" in log_of(supervised)


def test_a_deleted_running_generation_stops_in_the_worker(supervised: Server, api_key: str) -> None:
    worker = the_worker(supervised)
    with supervised.http(api_key) as client, read_only_db(supervised) as db:
        long_id = create(client, width=1024, height=1024, num_inference_steps=60, num_images=2)
        poll_until(lambda: running_owner_pid(db, long_id) == worker, 120, 0.02, "the long job never ran")
        response = client.delete(f"/generations/{long_id}")
        assert response.json() == {"delete_generations_by_pk": {"id": long_id}}
        dropped = f"generation {long_id} was deleted or taken over while running; dropped"
        poll_until(lambda: dropped in log_of(supervised), 60, 0.05, "the worker did not drop the deleted job")
        assert db.execute("SELECT count(*) FROM jobs WHERE generation_id = ?", (long_id,)).fetchone() == (0,)
        next_id = create(client)
        assert wait_for_generation(client, next_id)["status"] == "COMPLETE"
    assert the_worker(supervised) == worker  # stopped in the child; the child itself lives on


def test_a_killed_server_s_worker_stops_on_its_own(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "1"})
    server.start()
    try:
        worker = the_worker(server)
        server.stop(signal.SIGKILL)
        poll_until(lambda: not alive(worker), 60, 0.1, f"the worker {worker} outlived its killed server")
        assert "the server that started this worker is gone; stopping" in log_of(server)
    finally:
        server.stop()
        if alive(worker):  # never leave an orphan behind, even when the assertion above failed
            os.kill(worker, signal.SIGKILL)


def test_worker_process_false_renders_in_the_server_itself(tmp_path: Path) -> None:
    env = {"SFUMATO_WORKER_THREADS": "1", "SFUMATO_WORKER_PROCESS": "false"}
    with Server(tmp_path, env=env).running() as server:
        key = server.create_key("in-process")["apiKey"]
        with server.http(key) as client, read_only_db(server) as db:
            generation_id = create(client, **LONG)
            owner = poll_until(lambda: running_owner_pid(db, generation_id), 120, 0.02, "the job never ran")
            assert wait_for_generation(client, generation_id)["status"] == "COMPLETE"
        assert owner == server_pid(server)
        assert children(server_pid(server)) == []
        assert loaded_torch(server_pid(server))
