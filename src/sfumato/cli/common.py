"""What every command shares: the console and how options become Settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sfumato.config import Settings

console = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (env SFUMATO_DATA_DIR; default ./data).")
]


def load_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings from env/TOML, with command-line options on top."""
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
