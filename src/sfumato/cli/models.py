"""`sfumato models list|add|remove|pull`."""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfumato.catalog import (
    DIFFUSERS_MARKER,
    AuxEntry,
    BackgroundRemoverEntry,
    CatalogEditError,
    CatalogEntry,
    CatalogFormatError,
    CommercialUseRefused,
    LeonardoFace,
    Licensing,
    ModelCatalog,
    QualityDefaults,
    UpscalerEntry,
    WeightsSpec,
    add_local_entry,
    in_use,
    load_catalog,
    local_catalog_path,
    markdown_table,
    remove_local_entry,
    shipped_entries,
    slug_table,
)
from sfumato.catalog.aux_entries import ANY_CONTROL_KIND, CONTROL_KINDS
from sfumato.catalog.ip_adapters import REFERENCE_KINDS
from sfumato.catalog.licences import UNKNOWN_LICENSE
from sfumato.cli.common import DataDir, console, load_settings, refuse
from sfumato.config import Settings

models_app = typer.Typer(help="The model catalog and its weights.", no_args_is_help=True)


@models_app.command("list")
def models_list(
    data_dir: DataDir = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="The shipped catalog as a Markdown table.")] = False,
) -> None:
    """Every Leonardo model id this server knows, what serves it, and whether it is installed."""
    if markdown:
        typer.echo(markdown_table(shipped_entries()))
        typer.echo(slug_table(ModelCatalog.load()), nl=False)
        return
    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    table = Table("modelId", "name", "family", "sdVersion", "served by", "license", "gated", "installed")
    for entry in catalog.listed():
        weights, licensing = entry.weights, entry.licensing
        installed = "built in" if weights.builtin else "yes" if weights.is_installed(settings.models_dir) else ""
        license_cell = licensing.license + ("" if licensing.commercial else " (non-commercial)")
        gated = "gated" if licensing.gated else ""
        cells = (entry.family, entry.face.sd_version, weights.source, license_cell, gated, installed)
        table.add_row(entry.id, escape(entry.name), *map(escape, cells))  # names hold brackets: "FLUX.2 [dev]"
    Console(width=240).print(table)
    _list_slugs(catalog)
    _list_auxiliary(catalog, settings.models_dir)


def _list_slugs(catalog: ModelCatalog) -> None:
    """The v2 slugs and what serves them here (commercial-only applied, as a request would be)."""
    table = Table("v2 slug", "served by", "with references", "license", title="Leonardo v2 model slugs")
    for slug in catalog.slug_names():
        row = catalog.slugs[slug]
        try:
            served = catalog.for_slug(slug)
            referenced = catalog.for_slug(slug, references=1)
        except CommercialUseRefused:
            table.add_row(slug, "refused: not commercially usable (SFUMATO_COMMERCIAL_ONLY)", "", "")
            continue
        assert served is not None and referenced is not None  # the slug is listed
        with_references = referenced.name if referenced is not served else ""
        if row.overflow_model is not None and row.reference_limit is not None:
            overflow = catalog.for_slug(slug, references=row.reference_limit + 1)
            if overflow is not None:
                with_references += f" (over {row.reference_limit}: {overflow.name})"
        table.add_row(slug, escape(served.name), escape(with_references), served.licensing.license)
    Console(width=240).print(table)


def _list_auxiliary(catalog: ModelCatalog, models_dir: Path) -> None:
    """Upscalers and background removers, one table per kind; "in use" marks the one that serves."""
    kinds: list[tuple[str, list[AuxEntry]]] = [
        ("upscalers", list(catalog.upscalers.values())),
        ("background removers", list(catalog.background_removers.values())),
        ("safety checkers (nsfw flags; with none in use, nothing is flagged)", list(catalog.safety_checkers.values())),
        ("depth estimators (depth and normal guidance)", list(catalog.depth_estimators.values())),
        ("pose estimators (pose guidance)", list(catalog.pose_estimators.values())),
    ]
    for title, entries in kinds:
        serving = in_use(entries, models_dir)
        table = Table("id", "name", "served by", "installed", "in use", title=f"Auxiliary models: {title}")
        for entry in entries:
            weights = entry.weights
            installed = "built in" if weights.builtin else "yes" if weights.is_installed(models_dir) else ""
            table.add_row(entry.id, entry.name, weights.source, installed, "yes" if entry is serving else "")
        Console(width=200).print(table)
    _list_ip_adapters(catalog, models_dir)
    _list_controlnets(catalog, models_dir)


