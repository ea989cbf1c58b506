"""A parked job (its model downloading) goes back to the queue uncounted and is not claimed
before its time; then it is claimed like any other."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import build_container
from sfumato.store.repositories import claim_next_job, park_job, utcnow
from sfumato.store.tables import Job


def test_a_parked_job_is_claimed_only_after_its_time_and_keeps_its_attempts(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    try:
        issued = container.keys.create("dana", concurrency=2)
        key = container.keys.authenticate(issued.api_key)
        assert key is not None
        request = {"prompt": "a cat", "modelId": TINY_MODEL_ID, "width": 64, "height": 64, "num_images": 1}
        container.generations.create(key, request)
        session_factory = container.session_factory

        with session_factory() as session:
            job = claim_next_job(session, "worker-a", lease_s=60)
            assert job is not None and job.attempts == 1
            job_id = job.id
            assert park_job(session, job_id, "worker-a", utcnow() + timedelta(minutes=5))
            assert not park_job(session, job_id, "worker-a", utcnow())  # no longer RUNNING under worker-a
            assert claim_next_job(session, "worker-b", lease_s=60) is None  # parked: not yet

            session.execute(update(Job).where(Job.id == job_id).values(not_before=utcnow() - timedelta(seconds=1)))
            session.commit()
            again = claim_next_job(session, "worker-b", lease_s=60)
            assert again is not None and again.id == job_id
            session.refresh(again)  # the claim is an UPDATE statement: read the row as it is now
            assert again.attempts == 1 and again.not_before is None  # the parked run did not count
    finally:
        container.close()
