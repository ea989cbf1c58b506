"""`SFUMATO_QUEUE=celery` end to end (RabbitMQ and Redis): an API-only server, `sfumato worker`
processes, PostgreSQL and an S3 bucket, driven through the official SDK. The database's lease decides
who runs a job, so a duplicate message, a lost one, a second worker and a SIGTERM all leave each
generation run once, with its images in the bucket."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_MODEL_ID
from tests.support.celery_checks import (
    BROKERS,
    broker_queue,
    finished,
    image_keys,
    jobs,
    jobs_table,
    post_generation,
    worker_logs,
)
from tests.support.polling import poll_until
from tests.support.scaleout import deployment
from tests.support.workers import Worker

# A catalog model other than the tiny one: a worker serving only it never loads it in these tests.
OTHER_MODEL_ID = "b24e16ff-06e3-43eb-8d33-4416c2d75876"
# A render still running when the test acts on it (tens of seconds for the tiny model on a CPU).
LONG = {"width": 512, "height": 512, "num_inference_steps": 60}

# The lifecycle and the lost message on both brokers; the other behaviours are the database lease's, the
# same on either, so they run on Redis only (the chaos test covers both brokers end to end, and the
# integration suite's scale-out pass runs on RabbitMQ): each test starts a deployment of its own.
on_both_brokers = pytest.mark.parametrize("broker", BROKERS)
on_redis = pytest.mark.parametrize("broker", ["redis"])


def running_job(engine: Any, generation_id: str, timeout_s: float = 120) -> dict[str, Any]:
    """Wait until the generation's job is RUNNING; its row."""

    def found() -> dict[str, Any] | None:
        rows = jobs(engine, "generation_id = :g AND state = 'RUNNING'", g=generation_id)
        return rows[0] if rows else None

    return poll_until(found, timeout_s, 0.05, f"job of {generation_id} never RUNNING")


@on_both_brokers
def test_a_generation_and_its_upscale_complete_with_their_images_in_the_bucket(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker) as running:
        key = running.server.create_key("celery-life")
        generation_id = post_generation(running.server, key["apiKey"])
        done = finished(running.server, key["apiKey"], generation_id)
        assert done["status"] == "COMPLETE", done
        [image] = done["generated_images"]
        [stored] = image_keys(running, generation_id)
        assert stored.endswith(".png") and image["url"].startswith(f"{running.bucket.endpoint_url}/")

        sdk = running.server.sdk(key["apiKey"])
        upscale = sdk.variation.create_variation_upscale(request={"id": image["id"]}).object
        assert upscale is not None and upscale.sd_upscale_job is not None and upscale.sd_upscale_job.id

        def variation_done() -> Any:
            answer = sdk.variation.get_variation_by_id(id=str(upscale.sd_upscale_job.id)).object
            assert answer is not None and answer.generated_image_variation_generic
            [item] = answer.generated_image_variation_generic
            return item if item.status in ("COMPLETE", "FAILED") else None

        variation = poll_until(variation_done, 120, 0.2, "upscale not finished")
        assert variation.status == "COMPLETE" and variation.url
        assert variation.url.startswith(f"{running.bucket.endpoint_url}/{running.bucket.bucket}/")
        assert len(image_keys(running, generation_id)) == 2  # the image and its upscale, both under its id


@on_redis
def test_a_duplicate_message_runs_nothing_twice(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker, SFUMATO_WORKER_THREADS="2") as running, jobs_table(running.env) as db:
        key = running.server.create_key("celery-dup")
        first = post_generation(running.server, key["apiKey"])
        assert finished(running.server, key["apiKey"], first)["status"] == "COMPLETE"
        [first_job] = jobs(db, "generation_id = :g", g=first)
        with broker_queue(running.env) as queue:
            assert queue.send(first_job["id"], TINY_MODEL_ID) and queue.send(first_job["id"], TINY_MODEL_ID)
            second = post_generation(running.server, key["apiKey"], **LONG)
            second_job = running_job(db, second)
            assert queue.send(second_job["id"], TINY_MODEL_ID)  # a free slot takes it while the job runs
            assert finished(running.server, key["apiKey"], second, timeout_s=180)["status"] == "COMPLETE"
            # A last generation after the copies: with one consumer, every copy was delivered before it.
            third = post_generation(running.server, key["apiKey"])
            assert finished(running.server, key["apiKey"], third)["status"] == "COMPLETE"
        log = worker_logs(running)
        for generation_id, job in ((first, first_job), (second, second_job)):
            assert len(image_keys(running, generation_id)) == 1
            assert log.count(f"running job {job['id']}") == 1, log
            [row] = jobs(db, "id = :j", j=job["id"])
            assert (row["state"], row["attempts"]) == ("DONE", 1)