def _list_controlnets(catalog: ModelCatalog, models_dir: Path) -> None:
    """ControlNets: one serves per family and control kind, so "in use" names the kinds it serves."""
    entries = list(catalog.controlnets.values())
    serving: dict[str, list[str]] = {}
    for family in sorted({e.family for e in entries}):
        for kind in CONTROL_KINDS:
            rows = [e for e in entries if e.family == family and e.kind in (kind, ANY_CONTROL_KIND)]
            chosen = in_use(rows, models_dir)
            if chosen is not None:
                serving.setdefault(chosen.id, []).append(kind)
    columns = ("id", "name", "family", "kind", "served by", "installed", "in use")
    table = Table(*columns, title="Auxiliary models: ControlNets")
    for entry in entries:
        weights = entry.weights
        installed = "built in" if weights.builtin else "yes" if weights.is_installed(models_dir) else ""
        kinds = ", ".join(serving.get(entry.id, []))
        table.add_row(entry.id, entry.name, entry.family, entry.kind, weights.source, installed, kinds)
    Console(width=200).print(table)


def _list_ip_adapters(catalog: ModelCatalog, models_dir: Path) -> None:
    """IP-Adapters: one serves per family and reference kind, so "in use" names the kinds it serves."""
    entries = list(catalog.ip_adapters.values())
    serving: dict[str, list[str]] = {}
    for family in sorted({e.family for e in entries}):
        for kind in REFERENCE_KINDS:
            chosen = in_use([e for e in entries if e.family == family and kind in e.kinds], models_dir)
            if chosen is not None:
                serving.setdefault(chosen.id, []).append(kind)
    table = Table("id", "name", "family", "served by", "installed", "in use", title="Auxiliary models: IP-Adapters")
    for entry in entries:
        weights = entry.weights
        installed = "built in" if weights.builtin else "yes" if entry.is_installed(models_dir) else ""
        kinds = ", ".join(serving.get(entry.id, []))
        table.add_row(entry.id, entry.name, entry.family, weights.source, installed, kinds)
    Console(width=200).print(table)


class Kind(StrEnum):
    """What `models add` registers: a generation model, or an auxiliary model of one kind."""

    MODEL = "model"
    UPSCALER = "upscaler"
    BACKGROUND_REMOVER = "background-remover"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ")


# The options that only one kind takes.
_KIND_OPTIONS = {
    "--config": Kind.MODEL,
    "--license": Kind.MODEL,
    "--scale": Kind.UPSCALER,
    "--input-size": Kind.BACKGROUND_REMOVER,
    "--mean": Kind.BACKGROUND_REMOVER,
    "--std": Kind.BACKGROUND_REMOVER,
    "--sigmoid": Kind.BACKGROUND_REMOVER,
}
RGB = tuple[float, float, float]


