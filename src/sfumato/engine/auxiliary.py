"""The auxiliary models a process uses: picked from the catalog, built or loaded once, kept.

Of each kind the catalog's first installed real row serves, else the kind's built-in tiny row,
built offline on first use into the models dir (`catalog.in_use`). Absent real weights are never
downloaded here: an operator installs them with `sfumato models pull <id>` or puts the file at
the row's `path`. Loading (in `stages/`) imports torch, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sfumato.catalog import (
    AuxEntry,
    BackgroundRemoverEntry,
    ControlNetEntry,
    DepthEstimatorEntry,
    ModelCatalog,
    PoseEstimatorEntry,
    UpscalerEntry,
    in_use,
)
from sfumato.catalog.aux_entries import ANY_CONTROL_KIND
from sfumato.engine.errors import EngineConfigError
from sfumato.engine.families.base import reference_field, refuse
from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:
    from sfumato.catalog import IpAdapterEntry
    from sfumato.engine.families import Family
    from sfumato.engine.features.ip_adapter import IpAdapter
    from sfumato.engine.stages.background import BackgroundRemover
    from sfumato.engine.stages.preprocess import DepthEstimator, PoseEstimator
    from sfumato.engine.stages.safety import SafetyChecker
    from sfumato.engine.stages.upscale import Upscaler

E = TypeVar("E", bound=AuxEntry)


class AuxiliaryModels:
    """The upscaler and background remover of one engine, on `device` (resolved on first use)."""

    def __init__(self, catalog: ModelCatalog, models_dir: Path, device: Callable[[], str], threads: int | None) -> None:
        self.catalog = catalog
        self.models_dir = models_dir
        self._device = device
        self._threads = threads
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def upscaler(self) -> Upscaler:
        from sfumato.engine.stages.upscale import load_upscaler

        entry = self._pick(self.catalog.upscalers.values(), UpscalerEntry.KIND)
        return self._load(entry, lambda: load_upscaler(entry, self.models_dir, self._device()))

    def background_remover(self) -> BackgroundRemover:
        from sfumato.engine.stages.background import load_background_remover

        entry = self._pick(self.catalog.background_removers.values(), BackgroundRemoverEntry.KIND)
        return self._load(entry, lambda: load_background_remover(entry, self.models_dir, self._device(), self._threads))

    # --- ControlNets and their preprocessors (guidance) ---

    def controlnet_entry(self, family: str, kind: str) -> ControlNetEntry | None:
        """The row serving `kind` guidance for models of `family`: its first installed real row of that
        kind (or of every kind: "any"), else a built-in one; None when the catalog has neither."""
        rows = self.catalog.controlnets.values()
        return in_use((e for e in rows if e.family == family and e.kind in (kind, ANY_CONTROL_KIND)), self.models_dir)

    def check_controls(self, family: Family, request: RenderRequest, builtin_model: bool) -> None:
        """At POST: refuse a guide no installed ControlNet serves for the family, naming the row to
        pull (a built-in tiny ControlNet serves only the built-in tiny model it was made from)."""
        served_by = family.controlnet_family or family.name
        for guide in request.controls:
            entry = self.controlnet_entry(served_by, guide.kind)
            if entry is not None and (entry.weights.builtin is None or builtin_model):
                continue
            listed = [e.id for e in self.catalog.controlnets.values()
                      if e.family == served_by and e.kind == guide.kind and e.weights.builtin is None]  # fmt: skip
            hint = f"an operator can run `sfumato models pull {listed[0]}`" if listed else "add a [[controlnet]] row"
            raise refuse("controlnets", f"no {guide.kind} ControlNet for {family.label} models is installed: {hint}")

    def controlnet(self, entry: ControlNetEntry) -> Any:
        """The row's ControlNet model (diffusers), on the CPU in float32: the render places it."""
        from sfumato.engine.stages.controlnets import load_controlnet

        return self._load(entry, lambda: load_controlnet(entry, self.models_dir))

    def depth_estimator(self) -> DepthEstimator:
        from sfumato.engine.stages.preprocess import load_depth_estimator

        entry = self._pick(self.catalog.depth_estimators.values(), DepthEstimatorEntry.KIND)
        return self._load(entry, lambda: load_depth_estimator(entry, self.models_dir, self._device()))

    def pose_estimator(self) -> PoseEstimator:
        from sfumato.engine.stages.preprocess import load_pose_estimator

        entry = self._pick(self.catalog.pose_estimators.values(), PoseEstimatorEntry.KIND)
        return self._load(entry, lambda: load_pose_estimator(entry, self.models_dir, self._device()))

    # --- IP-Adapters and image encoders (image references) ---

    def ip_adapter_entry(self, family: str, kind: str) -> IpAdapterEntry | None:
        """The row serving `kind` references for models of `family`: its first installed real row
        serving that kind, else a built-in one; None when there is neither. Torch-free."""
        rows = [e for e in self.catalog.ip_adapters.values() if e.family == family and kind in e.kinds]
        return in_use(rows, self.models_dir)

    def check_references(self, family: Family, request: RenderRequest) -> None:
        """At POST: refuse a reference no installed adapter serves, naming its field and the row to pull."""
        adapters = family.ip_adapter_family
        if adapters is None:
            return
        for reference in request.references:
            if self.ip_adapter_entry(adapters, reference.kind) is None:
                raise refuse(reference_field(reference.kind), self._no_adapter(adapters, reference.kind))

    def ip_adapter(self, family: str, kind: str) -> IpAdapter:
        """The adapter serving `kind` references for models of `family` (`ip_adapter_entry`), read once."""
        from sfumato.engine.features.ip_adapter import load_ip_adapter

        entry = self.ip_adapter_entry(family, kind)
        if entry is None:
            raise EngineConfigError(self._no_adapter(family, kind))
        return self._load(entry, lambda: load_ip_adapter(entry, self.models_dir, self._device()))

    def _no_adapter(self, family: str, kind: str) -> str:
        listed = [e.id for e in self.catalog.ip_adapters.values() if e.family == family and kind in e.kinds]
        hint = f"an operator can run `sfumato models pull {listed[0]}`" if listed else "add an [[ip_adapter]] row"
        return f"no IP-Adapter for {family} models serving {kind} references is installed: {hint}"

    # --- LoRA elements ---

    def check_loras(self, request: RenderRequest) -> None:
        """At POST: refuse (400 on `elements`) an element whose weights file is not installed."""
        for lora in request.loras:
            entry = self.catalog.elements.get(lora.element_id)
            if entry is not None and entry.weights.builtin is None and not entry.weights.is_installed(self.models_dir):
                raise refuse(
                    "elements",
                    f"element {entry.name} ({entry.id}) is not installed on this server: its operator can run "
                    f"`sfumato models pull {entry.id}` (or put its file at {entry.weights.source})",
                )

    def element_file(self, element_id: str) -> Path:
        """The LoRA file of catalog element `element_id` (a built-in one built first); the render
        loads it into the model (`features/lora.py`). An absent file is a config error."""
        entry = self.catalog.elements.get(element_id)
        if entry is None:
            raise EngineConfigError(f"element {element_id} is not in the catalog (was it removed?)")
        if entry.weights.builtin is not None:
            from sfumato.engine.weights.tiny_lora import ensure_tiny_lora

            with self._lock:
                return ensure_tiny_lora(entry.weights.builtin, entry.weights.location(self.models_dir))
        if not entry.weights.is_installed(self.models_dir):
            raise EngineConfigError(
                f"element {entry.name} ({element_id}): its weights {entry.weights.source} are not installed; "
                f"run `sfumato models pull {element_id}` or put the file in place"
            )
        return entry.weights.location(self.models_dir)

    # --- the safety classifier (nsfw flags) ---

    def safety_checker(self) -> SafetyChecker | None:
        """The catalog's NSFW classifier in use (its first installed row, else a built-in row it
        lists), or None: the shipped catalog lists no built-in one, so a fresh install flags nothing."""
        entry = in_use(self.catalog.safety_checkers.values(), self.models_dir)
        if entry is None:
            return None
        from sfumato.engine.stages.safety import load_safety_checker

        checker: SafetyChecker = self._load(entry, lambda: load_safety_checker(entry, self.models_dir, self._device()))
        return checker

    def _pick(self, entries: Iterable[E], kind: str) -> E:
        entry = in_use(entries, self.models_dir)
        if entry is None:
            raise EngineConfigError(f"the catalog has no installed {kind} and no built-in one: add a [[{kind}]] row")
        return entry

    def _load(self, entry: AuxEntry, load: Callable[[], Any]) -> Any:
        """`load()`'s model for `entry`, once per process (threads asking together wait for one load)."""
        with self._lock:
            if entry.id not in self._loaded:
                if entry.weights.builtin is not None:
                    from sfumato.engine.weights.tiny_aux import ensure_tiny_aux

                    ensure_tiny_aux(entry.weights.builtin, entry.weights.location(self.models_dir))
                self._loaded[entry.id] = load()
            return self._loaded[entry.id]
