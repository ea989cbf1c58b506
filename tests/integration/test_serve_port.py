"""A second `sfumato serve` on a busy port stops at once, before its worker claims a job; two
servers on one data dir (different ports) share the queue as before."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import Server, tiny_request, to_wire, wait_for_generation
from tests.support.fake_hub import CLOSED_HUB_URL


def job_row(data_dir: Path, generation_id: str) -> tuple[str, int, str | None]:
    with sqlite3.connect(f"file:{data_dir / 'sfumato.db'}?mode=ro", uri=True, timeout=30) as db:
        state, attempts, owner = db.execute(
            "SELECT state, attempts, lease_owner FROM jobs WHERE generation_id = ?", (generation_id,)
        ).fetchone()
    return str(state), int(attempts), owner


def test_busy_port_stops_a_second_server_before_it_claims_a_job(tmp_path: Path) -> None:
    api_only = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0"})
    api_only.start()
    try:
        key = api_only.create_key("queued")
        with api_only.http(key["apiKey"]) as client:
            response = client.post("/generations", json=to_wire(tiny_request()))
            assert response.status_code == 200, response.text
            generation_id = response.json()["sdGenerationJob"]["generationId"]
            assert client.get(f"/generations/{generation_id}").json()["generations_by_pk"]["status"] == "PENDING"

        env = {**os.environ, "SFUMATO_TORCH_THREADS": "1", "SFUMATO_HUB_ENDPOINT": CLOSED_HUB_URL}
        second = subprocess.run(  # a worker, on the same data dir and the first server's port
            [sys.executable, "-m", "sfumato", "serve", "--data-dir", str(tmp_path), "--port", str(api_only.port)],
            capture_output=True,
            text=True,
            timeout=60,  # "at once": it must not hang around serving or rendering
            env={**env, "SFUMATO_WORKER_THREADS": "1"},
        )
        assert second.returncode == 2, second.stderr
        [line] = second.stderr.splitlines()
        assert line == (
            f"127.0.0.1:{api_only.port} is already in use: another server listens there; "
            "stop it or choose a free --port"
        )
        assert job_row(tmp_path, generation_id) == ("QUEUED", 0, None)  # never claimed

        # Two servers on one data dir, each on its own port: the second's worker renders what the
        # first queued, and both answer for it.
        worker = Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "1"})
        worker.start()
        try:
            with api_only.http(key["apiKey"]) as client:
                done = wait_for_generation(client, generation_id)
            assert done["status"] == "COMPLETE" and len(done["generated_images"]) == 1
            with worker.http(key["apiKey"]) as client:
                seen = wait_for_generation(client, generation_id)
            assert seen["status"] == "COMPLETE"
            assert [i["id"] for i in seen["generated_images"]] == [i["id"] for i in done["generated_images"]]
            assert job_row(tmp_path, generation_id)[:2] == ("DONE", 1)
        finally:
            worker.stop()
    finally:
        api_only.stop()