@models_app.command("add")
def models_add(
    path: Annotated[
        Path,
        typer.Argument(
            help="A diffusers folder (with model_index.json) or a .safetensors file; with --kind, an upscaler's "
            "RRDBNet state dict (.safetensors, .pth) or a background remover's .onnx file."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name shown by /platformModels (required for a model; default: the file's)."),
    ] = None,
    model_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="Leonardo-style model id (default: new uuid4); for --kind, the id `models pull|remove` take "
            "(default: from the file name).",
        ),
    ] = None,
    description: Annotated[str, typer.Option(help="Description shown by /platformModels and `models list`.")] = "",
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="For a single file: a local diffusers folder of the same architecture lending its configs and "
            "tokenizers (default: an installed catalog model of the checkpoint's family).",
        ),
    ] = None,
    kind: Annotated[Kind, typer.Option("--kind", help="What PATH is: a generation model or an auxiliary one.")] = (
        Kind.MODEL
    ),
    scale: Annotated[
        int | None, typer.Option("--scale", help="Upscaler: its factor (read off the weights; if given, must match).")
    ] = None,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input-size",
            help="Background remover: the square side it sees (read off the file where fixed there; default 1024).",
        ),
    ] = None,
    mean: Annotated[
        RGB | None, typer.Option("--mean", help="Background remover: per-channel mean it was trained with (R G B).")
    ] = None,
    std: Annotated[
        RGB | None, typer.Option("--std", help="Background remover: per-channel std it was trained with (R G B).")
    ] = None,
    sigmoid: Annotated[bool, typer.Option("--sigmoid", help="Background remover: it answers logits.")] = False,
    license_tag: Annotated[
        str | None,
        typer.Option(
            "--license",
            help="A model's licence, as a Hugging Face licence tag such as apache-2.0 (default: unknown, which "
            "SFUMATO_COMMERCIAL_ONLY refuses; docs/models.md lists the tags it knows).",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Register a local model under a Leonardo model id, or with --kind an upscaler or background
    remover (written to <data-dir>/catalog.local.toml)."""
    from sfumato.engine import DetectionError, detect

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    path = path.expanduser().resolve()
    given = {"--config": config, "--scale": scale, "--input-size": input_size, "--mean": mean, "--std": std}
    for option, value in {**given, "--sigmoid": sigmoid or None, "--license": license_tag}.items():
        if value is not None and _KIND_OPTIONS[option] is not kind:
            refuse(f"cannot add {path}", f"{option} is for --kind {_KIND_OPTIONS[option]}")
    if kind is not Kind.MODEL:
        given = {"scale": scale, "input_size": input_size, "mean": mean, "std": std, "sigmoid": sigmoid or None}
        face = {"id": model_id or _aux_id(path), "name": name or path.stem}
        face["description"] = description or f"Operator-added {kind.label} ({path.name})."
        _add_auxiliary(kind, path, face, {key: value for key, value in given.items() if value is not None}, settings)
        return
    if name is None:
        refuse(f"cannot add {path}", "--name is required for a model: it is what /platformModels shows")
    try:
        detected = detect(path)
        if detected.single_file:
            config = _single_file_config(detected.family, config, catalog, settings.models_dir)
        elif config is not None:
            raise DetectionError("--config is for single-file checkpoints; a diffusers folder has its own configs")
        # A single file's native size is its config folder's (the same architecture).
        defaults = detect(config).defaults if config is not None else detected.defaults
    except DetectionError as error:
        console.print(f"[red]cannot add {path}[/red]: {error}")
        raise typer.Exit(2) from None
    entry = CatalogEntry(
        face=LeonardoFace(
            id=model_id or str(uuid.uuid4()),
            name=name,
            description=description or f"Operator-added {detected.family} model ({path.name}).",
            sd_version=defaults.sd_version,
            native_width=defaults.native_width,
            native_height=defaults.native_height,
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        ),
        family=detected.family,
        quality=QualityDefaults(default_steps=defaults.default_steps, default_guidance=defaults.default_guidance),
        weights=WeightsSpec(
            path=None if detected.single_file else str(path),
            file=str(path) if detected.single_file else None,
            config=str(config) if config is not None else None,
        ),
        licensing=Licensing(license=license_tag or UNKNOWN_LICENSE),
    )
    local_file = local_catalog_path(settings.data_dir)
    try:
        add_local_entry(local_file, entry, catalog)
    except CatalogEditError as error:
        console.print(f"[red]cannot add[/red]: {error}")
        raise typer.Exit(2) from None
    new_id = str(uuid.UUID(str(entry.id)))  # as add_local_entry wrote it
    if config is not None:
        console.print(f"single-file {detected.family} checkpoint; configs and tokenizers from {config}")
    console.print(f"[green]added[/green] {name} ({detected.family}) to {local_file}; restart the server to serve it")
    typer.echo(new_id)


def _add_auxiliary(kind: Kind, path: Path, face: dict[str, str], given: dict[str, Any], settings: Settings) -> None:
    """`models add --kind upscaler|background-remover`: the kind's fields are read off the file where
    it shows them (an option that disagrees is refused), then the row is written like a model's."""
    from sfumato.engine import DetectionError, detect_background_remover, detect_upscaler

    row: dict[str, Any] = {**face, "path": str(path)}
    notes = []
    try:
        if kind is Kind.UPSCALER:
            row["scale"] = detect_upscaler(path).scale
            if given.get("scale", row["scale"]) != row["scale"]:
                raise DetectionError(f"{path} is a x{row['scale']} network, not x{given['scale']} as --scale says")
            entry: AuxEntry = UpscalerEntry.from_row(row, where=str(path))
        else:
            side = detect_background_remover(path)
            if side is not None and given.get("input_size", side) != side:
                raise DetectionError(f"{path} takes {side}x{side} pictures, not {given['input_size']} (--input-size)")
            row |= {key: list(value) if isinstance(value, tuple) else value for key, value in given.items()}
            row.setdefault("input_size", side or BackgroundRemoverEntry.input_size)
            if side is None and "input_size" not in given:
                notes.append(f"its input size is not fixed in the file: it will see {row['input_size']}² pictures")
            if importlib.util.find_spec("onnxruntime") is None:
                notes.append("it runs with onnxruntime, not installed here: pip install 'sfumato[onnx]'")
            entry = BackgroundRemoverEntry.from_row(row, where=str(path))
    except (DetectionError, CatalogFormatError) as error:  # each names the file
        refuse(f"cannot add {kind.label}", str(error))
    local_file = local_catalog_path(settings.data_dir)
    try:
        add_local_entry(local_file, entry, load_catalog(settings))
    except CatalogEditError as error:
        refuse(f"cannot add {kind.label}", str(error))
    catalog = load_catalog(settings)
    of_kind: Mapping[str, AuxEntry] = catalog.upscalers if kind is Kind.UPSCALER else catalog.background_removers
    serving = in_use(of_kind.values(), settings.models_dir)
    if serving is not None and serving.id != entry.id:
        notes.append(f"{serving.name} ({serving.id}) stays in use: of a kind, the first installed real row serves")
    added = f"{entry.name} ({kind.label}) to {local_file}; restart the server to use it"
    console.print(f"[green]added[/green] {escape(added)}", soft_wrap=True)
    for note in notes:
        console.print(escape(note), soft_wrap=True)
    typer.echo(entry.id)


def _aux_id(path: Path) -> str:
    """The default id of an auxiliary model: its file name as one lower-case word."""
    return re.sub(r"[^a-z0-9._-]+", "-", path.stem.lower()).strip("-._") or "local"


def _single_file_config(family: str, given: Path | None, catalog: ModelCatalog, models_dir: Path) -> Path:
    """The diffusers folder a single-file checkpoint is loaded with: `--config`, else an installed
    catalog model of the same family (its reference model first). Raises DetectionError if none fits."""
    from sfumato.engine import DetectionError, family_of_folder

    if given is not None:
        folder = given.expanduser().resolve()
        if not (folder / DIFFUSERS_MARKER).is_file():
            raise DetectionError(f"--config {folder} is not a diffusers folder (no {DIFFUSERS_MARKER})")
        if (config_family := family_of_folder(folder)) != family:
            raise DetectionError(f"the checkpoint is {family} but --config {folder} is {config_family}")
        return folder
    reference = next((e for e in catalog.fallbacks.values() if e.family == family), None)
    candidates = [reference] if reference else []
    candidates += [e for e in catalog.listed() if e.family == family]
    for weights in (entry.weights for entry in candidates):
        # Built-in models are tiny stand-ins, and `file`/UNet rows have no configs of their own.
        if not (weights.builtin or weights.file or weights.unet_file) and weights.is_installed(models_dir):
            return weights.weights_dir(models_dir).resolve()
    pull = f" (e.g. `sfumato models pull {reference.face.sd_version}`)" if reference else ""
    raise DetectionError(
        f"it is a {family} single-file checkpoint, which loads offline with the configs and tokenizers of a local "
        f"diffusers folder of the same architecture, and no {family} model is installed{pull}: pass --config DIR"
    )


@models_app.command("remove")
def models_remove(
    model_id: Annotated[str, typer.Argument(help="The id of a model (or auxiliary model) added with `models add`.")],
    data_dir: DataDir = None,
) -> None:
    """Take an operator-added model or auxiliary model out of the catalog (its files are left alone)."""
    settings = load_settings(data_dir)
    try:
        removed = remove_local_entry(local_catalog_path(settings.data_dir), model_id, load_catalog(settings))
    except CatalogEditError as error:
        refuse("cannot remove", str(error))
    console.print(f"removed {removed.name} ({model_id}); its files at {removed.weights.source} were not deleted")


@models_app.command("pull")
def models_pull(
    model: Annotated[
        str,
        typer.Argument(
            help="A Leonardo modelId, a v2 model slug such as flux-pro-2.0, an sd_version such as v1_5, "
            "or an auxiliary model's id."
        ),
    ],
    data_dir: DataDir = None,
    revision: Annotated[str | None, typer.Option(help="Hub revision (branch, tag or commit).")] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            help="Hub URL (default: setting hub_endpoint, else env HF_ENDPOINT, else https://huggingface.co)."
        ),
    ] = None,
) -> None:
    """Download a model's weights from the Hugging Face Hub (needs internet); re-run to resume.

    A v2 slug fetches every model it may use (with and without image references); under
    commercial-only, what would serve (each row's commercial_model)."""
    from sfumato.engine import NothingToPull, hub_endpoint, pull_auxiliary, pull_model

    settings = load_settings(data_dir)
    catalog = load_catalog(settings)
    entries = _pull_targets(catalog, model)
    url = hub_endpoint(endpoint or settings.models.hub_endpoint)
    for entry in entries:
        console.print(f"downloading {entry.weights.source} from {url} into {settings.models_dir} ...")
        if not isinstance(entry, AuxEntry) and entry.licensing.gated:
            console.print(
                f"{entry.weights.source} is gated: accept its terms on the hub and log in (`hf auth login`) first"
            )
        try:
            # An explicit pull is the operator's consent to download, whatever the server setting says.
            if isinstance(entry, AuxEntry):
                pull_auxiliary(entry, settings.models_dir, revision=revision, endpoint=url)
            else:
                pull_model(entry, settings.models_dir, revision=revision, endpoint=url, allow_downloads=True)
        except NothingToPull as reason:
            console.print(str(reason))
            continue
        except Exception as error:  # the hub, the network or the disk: say which, and how to go on
            failure = f"{type(error).__name__}: {error}"
            console.print(f"[red]pull of {escape(entry.name)} failed[/red]: {escape(failure)}")
            console.print("finished files are kept: run the same command again to continue")
            raise typer.Exit(1) from None
        console.print(f"[green]{escape(entry.name)} is installed[/green]")


def _pull_targets(catalog: ModelCatalog, name: str) -> list[CatalogEntry | AuxEntry]:
    """What `models pull NAME` fetches: an auxiliary model, or the model rows a modelId, sd_version or
    v2 slug is served by here (commercial-only applied, as a request would be)."""
    auxiliary = catalog.auxiliary(name)
    if auxiliary is not None:
        return [auxiliary]
    slug = catalog.slugs.get(name)
    by_id = catalog.get(name) or catalog.fallbacks.get(name)
    named = [catalog.models[i] for i in slug.model_ids()] if slug else [by_id]
    rows = [row for row in named if row is not None]
    if not rows:
        refuse(f"unknown model {name!r}", "see `sfumato models list` (modelIds, v2 slugs, auxiliary ids)")
    try:
        served = [catalog.serving(row) for row in rows]
    except CommercialUseRefused as refusal:
        refuse(f"cannot pull {name}", refusal.message)
    for row, stand_in in zip(rows, served, strict=True):
        if stand_in is not row:
            console.print(escape(f"commercial-only: {row.name} is served by {stand_in.name}, which is what is fetched"))
    return list({id(entry): entry for entry in served}.values())
