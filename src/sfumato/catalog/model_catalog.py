"""The catalog a process serves: its files read and merged in order, and the look-ups on them.

The data lives in `catalog.toml` beside this file, plus an optional operator file (setting
`models.catalog_file`) and the data dir's `catalog.local.toml`, which `sfumato models add|remove`
maintain (`local_file.py`). A later file's row with the same id replaces an earlier one.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sfumato.catalog.aux_entries import (
    AUX_KINDS,
    AuxEntry,
    BackgroundRemoverEntry,
    ControlNetEntry,
    DepthEstimatorEntry,
    PoseEstimatorEntry,
    SafetyCheckerEntry,
    UpscalerEntry,
)
from sfumato.catalog.elements import ElementEntry
from sfumato.catalog.entries import CatalogEntry, CatalogFormatError
from sfumato.catalog.ip_adapters import IpAdapterEntry
from sfumato.catalog.licences import CommercialUseRefused, terms_of
from sfumato.catalog.slugs import SlugEntry
from sfumato.config import Settings

log = logging.getLogger(__name__)

SHIPPED_CATALOG = Path(__file__).with_name("catalog.toml")
TINY_MODEL_ID = "5f7e2a1c-0b5d-4c3e-9a8f-1d2e3f4a5b6c"
# The slug of the catalog's CPU-friendly real model, which `sfumato serve` tells how to install.
CPU_FRIENDLY_SLUG = "sd-turbo"
# The spec's `modelId` default: what the official SDKs send when the caller names none.
LEONARDO_DEFAULT_MODEL_ID = "b24e16ff-06e3-43eb-8d33-4416c2d75876"
# The operator catalog that `sfumato models add` writes, in the data dir.
LOCAL_CATALOG_NAME = "catalog.local.toml"


def local_catalog_path(data_dir: Path) -> Path:
    """Where `models add` records rows for this data dir."""
    return data_dir / LOCAL_CATALOG_NAME


def load_catalog(settings: Settings) -> ModelCatalog:
    """The catalog a process serves: shipped rows, the operator's file, then `models add` rows."""
    return ModelCatalog.load(
        settings.models.catalog_file,
        local_file=local_catalog_path(settings.data_dir),
        commercial_only=settings.models.commercial_only,
    )


