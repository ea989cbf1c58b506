"""The real services the scale-out tests run on: PostgreSQL, RabbitMQ and Redis on loopback.

Absent on a laptop: the test skips and says why. In CI (`SFUMATO_REQUIRE_SERVICES=1`) it fails
instead, so a missing service can never turn a red run green.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "SFUMATO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BROKER_URLS = {
    "rabbitmq": os.environ.get("SFUMATO_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
    "redis": os.environ.get("SFUMATO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def require(available: bool, reason: str) -> None:
    """Skip (a laptop) or fail (CI) when a service is missing."""
    if available:
        return
    if os.environ.get("SFUMATO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (SFUMATO_REQUIRE_SERVICES=1, so this is not skipped)")
    pytest.skip(reason)


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def broker_url(kind: str) -> str:
    """The broker of `kind` (rabbitmq | redis), once it is known to listen."""
    url = BROKER_URLS[kind]
    require(_listening(url), f"{kind} not reachable at {url}")
    return url


def queue_namespace() -> str:
    """A namespace of queues no other test (or run) shares on the same broker."""
    return f"t{uuid.uuid4().hex[:12]}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the block, dropped afterwards; its SQLAlchemy URL."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        require(False, f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error.__class__.__name__}")
    name = f"sfumato_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
