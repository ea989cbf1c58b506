"""Where a database's schema stands: fresh, current, behind (one migration down), or unknown."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sfumato.store.db import make_engine, migrate
from sfumato.store.schema import SchemaStanding, SchemaState, head_revision, schema_state
from tests.support.migrations import downgrade_to


def test_the_schema_standings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sfumato.db'}"
    engine = make_engine(url)
    try:
        assert schema_state(engine).standing is SchemaStanding.FRESH
        migrate(engine)
        assert schema_state(engine).standing is SchemaStanding.CURRENT
        downgrade_to(url, "-1")
        behind = schema_state(engine)
        assert behind.standing is SchemaStanding.BEHIND
        assert behind.head == head_revision() and behind.current not in (None, behind.head)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from-the-future'"))
        assert schema_state(engine) == SchemaState("from-the-future", head_revision(), SchemaStanding.UNKNOWN)
    finally:
        engine.dispose()
