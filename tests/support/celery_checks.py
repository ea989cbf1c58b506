"""What the Celery tests look at from outside a deployment: its `jobs` table (the record of who runs
what), its broker (through the same `CeleryQueue` the API builds), and generations made through the
official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from sfumato.config import QueueSettings
from sfumato.jobs.celery_queue import CeleryQueue, celery_app
from tests.support.scaleout import Deployment
from tests.support.server import Server, wait_for_generation

BROKERS = ["rabbitmq", "redis"]


@contextmanager
def broker_queue(env: dict[str, str]) -> Iterator[CeleryQueue]:
    """The deployment's broker as its API sees it, built from the same settings."""
    settings = QueueSettings(
        backend="celery", broker_url=env["SFUMATO_BROKER_URL"], namespace=env["SFUMATO_QUEUE_NAMESPACE"]
    )
    app = celery_app(settings)
    try:
        yield CeleryQueue(app, settings.namespace)
    finally:
        app.close()


@contextmanager
def jobs_table(env: dict[str, str]) -> Iterator[sa.Engine]:
    """An engine on the deployment's database, to read its `jobs` rows."""
    engine = sa.create_engine(env["SFUMATO_DATABASE_URL"], pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


def jobs(engine: sa.Engine, where: str = "TRUE", **params: Any) -> list[dict[str, Any]]:
    """The `jobs` rows matching `where` (SQL over its columns), as dicts."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text(f"SELECT * FROM jobs WHERE {where}"), params).mappings().all()
    return [dict(row) for row in rows]


def post_generation(server: Server, api_key: str, **overrides: Any) -> str:
    """POST /generations through the official SDK (a tiny request); the generation id."""
    from tests.conftest import tiny_request

    created = server.sdk(api_key).image.create_generation(request=tiny_request(**overrides)).object
    assert created is not None and created.sd_generation_job is not None
    generation_id = created.sd_generation_job.generation_id
    assert generation_id
    return str(generation_id)


def finished(server: Server, api_key: str, generation_id: str, timeout_s: float = 120) -> dict[str, Any]:
    with server.http(api_key) as client:
        return wait_for_generation(client, generation_id, timeout_s=timeout_s, poll_s=0.2)


def image_keys(deployment: Deployment, generation_id: str) -> list[str]:
    """The bucket's objects whose key names this generation."""
    return [key for key in deployment.bucket.object_keys() if generation_id in key]


def worker_logs(deployment: Deployment) -> str:
    return "\n".join(worker.log() for worker in deployment.worker_processes)
