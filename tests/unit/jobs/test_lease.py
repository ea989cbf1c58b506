"""A lease's check only reads; its renewal writes; neither holds a job that was deleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import build_container
from sfumato.domain.generation import GenerationRequest
from sfumato.jobs.lease import Lease, claim_next
from sfumato.store.tables import Job


def test_held_only_reads_and_renew_extends_until_the_job_is_gone(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    try:
        key = container.keys.authenticate(container.keys.create("erin", concurrency=1).api_key)
        assert key is not None
        request = GenerationRequest(prompt="a cat", model_id=TINY_MODEL_ID, width=64, height=64, num_images=1)
        created = container.generations.create(key, request)
        claimed = claim_next(container.session_factory, "worker-a", lease_s=60, default_concurrency=10)
        assert claimed is not None and claimed.generation_id == created.generation_id

        def row() -> tuple[datetime, datetime]:
            """(lease_expires_at, updated_at) of the job, as stored now."""
            with container.session_factory() as session:
                job = session.get(Job, claimed.job_id)
                assert job is not None and job.lease_expires_at is not None
                return job.lease_expires_at, job.updated_at

        as_claimed = row()
        assert claimed.held()
        assert row() == as_claimed  # asking wrote nothing

        longer = Lease(container.session_factory, claimed.job_id, claimed.generation_id, "worker-a", lease_s=600)
        assert longer.renew()
        assert row()[0] - as_claimed[0] > timedelta(seconds=500)  # renewing wrote the longer lease

        stranger = Lease(container.session_factory, claimed.job_id, claimed.generation_id, "worker-b", lease_s=600)
        assert not stranger.held() and not stranger.renew()
        assert container.generations.delete(key.user_id, created.generation_id)
        assert not claimed.held() and not claimed.renew()
    finally:
        container.close()
