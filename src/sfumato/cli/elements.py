"""`sfumato elements add|list|remove`: LoRA files served as Leonardo Elements (docs/elements.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sfumato.catalog import (
    BASE_MODEL_FAMILIES,
    AuxFace,
    AuxWeights,
    CatalogEditError,
    ElementEntry,
    add_local_entry,
    load_catalog,
    local_catalog_path,
    remove_local_entry,
)
from sfumato.cli.common import DataDir, load_settings, print_table, refuse

elements_app = typer.Typer(help="LoRA elements (GET /elements, elements[], userElements[]).", no_args_is_help=True)

BaseModel = StrEnum("BaseModel", {name: name for name in BASE_MODEL_FAMILIES})  # type: ignore[misc]


@elements_app.command("add")
def elements_add(
    path: Annotated[Path, typer.Argument(help="A LoRA .safetensors file in diffusers or kohya format.")],
    name: Annotated[str, typer.Option("--name", help="The element's name, as GET /elements shows it.")],
    base_model: Annotated[
        BaseModel, typer.Option("--base-model", help="Leonardo's sd_versions value of the models it applies to.")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", help="A user id (`keys create` prints it): a user element only that user sees."),
    ] = None,
    description: Annotated[str, typer.Option(help="Shown by GET /elements.")] = "",
    element_id: Annotated[str | None, typer.Option("--id", help="Its akUUID (default: a new uuid4).")] = None,
    instance_prompt: Annotated[
        str | None, typer.Option("--instance-prompt", help="The trigger word it was trained with, if any.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a LoRA file as an element (written to <data-dir>/catalog.local.toml); prints its akUUID
    (and, for a user element, its userLoraId). A running server sees it once restarted."""
    from sfumato.engine import DetectionError, detect_lora

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    path = path.expanduser().resolve()
    try:
        found = detect_lora(path)
    except DetectionError as error:
        refuse(f"cannot add {path}", str(error))
    if user is not None:
        user = _known_user(user, settings.sqlalchemy_url)
    number = catalog.next_user_lora_id() if user is not None else None
    entry = ElementEntry(
        face=AuxFace(
            id=_element_id(element_id),
            name=name,
            description=description or f"Operator-added {base_model.value} LoRA ({path.name}, {found.format} format).",
        ),
        weights=AuxWeights(path=str(path)),
        base_model=base_model.value,
        user_id=user,
        user_lora_id=number,
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", ""),
        instance_prompt=instance_prompt,
        train_text_encoder=found.text_encoder,
    )
    try:
        add_local_entry(local_catalog_path(settings.data_dir), entry, catalog)
    except CatalogEditError as error:
        refuse(f"cannot add {path}", str(error))
    if number is not None:
        print(f"userLoraId {number}")
    print(entry.id)


def _element_id(given: str | None) -> str:
    if given is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(given))
    except ValueError:
        refuse(f"--id {given!r}", "an element's id is its akUUID: give a UUID")


def _known_user(user: str, database_url: str) -> str:
    from sfumato.service.keys import KeyService
    from sfumato.store.db import open_store

    try:
        user = str(uuid.UUID(user))
    except ValueError:
        refuse(f"--user {user!r}", "give a user id (a UUID), as `sfumato keys list` shows")
    _, session_factory = open_store(database_url)
    if KeyService(session_factory).username(user) is None:
        refuse(f"--user {user}", "no such user: `sfumato keys list` shows the user ids of this data dir")
    return user


@elements_app.command("list")
def elements_list(data_dir: DataDir = None) -> None:
    """Every element this server serves: the catalog's and users'."""
    settings = load_settings(data_dir)
    table = Table("akUUID", "name", "baseModel", "weights", "user", "userLoraId", "served by")
    for entry in load_catalog(settings).elements.values():
        weights = f"{entry.weight_default} ({entry.weight_min}..{entry.weight_max})"
        number = "" if entry.user_lora_id is None else str(entry.user_lora_id)
        user = entry.user_id or ""
        table.add_row(entry.id, entry.name, entry.base_model, weights, user, number, entry.weights.source)
    print_table(table)


@elements_app.command("remove")
def elements_remove(
    element_id: Annotated[str, typer.Argument(help="The akUUID of an element added with `elements add`.")],
    data_dir: DataDir = None,
) -> None:
    """Take an operator-added element out of the catalog (its file is left alone)."""
    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    if element_id not in catalog.elements:
        refuse(f"cannot remove {element_id}", "no such element: `sfumato elements list` shows them")
    try:
        removed = remove_local_entry(local_catalog_path(settings.data_dir), element_id, catalog)
    except CatalogEditError as error:
        refuse(f"cannot remove {element_id}", str(error))
    print(f"removed {removed.name}")
