"""`Engine`: the one door into image generation, built once per process.

Everything outside `engine/` reaches the models through these five calls, in the order a
generation needs them:

- `availability(entry)` at POST: can this server serve the model now (installed, built in, or
  downloadable)? Cheap, torch-free.
- `traits(entry)` at POST: what the generation rules need of the model's family (its seed range,
  whether a style's stock negative terms apply), as plain values.
- `check(entry, request)` at POST: the family's rules (schedulers, size multiples, seeds, tasks),
  raising NotSupported naming the Leonardo field. Torch-free, so an API-only process never loads
  torch or diffusers.
- `weights_ready(entry)` in the worker: True once the weights are on disk (building a built-in
  model, or starting a download and answering False until it lands).
- `render(entry, request, on_step)` in the worker: the pictures. The first render loads torch,
  diffusers and the pipeline; later ones reuse the cached pipeline.

Post-processing of finished pictures (variations, transparency), by the catalog's auxiliary
models (`auxiliary.py`), in the worker: `upscale(image, scale)`, `remove_background(image)`, and
`nsfw(image)`, the flag of the catalog's safety checker (False without one).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sfumato.catalog import CatalogEntry, ModelCatalog
from sfumato.engine.auxiliary import AuxiliaryModels
from sfumato.engine.families import family_of
from sfumato.engine.request import FamilyTraits, RenderRequest, StepCallback
from sfumato.engine.weights.fetcher import HubAccess, WeightsFetcher, unavailable_message

if TYPE_CHECKING:  # torch and diffusers load with the first render, not with the door
    from PIL import Image

    from sfumato.config import EngineSettings
    from sfumato.engine.renderer import Renderer


class Engine:
    """Checks requests against model families, fetches weights, and renders.

    `hub` is how absent weights may be fetched (None: never; absent models are refused at POST).
    The renderer (torch, diffusers, the pipeline cache) is built on the first `render`, so a
    process that only checks requests never pays for it.
    """

    def __init__(
        self,
        settings: EngineSettings,
        models_dir: Path,
        hub: HubAccess | None = None,
        catalog: ModelCatalog | None = None,
    ) -> None:
        self.settings = settings
        self.models_dir = models_dir
        self.hub = hub
        self._fetcher = WeightsFetcher(self.models_dir, hub) if hub is not None else None
        self._renderer: Renderer | None = None
        self._lock = threading.Lock()
        # The catalog's upscalers and background removers (without one: the shipped catalog's).
        self._aux = AuxiliaryModels(
            catalog if catalog is not None else ModelCatalog.load(), models_dir, self._device, settings.torch_threads
        )

    # --- POST time: no torch -------------------------------------------------------------------

    def is_installed(self, entry: CatalogEntry) -> bool:
        """Whether `entry` can render without a download (a built-in model is built on demand)."""
        return entry.weights.builtin is not None or entry.weights.is_installed(self.models_dir)

    def availability(self, entry: CatalogEntry) -> str | None:
        """None when `entry` can be served (installed, built in, or downloadable now), else the
        400 message saying why not and what an operator can do."""
        if self.is_installed(entry):
            return None
        return unavailable_message(entry, self.hub)

    @staticmethod
    def traits(entry: CatalogEntry) -> FamilyTraits:
        """What the generation rules need of `entry`'s family (an unknown family is a 400 on modelId)."""
        return family_of(entry.family, entry.name).traits

    def check(self, entry: CatalogEntry, request: RenderRequest) -> None:
        """Refuse (a 400 naming the Leonardo field) what the model's family cannot honour, and image
        references for which the catalog has no installed IP-Adapter."""
        family = family_of(entry.family, entry.name)
        family.check(request)
        self._aux.check_controls(family, request, builtin_model=entry.weights.builtin is not None)
        self._aux.check_references(family, request)
        self._aux.check_loras(request)

    # --- worker time ---------------------------------------------------------------------------

    def weights_ready(self, entry: CatalogEntry) -> bool:
        """True once `entry`'s weights are on disk; otherwise start (or keep) its download and
        answer False. Raises DownloadFailed when the download ended in failure (once: the next
        call tries afresh). Without hub access, absent weights are left to the loader's error."""
        if entry.weights.builtin is not None:
            self._build_builtin(entry)
            return True
        if self._fetcher is None or entry.weights.is_installed(self.models_dir):
            return True
        download = self._fetcher.start(entry)
        if not download.done():
            return False
        self._fetcher.settled(entry, download)  # raises DownloadFailed
        return True

    def render(
        self, entry: CatalogEntry, request: RenderRequest, on_step: StepCallback | None = None
    ) -> list[Image.Image]:
        """`request.num_images` pictures in one batched call; `on_step(done, total)` after each step
        (what it raises stops the pipeline between steps)."""
        from sfumato.engine.weights.loaders import ModelSource

        self.check(entry, request)
        if entry.weights.builtin is not None:
            self._build_builtin(entry)
        return self.renderer().render(ModelSource.from_entry(entry, self.models_dir), request, on_step)

    def upscale(self, image: Image.Image, scale: int) -> Image.Image:
        """`image` with both sides `scale` times larger, by the catalog's upscaler in use (its first
        installed real one, else the built-in tiny one, built on first use)."""
        return self._aux.upscaler()(image, scale)

    def remove_background(self, image: Image.Image) -> Image.Image:
        """`image` as RGBA of the same size, its alpha the subject's mask from the catalog's
        background remover in use (its first installed real one, else the built-in tiny one)."""
        return self._aux.background_remover()(image)

    def nsfw(self, image: Image.Image) -> bool:
        """Whether the catalog's safety checker flags `image` (the image is not changed); always
        False when the catalog has no `[[safety_checker]]` row that can serve."""
        checker = self._aux.safety_checker()
        return checker is not None and checker(image)

    def _device(self) -> str:
        """The device the auxiliary models run on: the renderer's."""
        return self.renderer().options.device

    def renderer(self) -> Renderer:
        """The process's renderer, built (torch, diffusers, engine options) on first use."""
        with self._lock:
            if self._renderer is None:
                self._renderer = _build_renderer(self.settings, self._aux)
            return self._renderer

    def _build_builtin(self, entry: CatalogEntry) -> None:
        from sfumato.engine.weights.tiny import ensure_tiny_model

        if entry.weights.builtin != "tiny":
            raise ValueError(f"unknown built-in model {entry.weights.builtin!r} in catalog row {entry.name!r}")
        ensure_tiny_model(entry.weights.weights_dir(self.models_dir))


def _build_renderer(settings: EngineSettings, auxiliary: AuxiliaryModels) -> Renderer:
    from sfumato.engine.renderer import Renderer
    from sfumato.engine.runtime.cache import PipelineCache
    from sfumato.engine.runtime.library_noise import quiet_ml_libraries
    from sfumato.engine.runtime.optimize import EngineOptions

    quiet_ml_libraries()
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    return Renderer(
        EngineOptions.from_settings(settings),
        PipelineCache(settings.model_cache_device_bytes, settings.model_cache_host_bytes),
        auxiliary,
    )
