"""The same server on PostgreSQL: the database is a setting, not a rewrite.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth). Skips with a reason where it is absent,
fails instead when SFUMATO_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from sfumato.store.db import MIGRATIONS_DIR
from tests.conftest import Server, tiny_request, to_wire, wait_for_generation
from tests.integration.test_faults import BURST_LIMITS, check_burst_limits
from tests.support.services import postgres_database
from tests.unit.store.test_migrations import check_plan_is_the_record
from tests.unit.store.test_variation_migration import check_variations_migrate


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with postgres_database() as url:
        yield url


def test_lifecycle_and_tenancy_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    server = Server(tmp_path, env={"SFUMATO_DATABASE_URL": postgres_url})
    server.start()
    try:
        alice, bob = server.create_key("alice"), server.create_key("bob")
        sdk = server.sdk(alice["apiKey"])
        ids = [
            sdk.image.create_generation(request=tiny_request(seed=s)).object.sd_generation_job.generation_id
            for s in (1, 2)
        ]
        with server.http(alice["apiKey"]) as client:
            assert [wait_for_generation(client, i)["status"] for i in ids] == ["COMPLETE", "COMPLETE"]
        listed = sdk.image.get_generations_by_user_id(user_id=alice["userId"]).object.generations
        assert [g.id for g in listed] == list(reversed(ids))
        bob_sdk = server.sdk(bob["apiKey"])
        assert bob_sdk.image.get_generation_by_id(id=ids[0]).object.generations_by_pk is None
        assert sdk.image.delete_generation_by_id(id=ids[0]).object.delete_generations_by_pk.id == ids[0]
    finally:
        server.stop()

    # The rows really are in PostgreSQL, schema made by the migrations.
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert head is not None and version == head
        assert connection.execute(sa.text("SELECT count(*) FROM webhook_deliveries")).scalar() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM generations")).scalar() == 1
        assert connection.execute(sa.text("SELECT count(*) FROM jobs WHERE state = 'DONE'")).scalar() == 1
    engine.dispose()


def test_the_plan_is_the_record_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """Migration 0005 both ways with rows, as tests/unit/store/test_migrations.py checks it on SQLite."""
    check_plan_is_the_record(postgres_url, tmp_path / "data")


def test_variations_migrate_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """Migration 0007 both ways with rows (PostgreSQL named the constraint it drops itself)."""
    check_variations_migrate(postgres_url, tmp_path / "data")


def test_limits_hold_under_a_burst_across_two_server_processes(tmp_path: Path, postgres_url: str) -> None:
    """The per-key lock is a PostgreSQL row lock: two processes' creates for one key take turns."""
    env = {**BURST_LIMITS, "SFUMATO_DATABASE_URL": postgres_url}
    first, second = Server(tmp_path / "a", env=env), Server(tmp_path / "b", env=env)
    first.start()  # one at a time: the first makes the schema
    try:
        second.start()
        check_burst_limits([first, second])
    finally:
        second.stop()
        first.stop()


def test_a_key_locked_past_the_busy_timeout_answers_503_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    env = {
        "SFUMATO_DATABASE_URL": postgres_url,
        "SFUMATO_WORKER_THREADS": "0",
        "SFUMATO_DATABASE_BUSY_TIMEOUT_S": "0.5",
    }
    server = Server(tmp_path, env=env)
    server.start()
    holder = sa.create_engine(postgres_url)
    try:
        key = server.create_key("patient")
        request = to_wire(tiny_request())
        with server.http(key["apiKey"]) as client, holder.connect() as connection:
            # Another process holds the key's row lock (as a long transaction would): lock_timeout ends the wait.
            connection.execute(sa.text("SELECT id FROM api_keys WHERE id = :id FOR UPDATE"), {"id": key["apiKeyId"]})
            response = client.post("/generations", json=request)
            connection.rollback()
            assert response.status_code == 503, response.text
            assert response.headers["Retry-After"] == "1"
            assert list(response.json()) == ["error", "path", "code"]
            assert client.post("/generations", json=request).status_code == 200
    finally:
        holder.dispose()
        server.stop()