@on_both_brokers
def test_a_purged_message_is_sent_again_by_the_sweep(tmp_path: Path, broker: str) -> None:
    settings = {"SFUMATO_QUEUE_RESEND_AFTER_S": "2"}
    with deployment(tmp_path, broker, workers=0, **settings) as running, broker_queue(running.env) as queue:
        key = running.server.create_key("celery-lost")
        generation_id = post_generation(running.server, key["apiKey"])
        assert queue.purge([TINY_MODEL_ID]) == 1  # no worker yet: the message is dropped unread
        running.add_worker().wait_ready()
        assert finished(running.server, key["apiKey"], generation_id)["status"] == "COMPLETE"
        assert len(image_keys(running, generation_id)) == 1
        assert "sending 1 job(s) of queue" in worker_logs(running)


@on_redis
def test_a_key_of_concurrency_one_never_runs_two_jobs_across_workers(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker, workers=2) as running, jobs_table(running.env) as db:
        key = running.server.create_key("celery-one", "--concurrency", "1")
        ids = [post_generation(running.server, key["apiKey"], num_inference_steps=40) for _ in range(4)]
        most = 0

        def all_done() -> bool:
            nonlocal most
            rows = jobs(db, "api_key_id = :k", k=key["apiKeyId"])
            most = max(most, sum(row["state"] == "RUNNING" for row in rows))
            return len(rows) == 4 and all(row["state"] == "DONE" for row in rows)

        poll_until(all_done, 180, 0.02, "the key's generations did not all finish")
        assert most == 1  # seen running, never two at once
        for generation_id in ids:
            assert finished(running.server, key["apiKey"], generation_id)["status"] == "COMPLETE"


@on_redis
def test_delete_stops_a_running_generation_and_the_worker_goes_on(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker) as running, jobs_table(running.env) as db:
        key = running.server.create_key("celery-cancel")
        doomed = post_generation(running.server, key["apiKey"], width=1024, height=1024, num_inference_steps=60)
        running_job(db, doomed)
        assert running.server.sdk(key["apiKey"]).image.delete_generation_by_id(id=doomed).object is not None
        poll_until(lambda: "dropped" in worker_logs(running), 60, 0.1, "the worker never dropped the job")
        assert jobs(db, "generation_id = :g", g=doomed) == []
        after = post_generation(running.server, key["apiKey"])
        assert finished(running.server, key["apiKey"], after)["status"] == "COMPLETE"
        assert image_keys(running, doomed) == []


@on_redis
def test_a_worker_with_models_consumes_only_their_queues(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker, workers=0) as running, broker_queue(running.env) as queue:
        other = Worker(tmp_path / "other", args=("--models", OTHER_MODEL_ID), env=running.env)
        (tmp_path / "other").mkdir()
        running.worker_processes.append(other)
        other.start()
        key = running.server.create_key("celery-models")
        generation_id = post_generation(running.server, key["apiKey"])
        time.sleep(1.0)  # settle: a consumer of the tiny model's queue would have taken it by now
        assert queue.waiting(TINY_MODEL_ID) == 1
        tiny = Worker(tmp_path / "tiny", args=("--models", TINY_MODEL_ID), env=running.env)
        (tmp_path / "tiny").mkdir()
        running.worker_processes.append(tiny)
        tiny.start()
        assert finished(running.server, key["apiKey"], generation_id)["status"] == "COMPLETE"
        assert "running job" in tiny.log() and "running job" not in other.log()


@on_redis
def test_a_sigtermed_worker_hands_its_job_to_another(tmp_path: Path, broker: str) -> None:
    with deployment(tmp_path, broker, workers=2) as running, jobs_table(running.env) as db:
        key = running.server.create_key("celery-term")
        generation_id = post_generation(running.server, key["apiKey"], **LONG)
        job = running_job(db, generation_id)
        pid = int(job["lease_owner"].rsplit(":", 2)[1])
        [victim] = [w for w in running.worker_processes if w.process is not None and w.process.pid == pid]
        assert victim.stop() == 0  # SIGTERM, a warm shutdown: the job went back to the queue first
        done = finished(running.server, key["apiKey"], generation_id, timeout_s=180)
        assert done["status"] == "COMPLETE"
        [row] = jobs(db, "id = :j", j=job["id"])
        assert row["state"] == "DONE" and row["attempts"] == 1  # the interrupted run was refunded
        [heir] = [w for w in running.worker_processes if w is not victim]
        assert f"running job {job['id']}" in heir.log() and f"running job {job['id']}" in victim.log()
        assert len(image_keys(running, generation_id)) == 1