def read_catalog_file(path: Path) -> dict[str, Any]:
    """A catalog file's tables; a TOML syntax error names the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogFormatError(f"{path}: {error}") from None


def _rows(data: dict[str, Any], table: str, origin: Path) -> list[dict[str, Any]]:
    rows = data.get(table, [])
    if not (isinstance(rows, list) and all(isinstance(row, dict) for row in rows)):
        raise CatalogFormatError(f"{origin}: `{table}` must be [[{table}]] tables")
    return rows


@dataclass
class ModelCatalog:
    """Look-ups by Leonardo model id and by `sd_version` fallback."""

    models: dict[str, CatalogEntry] = field(default_factory=dict)
    fallbacks: dict[str, CatalogEntry] = field(default_factory=dict)
    # Which file each model or auxiliary id came from last, so `models remove` can refuse shipped ids.
    origins: dict[str, Path] = field(default_factory=dict)
    # Auxiliary models by id, in file order (the engine uses the first installed real one).
    upscalers: dict[str, UpscalerEntry] = field(default_factory=dict)
    background_removers: dict[str, BackgroundRemoverEntry] = field(default_factory=dict)
    # ControlNets (one serves per family and kind) and depth estimators (`[[controlnet]]`, `[[depth_estimator]]`).
    controlnets: dict[str, ControlNetEntry] = field(default_factory=dict)
    depth_estimators: dict[str, DepthEstimatorEntry] = field(default_factory=dict)
    pose_estimators: dict[str, PoseEstimatorEntry] = field(default_factory=dict)
    # LoRA elements by akUUID (`[[element]]`, `catalog/elements.py`).
    elements: dict[str, ElementEntry] = field(default_factory=dict)
    # IP-Adapters (one serves per family and reference kind: `[[ip_adapter]]`, `catalog/ip_adapters.py`).
    ip_adapters: dict[str, IpAdapterEntry] = field(default_factory=dict)
    # NSFW classifiers (`[[safety_checker]]`): the first installed one flags images; none, none flagged.
    safety_checkers: dict[str, SafetyCheckerEntry] = field(default_factory=dict)
    # Leonardo v2 model slugs -> the model rows serving them (`[[slug]]`, `catalog/slugs.py`).
    slugs: dict[str, SlugEntry] = field(default_factory=dict)
    # `SFUMATO_COMMERCIAL_ONLY`: every look-up a request makes answers a commercially usable row or refuses.
    commercial_only: bool = False

    @classmethod
    def load(
        cls, operator_file: Path | None = None, local_file: Path | None = None, commercial_only: bool = False
    ) -> ModelCatalog:
        """Shipped rows, then the operator file's, then the data dir's local file (a missing local file is empty)."""
        catalog = cls(commercial_only=commercial_only)
        catalog._merge(read_catalog_file(SHIPPED_CATALOG), SHIPPED_CATALOG)
        if operator_file is not None:
            catalog._merge(read_catalog_file(operator_file), operator_file)
        if local_file is not None and local_file.is_file():
            catalog._merge(read_catalog_file(local_file), local_file)
        catalog._check_model_links()
        return catalog

    def _check_model_links(self) -> None:
        """Every id a slug or a `commercial_model` names is a `[[model]]` row (once all files are merged,
        so an operator file may define what another names)."""
        links: list[tuple[str, str | None]] = [
            (f"[[slug]] {s.slug!r}", model) for s in self.slugs.values() for model in s.model_ids()
        ]
        rows = [*self.models.values(), *self.fallbacks.values()]
        links += [(f"{e.name!r}'s commercial_model", e.licensing.commercial_model) for e in rows]
        for where, model in links:
            if model is not None and model not in self.models:
                raise CatalogFormatError(f"{where} names {model!r}, which is no [[model]] row's id")

    def _merge(self, data: dict[str, Any], origin: Path) -> None:
        # One reader per kind of row; ControlNets, LoRAs... get their table here too.
        readers: dict[str, Callable[[list[dict[str, Any]], Path], None]] = {
            "model": self._merge_models,
            "fallback": self._merge_fallbacks,
            SlugEntry.KIND: self._merge_slugs,
            UpscalerEntry.KIND: lambda rows, origin: _merge_aux(
                UpscalerEntry, self.upscalers, rows, origin, self.origins
            ),
            BackgroundRemoverEntry.KIND: lambda rows, origin: _merge_aux(
                BackgroundRemoverEntry, self.background_removers, rows, origin, self.origins
            ),
            ControlNetEntry.KIND: lambda rows, origin: _merge_aux(
                ControlNetEntry, self.controlnets, rows, origin, self.origins
            ),
            DepthEstimatorEntry.KIND: lambda rows, origin: _merge_aux(
                DepthEstimatorEntry, self.depth_estimators, rows, origin, self.origins
            ),
            PoseEstimatorEntry.KIND: lambda rows, origin: _merge_aux(
                PoseEstimatorEntry, self.pose_estimators, rows, origin, self.origins
            ),
            ElementEntry.KIND: self._merge_elements,
            SafetyCheckerEntry.KIND: lambda rows, origin: _merge_aux(
                SafetyCheckerEntry, self.safety_checkers, rows, origin, self.origins
            ),
            IpAdapterEntry.KIND: lambda rows, origin: _merge_aux(
                IpAdapterEntry, self.ip_adapters, rows, origin, self.origins
            ),
        }
        for table in data:
            if table in readers:
                readers[table](_rows(data, table, origin), origin)
            else:  # a later version's kind of row, say: the rows this version knows still load
                log.warning("%s: ignoring %r, not a kind of catalog row this version of Sfumato knows", origin, table)

    def _merge_models(self, rows: list[dict[str, Any]], origin: Path) -> None:
        for number, row in enumerate(rows, 1):
            entry = CatalogEntry.from_row(row, where=f"{origin}: [[model]] #{number}")
            self.models[str(entry.id)] = entry
            self.origins[str(entry.id)] = origin

    def _merge_fallbacks(self, rows: list[dict[str, Any]], origin: Path) -> None:
        for number, row in enumerate(rows, 1):
            where = f"{origin}: [[fallback]] #{number}"
            if "id" in row:
                raise CatalogFormatError(f"{where}: a fallback row serves by sd_version and has no 'id'")
            entry = CatalogEntry.from_row({"id": None, **row}, where=where)
            self.fallbacks[entry.face.sd_version] = entry

    def _merge_slugs(self, rows: list[dict[str, Any]], origin: Path) -> None:
        for number, row in enumerate(rows, 1):
            entry = SlugEntry.from_row(row, where=f"{origin}: [[slug]] #{number}")
            self.slugs[entry.slug] = entry

    def _merge_elements(self, rows: list[dict[str, Any]], origin: Path) -> None:
        _merge_aux(ElementEntry, self.elements, rows, origin, self.origins)
        numbers = [e.user_lora_id for e in self.elements.values() if e.user_lora_id is not None]
        if len(numbers) != len(set(numbers)):
            raise CatalogFormatError(f"{origin}: two [[element]] rows share a user_lora_id")

    def get(self, model_id: str) -> CatalogEntry | None:
        return self.models.get(model_id)

    def element(self, ak_uuid: str) -> ElementEntry | None:
        """A catalog element (not a user's) by its akUUID."""
        entry = self.elements.get(ak_uuid.lower())
        return entry if entry is not None and not entry.is_user_element else None

    def user_element(self, user_lora_id: int, user_id: str) -> ElementEntry | None:
        """`user_id`'s own element numbered `user_lora_id`; another user's is as unknown."""
        found = (e for e in self.elements.values() if e.user_lora_id == user_lora_id and e.user_id == user_id)
        return next(found, None)

    def public_elements(self) -> list[ElementEntry]:
        """The catalog's own elements (no user's), in file order: `GET /elements`."""
        return [e for e in self.elements.values() if not e.is_user_element]

    def user_elements(self, user_id: str) -> list[ElementEntry]:
        return [e for e in self.elements.values() if e.user_id == user_id]

    def next_user_lora_id(self) -> int:
        """The next free `user_lora_id` (they are never reused while their row is listed)."""
        return max((e.user_lora_id or 0 for e in self.elements.values()), default=0) + 1

    def auxiliary(self, aux_id: str) -> AuxEntry | None:
        """The upscaler or background remover with this id (what `models pull` takes)."""
        return (
            self.upscalers.get(aux_id)
            or self.background_removers.get(aux_id)
            or self.elements.get(aux_id)
            or self.controlnets.get(aux_id)
            or self.depth_estimators.get(aux_id)
            or self.pose_estimators.get(aux_id)
            or self.ip_adapters.get(aux_id)
            or self.safety_checkers.get(aux_id)
        )

    def is_shipped(self, model_id: str) -> bool:
        """True for ids the shipped catalog defines, even where another file overrides them."""
        return model_id in _shipped_ids()

    def resolve(self, model_id: str | None, sd_version: str | None) -> CatalogEntry | None:
        """The model a request asks for: its modelId, else its sd_version, else Leonardo's default;
        commercial-only applied (`serving`). None: no such model."""
        if model_id is not None:
            entry = self.models.get(model_id)
        elif sd_version is not None:
            entry = self.fallbacks.get(sd_version)
        else:
            entry = self.models.get(LEONARDO_DEFAULT_MODEL_ID)
        return None if entry is None else self.serving(entry)

    def for_slug(self, slug: str, references: int = 0) -> CatalogEntry | None:
        """The row serving a v2 request for `slug` carrying `references` image references, commercial-only
        applied (`serving`). None: a slug this server does not know."""
        row = self.slugs.get(slug)
        return None if row is None else self.serving(self.models[row.model_for(references)])

    def slug_names(self) -> list[str]:
        """The v2 slugs this server serves, sorted."""
        return sorted(self.slugs)

    def serving(self, entry: CatalogEntry) -> CatalogEntry:
        """`entry`, or under commercial-only its commercially usable stand-in (`commercial_model`).

        The one place commercial-only is decided: every request's model passes here. Raises
        CommercialUseRefused (a 400) naming the model and its licence when neither is usable."""
        if not self.commercial_only or entry.licensing.commercial:
            return entry
        terms = terms_of(entry.licensing.license)
        stand_in = self.models.get(entry.licensing.commercial_model or "")
        if stand_in is not None and stand_in.licensing.commercial:
            return stand_in
        why = (
            f"its stand-in {stand_in.name} ({stand_in.weights.source}) is not commercially usable either"
            if stand_in is not None
            else "its catalog row names no commercial_model to serve in its place"
        )
        raise CommercialUseRefused(
            f"model {entry.name} cannot serve here: this server is commercial-only (SFUMATO_COMMERCIAL_ONLY) and "
            f"{entry.weights.source} is licensed under {terms.title}, which does not allow commercial use; {why} "
            "(docs/models.md lists the licences)"
        )

    @staticmethod
    def key_of(entry: CatalogEntry) -> str:
        """A stable name for an entry, stored with a job so the worker finds the same model."""
        return entry.id if entry.id is not None else f"sd_version:{entry.face.sd_version}"

    def resolve_key(self, key: str) -> CatalogEntry:
        if key.startswith("sd_version:"):
            return self.fallbacks[key.removeprefix("sd_version:")]
        return self.models[key]

    def listed(self) -> list[CatalogEntry]:
        """Platform models in a stable order: featured first, then by name."""
        return sorted(self.models.values(), key=lambda e: (not e.face.featured, e.name))

    def photographic(self) -> list[CatalogEntry]:
        """The rows marked `photo_real = true`, in file order: PhotoReal v1's models (under
        commercial-only, the commercially usable ones)."""
        rows = [entry for entry in self.models.values() if entry.face.photo_real]
        return [entry for entry in rows if entry.licensing.commercial or not self.commercial_only]


_Aux = TypeVar("_Aux", bound=AuxEntry)


def _merge_aux(
    kind: type[_Aux], into: dict[str, _Aux], rows: list[dict[str, Any]], origin: Path, origins: dict[str, Path]
) -> None:
    for number, row in enumerate(rows, 1):
        entry = kind.from_row(row, where=f"{origin}: [[{kind.KIND}]] #{number}")
        into[entry.id] = entry
        origins[entry.id] = origin


def shipped_entries() -> list[CatalogEntry]:
    """The shipped catalog's model rows in file order (no operator or local rows)."""
    return list(ModelCatalog.load().models.values())


def _shipped_ids() -> set[str]:
    data = read_catalog_file(SHIPPED_CATALOG)
    tables = ("model", *(k.KIND for k in AUX_KINDS), ElementEntry.KIND, IpAdapterEntry.KIND)
    return {str(row["id"]) for table in tables for row in data.get(table, [])}
