"""Issue #14's proof, on each broker: two Celery worker processes, 100 generations, one worker SIGKILLed
mid-run, the API process restarted once and the broker's queue purged once (a Redis restarted without
persistence). All 100 end COMPLETE, each with exactly its images in the bucket and nothing else there,
each webhook delivered at least once, never two different bodies (or deliveries) for one generation."""

from __future__ import annotations

import json
import signal
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_MODEL_ID
from tests.support.celery_checks import BROKERS, broker_queue, jobs, jobs_table
from tests.support.polling import poll_until
from tests.support.receiver import Receiver
from tests.support.scaleout import Deployment, scaleout_environment
from tests.support.server import Server, wait_for_generation

GENERATIONS = 100
BEFORE_RESTART = 60  # submitted to the first API process; the rest to the restarted one
SETTINGS = {
    "SFUMATO_JOB_LEASE_S": "5",
    "SFUMATO_QUEUE_RESEND_AFTER_S": "3",
    "SFUMATO_WEBHOOK_BACKOFF_SCALE": "0.01",
    "SFUMATO_WEBHOOK_POLL_INTERVAL_S": "0.05",
    "SFUMATO_KEY_QUEUE_CAP": "1000",
    "SFUMATO_KEY_RATE_PER_MINUTE": "1000",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    yield instance
    instance.close()


def submit(server: Server, api_key: str, count: int) -> list[str]:
    """`count` tiny generations through the official SDK; their ids."""
    sdk = server.sdk(api_key)
    ids = []
    for number in range(count):
        request = {"prompt": f"chaos {number}", "model_id": TINY_MODEL_ID, "width": 64, "height": 64,
                   "num_images": 1, "num_inference_steps": 10, "alchemy": False}  # fmt: skip
        created = sdk.image.create_generation(request=request).object
        assert created is not None and created.sd_generation_job is not None
        ids.append(str(created.sd_generation_job.generation_id))
    return ids


def sigkill_a_busy_worker(running: Deployment, db: Any) -> int:
    """SIGKILL a worker while it holds a RUNNING job; its pid."""
    pids = {w.process.pid: w for w in running.worker_processes if w.process is not None}

    def busy() -> int | None:
        owners = [row["lease_owner"] for row in jobs(db, "state = 'RUNNING'")]
        return next((pid for owner in owners if (pid := int(owner.rsplit(":", 2)[1])) in pids), None)

    pid = poll_until(busy, 60, 0.01, "no worker ever held a RUNNING job")
    process = pids[pid].process
    assert process is not None
    process.send_signal(signal.SIGKILL)
    assert process.wait(30) == -signal.SIGKILL
    return pid


@pytest.mark.parametrize("broker", BROKERS)
def test_chaos_every_generation_completes_once(tmp_path: Path, broker: str, receiver: Receiver) -> None:
    started = time.monotonic()
    with scaleout_environment(broker, **SETTINGS) as (env, bucket), jobs_table(env) as db, broker_queue(env) as queue:
        running = Deployment(tmp_path, env, bucket, workers=2)
        try:
            running.start()
            ready = time.monotonic()
            key = running.server.create_key("chaos", "--allow-private-webhook", "--webhook-url", receiver.url)
            ids = submit(running.server, key["apiKey"], BEFORE_RESTART)
            poll_until(lambda: len(jobs(db, "state = 'DONE'")) >= 10, 120, 0.05, "no progress before the kill")
            sigkill_a_busy_worker(running, db)
            running.server.stop()
            running.server.start()
            ids += submit(running.server, key["apiKey"], GENERATIONS - BEFORE_RESTART)
            dropped = queue.purge([TINY_MODEL_ID])
            assert dropped > 0  # 40 just sent to the one worker left, one at a time: most were waiting

            def all_done() -> bool:
                rows = jobs(db, "TRUE")
                return len(rows) == GENERATIONS and all(row["state"] == "DONE" for row in rows)

            poll_until(all_done, 300, 0.2, "not every job ended DONE")
            rendered = time.monotonic()
            with running.server.http(key["apiKey"]) as client:
                generations = [wait_for_generation(client, gid, timeout_s=30) for gid in ids]

            def every_webhook() -> bool:
                delivered = {json.loads(r.body)["data"]["object"]["id"] for r in list(receiver.requests)}
                return delivered >= set(ids)

            poll_until(every_webhook, 120, 0.1, "some generation's webhook was never delivered")
        finally:
            running.stop()

        assert len(set(ids)) == GENERATIONS
        assert [g["status"] for g in generations] == ["COMPLETE"] * GENERATIONS
        expected: set[str] = set()
        for generation in generations:
            prefix = f"users/{key['userId']}/generations/{generation['id']}/"
            stored = bucket.object_keys(prefix)
            assert len(stored) == len(generation["generated_images"]) == 1, (generation["id"], stored)
            expected.update(stored)
        assert set(bucket.object_keys()) == expected  # nothing else left in the bucket
        # The deployment is stopped: every request it ever sent is in.
        bodies: dict[str, set[bytes]] = defaultdict(set)
        deliveries: dict[str, set[str]] = defaultdict(set)
        for request in receiver.requests:
            generation_id = json.loads(request.body)["data"]["object"]["id"]
            bodies[generation_id].add(request.body)
            deliveries[generation_id].add(request.headers["webhook-id"])
        assert all(len(b) == 1 for b in bodies.values()), "two different bodies for one generation"
        assert all(len(d) == 1 for d in deliveries.values()), "two deliveries for one generation"
        assert all(json.loads(next(iter(b)))["data"]["object"]["status"] == "COMPLETE" for b in bodies.values())
    print(
        f"\nchaos on {broker}: start {ready - started:.1f} s, {GENERATIONS} generations {rendered - ready:.1f} s,"
        f" {dropped} message(s) purged, {len(receiver.requests)} webhook request(s)"
    )
