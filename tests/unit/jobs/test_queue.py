"""The queue's claims: a parked job (its model downloading) goes back uncounted and is not claimed
before its time; a key with concurrency 0 (the CLI's) is left to whoever runs its jobs itself."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from sfumato.catalog import TINY_MODEL_ID
from sfumato.container import Container
from sfumato.domain.generation import GenerationRequest
from sfumato.jobs.queue import claim_generation_job, claim_next_job, park_job
from sfumato.store.repositories import utcnow
from sfumato.store.tables import Job

REQUEST = GenerationRequest(prompt="a cat", model_id=TINY_MODEL_ID, width=64, height=64, num_images=1)


def test_a_parked_job_is_claimed_only_after_its_time_and_keeps_its_attempts(container: Container) -> None:
    key = container.keys.authenticate(container.keys.create("dana", concurrency=2).api_key)
    assert key is not None
    container.generations.create(key, REQUEST)

    with container.session_factory() as session:
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


def test_a_local_keys_job_is_left_to_the_command_that_made_it(container: Container) -> None:
    local = container.keys.local("cli")
    assert container.keys.local("cli") == local  # made once, then found
    generation_id = container.generations.create(local, REQUEST).generation_id

    with container.session_factory() as session:
        assert claim_next_job(session, "a-server", lease_s=60) is None  # concurrency 0: never a candidate
        job = claim_generation_job(session, generation_id, "the-cli", lease_s=60)
        assert job is not None and job.lease_owner == "the-cli" and job.attempts == 1
        assert claim_generation_job(session, generation_id, "the-cli", lease_s=60) is None  # RUNNING now
