"""`sfumato models list|pull`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sfumato.cli.common import DataDir, console, load_settings
from sfumato.engine.catalog import ModelCatalog

models_app = typer.Typer(help="The model catalog and its weights.", no_args_is_help=True)

# The files a diffusers pipeline folder needs; skips duplicate formats (.bin, .ckpt, fp16
# copies, ONNX/Flax exports) so a pull fetches each weight once.
DIFFUSERS_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
SKIPPED_PATTERNS = ["*.fp16.safetensors", "*onnx*", "*flax*", "*.msgpack", "*.bin", "*.ckpt"]


@models_app.command("list")
def models_list(data_dir: DataDir = None) -> None:
    """Every Leonardo model id this server knows, what serves it, and whether it is installed."""
    settings = load_settings(data_dir)
    catalog = ModelCatalog.load(settings.catalog_file)
    table = Table("modelId", "name", "family", "sdVersion", "served by", "installed")
    for entry in catalog.listed():
        installed = "yes" if entry.is_installed(settings.models_dir) else ""
        table.add_row(entry.id, entry.name, entry.family, entry.sd_version, entry.source, installed)
    Console().print(table)


@models_app.command("pull")
def models_pull(
    model: Annotated[str, typer.Argument(help="A Leonardo modelId, or an sd_version such as v1_5.")],
    data_dir: DataDir = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
) -> None:
    """Download a model's weights from the Hugging Face Hub (needs internet)."""
    from huggingface_hub import snapshot_download

    settings = load_settings(data_dir)
    catalog = ModelCatalog.load(settings.catalog_file)
    entry = catalog.get(model) or catalog.fallbacks.get(model)
    if entry is None:
        console.print(f"[red]unknown model {model!r}[/red]: see `sfumato models list`")
        raise typer.Exit(2)
    if entry.repo is None:
        console.print(f"{entry.name} is served from {entry.source}: nothing to download")
        return
    target = entry.weights_dir(settings.models_dir)
    console.print(f"downloading {entry.repo} into {target} ...")
    # huggingface_hub shows tqdm progress bars and resumes interrupted files by itself.
    snapshot_download(
        repo_id=entry.repo,
        revision=revision,
        local_dir=target,
        allow_patterns=DIFFUSERS_PATTERNS,
        ignore_patterns=SKIPPED_PATTERNS,
    )
    console.print(f"[green]{entry.name} is installed[/green]")
