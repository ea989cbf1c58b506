"""`sfumato worker --models`: a worker claims only jobs whose generation's plan names one of its
models; another model's job waits, QUEUED, for a worker that serves it."""

from __future__ import annotations

from sfumato.catalog import TINY_MODEL_ID
from sfumato.container import Container
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.status import JobState
from sfumato.jobs.queue import claim_next_job

REQUEST = GenerationRequest(prompt="a cat", model_id=TINY_MODEL_ID, width=64, height=64, num_images=1)
OTHER_MODEL_ID = "00000000-0000-0000-0000-000000000000"


def test_a_worker_claims_only_its_models_jobs(container: Container) -> None:
    key = container.keys.authenticate(container.keys.create("erin", concurrency=2).api_key)
    assert key is not None
    generation_id = container.generations.create(key, REQUEST).generation_id

    with container.session_factory() as session:
        assert claim_next_job(session, "other-worker", lease_s=60, models={OTHER_MODEL_ID}) is None
        assert claim_next_job(session, "nothing-worker", lease_s=60, models=set()) is None
        job = claim_next_job(session, "tiny-worker", lease_s=60, models={OTHER_MODEL_ID, TINY_MODEL_ID})
        assert job is not None and job.generation_id == generation_id
        session.refresh(job)
        assert (job.state, job.lease_owner) == (JobState.RUNNING, "tiny-worker")


def test_a_worker_without_models_claims_every_job(container: Container) -> None:
    key = container.keys.authenticate(container.keys.create("finn", concurrency=2).api_key)
    assert key is not None
    generation_id = container.generations.create(key, REQUEST).generation_id
    with container.session_factory() as session:
        job = claim_next_job(session, "any-worker", lease_s=60)
        assert job is not None and job.generation_id == generation_id
