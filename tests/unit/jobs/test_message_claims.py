"""The claims a Celery message makes (`claim_job`) and the sweep's view of lost messages: the job a
message names runs once, under its key's concurrency; a copy finds nothing to do; a QUEUED job whose
message is old is listed to be sent again, one just sent is not."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from sfumato.catalog import TINY_MODEL_ID
from sfumato.container import Container
from sfumato.domain.generation import GenerationRequest
from sfumato.domain.views import Principal
from sfumato.jobs.queue import NotYet, claim_job, job_models, mark_sent, park_job, requeue_lapsed_jobs, unsent_jobs
from sfumato.store.repositories import utcnow
from sfumato.store.tables import Job

REQUEST = GenerationRequest(prompt="a cat", model_id=TINY_MODEL_ID, width=64, height=64, num_images=1)


def _key(container: Container, concurrency: int) -> Principal:
    key = container.keys.authenticate(container.keys.create("erin", concurrency=concurrency).api_key)
    assert key is not None
    return key


def _job_ids(container: Container, count: int, key: Principal) -> list[str]:
    generations = [container.generations.create(key, REQUEST).generation_id for _ in range(count)]
    with container.session_factory() as session:
        by_generation = {job.generation_id: job.id for job in session.scalars(select(Job))}
    return [by_generation[generation_id] for generation_id in generations]


def test_a_message_claims_its_own_job_once_and_a_copy_finds_nothing(container: Container) -> None:
    (job_id,) = _job_ids(container, 1, _key(container, 2))
    with container.session_factory() as session:
        claimed = claim_job(session, job_id, "worker-a", lease_s=60)
        assert isinstance(claimed, Job) and claimed.id == job_id and claimed.lease_owner == "worker-a"
        assert claim_job(session, job_id, "worker-b", lease_s=60) is None  # a redelivered copy: leased
        assert claim_job(session, "no-such-job", "worker-b", lease_s=60) is None


def test_a_key_at_its_concurrency_makes_the_message_wait_not_vanish(container: Container) -> None:
    first, second = _job_ids(container, 2, _key(container, 1))
    with container.session_factory() as session:
        assert isinstance(claim_job(session, first, "worker-a", lease_s=60), Job)
        waiting = claim_job(session, second, "worker-b", lease_s=60)
        assert isinstance(waiting, NotYet) and "concurrency" in waiting.reason
        assert session.get(Job, second).state == "QUEUED"  # type: ignore[union-attr]


def test_a_parked_job_is_not_yet_and_the_commands_own_key_is_nobodys(container: Container) -> None:
    (parked,) = _job_ids(container, 1, _key(container, 2))
    with container.session_factory() as session:
        assert isinstance(claim_job(session, parked, "worker-a", lease_s=60), Job)
        assert park_job(session, parked, "worker-a", utcnow() + timedelta(minutes=5))
        assert claim_job(session, parked, "worker-b", lease_s=60) == NotYet("parked")
    local = container.generations.create(container.keys.local("cli"), REQUEST).generation_id
    with container.session_factory() as session:
        cli_job = session.scalars(select(Job.id).where(Job.generation_id == local)).one()
        assert claim_job(session, cli_job, "worker-a", lease_s=60) is None  # concurrency 0: `sfumato generate`'s


def test_old_messages_are_listed_for_resending_until_sent_again(container: Container) -> None:
    old, fresh = _job_ids(container, 2, _key(container, 2))
    with container.session_factory() as session:
        session.execute(update(Job).where(Job.id == old).values(enqueued_at=utcnow() - timedelta(minutes=5)))
        session.commit()
        assert unsent_jobs(session, older_than_s=60, models=None, limit=10) == [(old, TINY_MODEL_ID)]
        assert unsent_jobs(session, older_than_s=60, models={"another-model"}, limit=10) == []
        assert job_models(session, [old, fresh]) == {old: TINY_MODEL_ID, fresh: TINY_MODEL_ID}
        mark_sent(session, [old])
        assert unsent_jobs(session, older_than_s=60, models=None, limit=10) == []
        assert isinstance(claim_job(session, old, "worker-a", lease_s=60), Job)  # RUNNING: not listed either
        session.execute(update(Job).values(enqueued_at=utcnow() - timedelta(minutes=5)))
        session.commit()
        assert unsent_jobs(session, older_than_s=60, models=None, limit=10) == [(fresh, TINY_MODEL_ID)]


def test_a_lapsed_lease_is_requeued_by_id(container: Container) -> None:
    (job_id,) = _job_ids(container, 1, _key(container, 2))
    with container.session_factory() as session:
        assert isinstance(claim_job(session, job_id, "worker-a", lease_s=60), Job)
        session.execute(update(Job).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
        lapsed = requeue_lapsed_jobs(session, max_attempts=3)
        assert lapsed.requeued == [job_id] and lapsed.exhausted == []
        assert requeue_lapsed_jobs(session, max_attempts=3).requeued == []
