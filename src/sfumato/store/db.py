"""Database engine and sessions, and the one call that brings a schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


# One-off commands (`sfumato keys create` beside a busy server) may wait longer than an HTTP request.
COMMAND_BUSY_TIMEOUT_S = 30.0


def make_engine(url: str, busy_timeout_s: float = COMMAND_BUSY_TIMEOUT_S) -> Engine:
    """An engine tuned for the backend. SQLite gets WAL and a busy timeout so the API threads, the
    worker and a CLI in another process can share one file. A statement waits at most
    `busy_timeout_s` for SQLite's write lock, a PostgreSQL row lock (`lock_timeout`) or a pooled
    connection, then raises (`OperationalError`, `sqlalchemy.exc.TimeoutError`): the API answers
    those 503 with Retry-After instead of holding the client."""
    busy_ms = max(1, round(busy_timeout_s * 1000))
    if url.startswith("sqlite"):
        db_path = url.split("///", 1)[-1]
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_s},
            pool_timeout=busy_timeout_s,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=busy_timeout_s)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _postgres_lock_timeout(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute(f"SET lock_timeout = {busy_ms}")
            cursor.close()
            dbapi_conn.commit()  # a SET in a transaction rolled back would be undone

    return engine


def migrate(engine: Engine) -> None:
    """Run every Alembic migration not yet applied (the only way the schema is made)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def ping(engine: Engine) -> None:
    """One round trip to the database; raises if it cannot answer (what `/healthz` checks)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def open_store(url: str, busy_timeout_s: float = COMMAND_BUSY_TIMEOUT_S) -> tuple[Engine, sessionmaker[Session]]:
    """The database, migrated to the newest schema: what every process opens first."""
    engine = make_engine(url, busy_timeout_s)
    migrate(engine)
    return engine, make_session_factory(engine)
