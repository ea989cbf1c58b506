"""`sfumato db upgrade`, and the schema check `serve` and `worker` make before they run.

A fresh database gets its schema from whichever process opens it first (nothing is at stake, and
`sfumato serve` stays one command). A schema that is behind is upgraded only when the operator says
so, with `sfumato db upgrade` (or `sfumato serve --migrate`): migrating rows is a step to take once,
after a backup, not something every process of a deployment races to do as it starts.
"""

from __future__ import annotations

from typing import NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from sfumato.cli.common import DataDir, console, load_settings, refuse
from sfumato.config import Settings
from sfumato.store.db import make_engine, migrate
from sfumato.store.schema import SchemaStanding, SchemaState, schema_state

db_app = typer.Typer(help="The database: bring its schema up to this release's.", no_args_is_help=True)


def _where(settings: Settings) -> str:
    """The database named without its password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


@db_app.command()
def upgrade(data_dir: DataDir = None) -> None:
    """Apply every migration not yet applied to the configured database (SFUMATO_DATABASE_URL)."""
    settings = load_settings(data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        before = _state(settings, engine)
        if before.standing is SchemaStanding.UNKNOWN:
            _refuse_unknown(settings, before.current, before.head)
        if before.standing is SchemaStanding.CURRENT:
            console.print(f"{_where(settings)}: already at revision {before.head}", soft_wrap=True)
            return
        migrate(engine)
        after = schema_state(engine)
    finally:
        engine.dispose()
    was = before.current or "an empty database"
    console.print(f"{_where(settings)}: upgraded from {was} to revision {after.current}", soft_wrap=True)


def require_current_schema(settings: Settings, *, upgrade: bool = False) -> None:
    """Exit 2 naming `sfumato db upgrade` when the schema is behind the code (unless `upgrade`: then
    upgrade it), or from a newer release; a fresh or current schema passes."""
    engine = make_engine(settings.sqlalchemy_url, settings.database.busy_timeout_s)
    try:
        state = _state(settings, engine)
        if state.standing is SchemaStanding.UNKNOWN:
            _refuse_unknown(settings, state.current, state.head)
        if state.standing is SchemaStanding.BEHIND:
            if not upgrade:
                refuse(
                    "the database schema is behind this release",
                    f"{_where(settings)} is at revision {state.current}, this release needs {state.head}; "
                    "run `sfumato db upgrade` (after a backup), then start again",
                )
            migrate(engine)
            console.print(f"{_where(settings)}: upgraded from revision {state.current} to {state.head}", soft_wrap=True)
    finally:
        engine.dispose()


def _state(settings: Settings, engine: Engine) -> SchemaState:
    """The schema's standing; an unreachable database is one line and exit 2, not a traceback."""
    try:
        return schema_state(engine)
    except OperationalError as error:
        refuse(f"cannot reach the database {_where(settings)}", f"{error.orig}; check SFUMATO_DATABASE_URL")


def _refuse_unknown(settings: Settings, current: str | None, head: str) -> NoReturn:
    refuse(
        "the database schema is from a newer release",
        f"{_where(settings)} is at revision {current}, which this release (head {head}) does not know; "
        "run the release that wrote it",
    )
