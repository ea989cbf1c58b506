"""Where a database's schema stands against the code's migrations, read without changing anything,
so a server or worker can refuse a schema that is behind instead of running on it (docs/deploy.md)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from sfumato.store.db import MIGRATIONS_DIR


class SchemaStanding(enum.Enum):
    FRESH = "fresh"  # no schema yet: any process may make it, no row is at stake
    CURRENT = "current"  # at the code's head
    BEHIND = "behind"  # an older revision: `sfumato db upgrade` brings it to head
    UNKNOWN = "unknown"  # a revision these migrations do not have: a newer release wrote it


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    standing: SchemaStanding


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}")
    return head


def schema_state(engine: Engine) -> SchemaState:
    """The database's revision (alembic_version) and how it compares with the code's head."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = head_revision()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        return SchemaState(None, head, SchemaStanding.FRESH)
    if current == head:
        return SchemaState(current, head, SchemaStanding.CURRENT)
    try:
        script.get_revision(current)
    except CommandError:
        return SchemaState(current, head, SchemaStanding.UNKNOWN)
    return SchemaState(current, head, SchemaStanding.BEHIND)
