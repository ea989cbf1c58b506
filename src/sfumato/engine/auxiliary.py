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

from sfumato.catalog import AuxEntry, BackgroundRemoverEntry, ModelCatalog, UpscalerEntry, in_use
from sfumato.engine.errors import EngineConfigError

if TYPE_CHECKING:
    from sfumato.engine.stages.background import BackgroundRemover
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

    # --- IP-Adapters and image encoders (image references) ---

    # --- LoRA elements ---

    # --- the safety classifier (nsfw flags) ---

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
