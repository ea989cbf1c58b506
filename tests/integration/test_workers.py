"""Processes of their own: an API-only `sfumato serve --no-worker` and `sfumato worker` processes on
one database, a worker's `--models` claim filter, and `sfumato db upgrade` with the refusal of a
schema that is behind (docs/deploy.md)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.store.schema import head_revision
from tests.conftest import TINY_MODEL_ID, Server, run_cli, tiny_request, wait_for_generation
from tests.integration.test_postgres import postgres_url  # noqa: F401  (the fixture, by name below)
from tests.support.migrations import downgrade_to
from tests.support.receiver import Receiver
from tests.support.workers import Worker

FAST_POLL = {"SFUMATO_JOB_POLL_INTERVAL_S": "0.2"}


def _pixels(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content)).convert("RGB").tobytes()


def test_an_api_only_server_and_lone_workers_share_the_queue(
    tmp_path: Path, server: Server, alice: dict[str, Any]
) -> None:
    """A worker of another model leaves the job queued; a worker of its model renders it, the same
    pixels the embedded worker draws, and delivers its webhook with no API process up; SIGTERM
    stops both workers cleanly."""
    request = tiny_request(seed=4242)
    other = next(entry.id for entry in ModelCatalog.load().listed() if entry.id != TINY_MODEL_ID)
    data = tmp_path / "data"
    run_cli(data, "db", "upgrade")  # the schema first: the API and a worker start side by side
    receiver = Receiver()
    elsewhere = Worker(data, ("--models", other), FAST_POLL)
    tiny = Worker(data, ("--models", TINY_MODEL_ID, "--concurrency", "1"), FAST_POLL)
    api = Server(data, env=FAST_POLL, args=("--no-worker",))
    elsewhere.spawn()
    try:
        api.start()
        key = api.create_key("split", "--webhook-url", receiver.url, "--allow-private-webhook")["apiKey"]
        elsewhere.wait_ready()
        generation_id = api.sdk(key).image.create_generation(request=request).object.sd_generation_job.generation_id
        api.stop()  # from here on only workers run
        # `elsewhere` polls every 0.2 s; the tiny worker needs seconds to start: a claim filter
        # that let `elsewhere` take the job would have it run there first.
        with tiny.running():
            [hook, *_] = receiver.wait_for(1, timeout_s=120)
        api.start()
        with api.http(key) as client:
            done = wait_for_generation(client, generation_id)
        assert done["status"] == "COMPLETE", done
        split = _pixels(done["generated_images"][0]["url"])
    finally:
        api.stop()
        elsewhere.stop()
        receiver.close()
    assert generation_id in hook.body.decode() and "COMPLETE" in hook.body.decode(), hook.body
    assert tiny.returncode == 0 and "worker stopped" in tiny.log(), tiny.log()
    assert generation_id in tiny.log() and generation_id not in elsewhere.log()
    assert elsewhere.returncode == 0, elsewhere.log()

    embedded_id = server.sdk(alice["apiKey"]).image.create_generation(request=request).object
    with server.http(alice["apiKey"]) as client:
        embedded = wait_for_generation(client, embedded_id.sd_generation_job.generation_id)
    assert _pixels(embedded["generated_images"][0]["url"]) == split


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'sfumato.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _revision(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_db_upgrade_and_a_schema_behind_refused(tmp_path: Path, database_url: str) -> None:
    data, env = tmp_path / "data", {"SFUMATO_DATABASE_URL": database_url}
    made = run_cli(data, "db", "upgrade", env=env)
    assert _revision(database_url) == head_revision(), made.stderr

    downgrade_to(database_url, "-1")
    behind = _revision(database_url)
    assert behind is not None and behind != head_revision()
    for command in (("serve", "--port", "0"), ("worker",)):
        refused = run_cli(data, *command, env=env, check=False)
        assert refused.returncode == 2, refused.stderr
        assert "sfumato db upgrade" in refused.stderr and behind in refused.stderr, refused.stderr
        assert _revision(database_url) == behind  # refused, and nothing migrated

    if database_url.startswith("sqlite"):  # `make run`'s one command: serve upgrades it when told to
        with Server(data, env={**env, "SFUMATO_WORKER_THREADS": "0"}, args=("--migrate",)).running():
            assert _revision(database_url) == head_revision()
    else:
        upgraded = run_cli(data, "db", "upgrade", env=env)
        assert _revision(database_url) == head_revision(), upgraded.stderr
