"""What every command shares: the console and how options become Settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfumato.config import Settings, env_name

console = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env SFUMATO_DATA_DIR; default ./data).")
]

JsonOutput = Annotated[bool, typer.Option("--json", help="Print one JSON array (full ids, every column) instead.")]


def load_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from env/TOML, with command-line options on top; a bad value exits 2 naming it."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        for problem in error.errors():
            name = env_name(problem["loc"])
            console.print(f"[red]invalid setting {name}[/red]: {problem['msg']}")
        raise typer.Exit(2) from None


def refuse(problem: str, detail: str) -> NoReturn:
    """One clear line on stderr (`problem` in red, then what to do) and exit 2, never a traceback."""
    console.print(f"[red]{escape(problem)}[/red]: {escape(detail)}", soft_wrap=True)
    raise typer.Exit(2)


def print_table(table: Table) -> None:
    """Print to stdout at least as wide as the table's natural width, so no id is ever cut or folded."""
    out = Console()
    natural = out.measure(table, options=out.options.update_width(100_000)).maximum
    Console(width=max(out.width, natural)).print(table)


@contextmanager
def refusing_engine_settings() -> Iterator[None]:
    """Turn an engine setting this machine cannot honour into one clear line and exit 2."""
    from sfumato.engine import EngineConfigError

    try:
        yield
    except EngineConfigError as error:
        refuse("cannot start the engine", str(error))
