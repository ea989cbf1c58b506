"""`sfumato models list|add|remove|pull`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sfumato.cli.common import DataDir, console, load_settings
from sfumato.engine.catalog import (
    CatalogEditError,
    CatalogEntry,
    add_local_entry,
    load_catalog,
    local_catalog_path,
    remove_local_entry,
)

models_app = typer.Typer(help="The model catalog and its weights.", no_args_is_help=True)


@models_app.command("list")
def models_list(data_dir: DataDir = None) -> None:
    """Every Leonardo model id this server knows, what serves it, and whether it is installed."""
    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    table = Table("modelId", "name", "family", "sdVersion", "served by", "installed")
    for entry in catalog.listed():
        installed = "yes" if entry.is_installed(settings.models_dir) else ""
        table.add_row(entry.id, entry.name, entry.family, entry.sd_version, entry.source, installed)
    Console(width=200).print(table)


@models_app.command("add")
def models_add(
    path: Annotated[Path, typer.Argument(help="A diffusers folder (with model_index.json).")],
    name: Annotated[str, typer.Option("--name", help="Name shown by /platformModels.")],
    model_id: Annotated[str | None, typer.Option("--id", help="Leonardo-style model id (default: new uuid4).")] = None,
    description: Annotated[str, typer.Option(help="Description shown by /platformModels.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Register a local model under a Leonardo model id (written to <data-dir>/catalog.local.toml)."""
    from sfumato.engine.detect import DetectionError, detect

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    path = path.expanduser().resolve()
    try:
        detected = detect(path)
    except DetectionError as error:
        console.print(f"[red]cannot add {path}[/red]: {error}")
        raise typer.Exit(2) from None
    if detected.single_file:
        # Detected, but not servable yet: the renderer loads diffusers folders only (the knobs/models
        # work adds `from_single_file`). Refusing here beats a catalog row whose every generation fails.
        console.print(
            f"[red]cannot add {path}[/red]: it is a {detected.family} single-file checkpoint, and Sfumato serves "
            "only diffusers folders for now. Convert it (e.g. diffusers' `from_single_file(...).save_pretrained(DIR)`"
            " on a machine with its configs) and add the folder."
        )
        raise typer.Exit(2)
    defaults = detected.defaults
    entry = CatalogEntry(
        id=model_id or str(uuid.uuid4()),
        name=name,
        description=description or f"Operator-added {detected.family} model ({path.name}).",
        family=detected.family,
        sd_version=defaults.sd_version,
        native_width=defaults.native_width,
        native_height=defaults.native_height,
        default_steps=defaults.default_steps,
        default_guidance=defaults.default_guidance,
        path=str(path),
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    local_file = local_catalog_path(settings.data_dir)
    try:
        add_local_entry(local_file, entry, catalog)
    except CatalogEditError as error:
        console.print(f"[red]cannot add[/red]: {error}")
        raise typer.Exit(2) from None
    new_id = str(uuid.UUID(str(entry.id)))  # as add_local_entry wrote it
    console.print(f"[green]added[/green] {name} ({detected.family}) to {local_file}; restart the server to serve it")
    typer.echo(new_id)


@models_app.command("remove")
def models_remove(
    model_id: Annotated[str, typer.Argument(help="The id of a model added with `models add`.")],
    data_dir: DataDir = None,
) -> None:
    """Take an operator-added model out of the catalog (its files are left alone)."""
    settings = load_settings(data_dir)
    try:
        removed = remove_local_entry(local_catalog_path(settings.data_dir), model_id, load_catalog(settings))
    except CatalogEditError as error:
        console.print(f"[red]cannot remove[/red]: {error}")
        raise typer.Exit(2) from None
    console.print(f"removed {removed.name} ({model_id}); its files at {removed.source} were not deleted")


@models_app.command("pull")
def models_pull(
    model: Annotated[str, typer.Argument(help="A Leonardo modelId, or an sd_version such as v1_5.")],
    data_dir: DataDir = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="Hub URL (default: env HF_ENDPOINT, else https://huggingface.co).")
    ] = None,
) -> None:
    """Download a model's weights from the Hugging Face Hub (needs internet); re-run to resume."""
    from sfumato.engine.hub import NothingToPull, pull_model

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    entry = catalog.get(model) or catalog.fallbacks.get(model)
    if entry is None:
        console.print(f"[red]unknown model {model!r}[/red]: see `sfumato models list`")
        raise typer.Exit(2)
    console.print(f"downloading {entry.source} into {entry.weights_dir(settings.models_dir)} ...")
    try:
        # An explicit pull is the operator's consent to download, whatever the server setting says.
        pull_model(entry, settings.models_dir, revision=revision, endpoint=endpoint, allow_downloads=True)
    except NothingToPull as reason:
        console.print(str(reason))
        return
    console.print(f"[green]{entry.name} is installed[/green]")
