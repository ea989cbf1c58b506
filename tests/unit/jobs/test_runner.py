"""`run_job`'s outcomes as the store records them: a failed run with attempts left goes back to the
queue with its reason on the job only (the generation stays PENDING with no failureReason) and ends
FAILED with that reason once out of attempts; a shutdown mid-render re-queues the job uncounted."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from sfumato.catalog import TINY_MODEL_ID
from sfumato.config import Settings
from sfumato.container import Container, build_container
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.status import GenerationStatus
from sfumato.domain.views import GenerationView, Principal
from sfumato.jobs.lease import claim_next
from sfumato.jobs.runner import JobInterrupted, run_job
from sfumato.store.tables import Job
from tests.support.models import broken_model_catalog

BROKEN_MODEL_ID = "0badbad0-0000-4000-8000-000000000001"


def _key(container: Container) -> Principal:
    key = container.keys.authenticate(container.keys.create("frank", concurrency=1).api_key)
    assert key is not None
    return key


def _create(container: Container, key: Principal, model_id: str) -> str:
    request = GenerationRequest(prompt="a cat", model_id=model_id, width=32, height=32, num_images=1)
    return container.generations.create(key, request).generation_id


def _generation(container: Container, key: Principal, generation_id: str) -> GenerationView:
    generation = container.generations.get(key.user_id, generation_id)
    assert generation is not None
    return generation


def _job(container: Container, generation_id: str) -> tuple[str, int, str | None, str | None]:
    """(state, attempts, last_error, lease_owner) of the generation's job."""
    with container.session_factory() as session:
        job = session.scalars(select(Job).where(Job.generation_id == generation_id)).one()
        return job.state, job.attempts, job.last_error, job.lease_owner


def test_a_retried_generation_shows_no_failure_reason_until_it_ends_failed(tmp_path: Path) -> None:
    catalog = broken_model_catalog(tmp_path, BROKEN_MODEL_ID)  # its weights fail to load on every run
    settings = Settings(data_dir=tmp_path / "data", worker_threads=0, catalog_file=catalog, job_max_attempts=2)
    container = build_container(settings, with_worker=False)
    try:
        key = _key(container)
        generation_id = _create(container, key, BROKEN_MODEL_ID)

        def run_once() -> None:
            lease = claim_next(container.session_factory, "worker-a", lease_s=60, default_concurrency=10)
            assert lease is not None and lease.generation_id == generation_id
            run_job(container.jobs, lease)

        run_once()
        retried = _generation(container, key, generation_id)
        assert retried.status is GenerationStatus.PENDING and retried.failure_reason is None
        state, attempts, last_error, _owner = _job(container, generation_id)
        assert (state, attempts) == ("QUEUED", 1) and last_error  # the reason waits on the job

        run_once()
        failed = _generation(container, key, generation_id)
        state, attempts, last_error, _owner = _job(container, generation_id)
        assert (failed.status, state, attempts) == (GenerationStatus.FAILED, "FAILED", 2)
        assert failed.failure_reason == last_error and "Error" in last_error
    finally:
        container.close()


def test_a_shutdown_mid_render_requeues_the_job_without_counting_the_run(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    try:
        key = _key(container)
        generation_id = _create(container, key, TINY_MODEL_ID)
        lease = claim_next(container.session_factory, "worker-a", lease_s=60, default_concurrency=10)
        assert lease is not None

        def shutting_down(_done: int, _total: int) -> None:
            raise JobInterrupted

        run_job(container.jobs, lease, on_step=shutting_down)
        assert _job(container, generation_id) == ("QUEUED", 0, None, None)
        interrupted = _generation(container, key, generation_id)
        assert interrupted.status is GenerationStatus.PENDING and interrupted.images == ()
        assert not (tmp_path / "images" / "users" / key.user_id).exists()
    finally:
        container.close()
