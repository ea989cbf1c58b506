"""Moving a database to any revision of our migrations, for tests of what a migration keeps."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from sfumato.store.db import MIGRATIONS_DIR, make_engine


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), revision)
    finally:
        engine.dispose()


def downgrade_to(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(_config(connection), revision)
    finally:
        engine.dispose()
