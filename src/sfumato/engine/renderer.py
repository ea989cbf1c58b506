"""Turns a RenderRequest into pictures with a diffusers text-to-image pipeline loaded from disk."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

import diffusers
import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline  # the real class, not the lazy dummy
from packaging.version import Version
from PIL import Image

from sfumato.engine.cache import PipelineCache
from sfumato.engine.families import FamilyAdapter, adapter_for
from sfumato.engine.optimize import EngineOptions, prepare_pipeline
from sfumato.engine.types import RenderRequest, StepCallback

# Recent diffusers (0.42 here) deprecate `torch_dtype` for `dtype` and warn on it; older ones only know
# `torch_dtype`.
_DTYPE_KWARG = "dtype" if Version(diffusers.__version__).release >= (0, 42) else "torch_dtype"


# While a render waits for its model's lock, how often it reports in through `on_step`.
_WAIT_REPORT_S = 1.0


def _dtype_kwargs(dtype: torch.dtype | None) -> dict[str, torch.dtype]:
    """Spell a dtype argument the way the installed diffusers wants it (nothing for the default)."""
    return {} if dtype is None else {_DTYPE_KWARG: dtype}


class Renderer:
    """Loads pipelines from local folders, keeps them cached, and renders batches.

    The cache is an unbounded dict keyed by resolved path; a memory-bounded LRU comes later.
    One pipeline is not safe to run from two threads at once (the tokenizer and modules are
    shared), so `render` holds a lock per model for the pipeline call: several worker threads may
    each hold a RUNNING job, but renders of one model take turns (on one device they would share
    it anyway). Different models render side by side. While a render waits its turn, `on_step` is
    called with 0 steps done every second, so leases stay renewed and a cancel is still seen.
    """

    def __init__(
        self,
        options: EngineOptions | None = None,
        device_budget_bytes: int | None = None,
        host_budget_bytes: int | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        # Least recently used pipelines leave once the weights exceed a budget; one load per cold model.
        self._cache: PipelineCache[DiffusionPipeline] = PipelineCache(device_budget_bytes, host_budget_bytes)
        self._lock = threading.Lock()
        self._render_locks: dict[str, threading.Lock] = {}

    def load(self, model_path: Path) -> DiffusionPipeline:
        """Return the cached pipeline for `model_path`, loading it (offline only) on first use."""
        key = str(Path(model_path).resolve())

        def from_disk() -> DiffusionPipeline:
            pipe = DiffusionPipeline.from_pretrained(key, local_files_only=True, **_dtype_kwargs(self.options.dtype))
            # Placed before sizing: the cache counts weights where they live.
            return prepare_pipeline(pipe, self.options)

        return self._cache.get_or_load(key, from_disk)

    def loaded(self) -> list[str]:
        """The resolved paths of the pipelines in the cache, least recently used first."""
        return self._cache.keys()

    def unload(self, model_path: Path) -> None:
        """Drop a pipeline from the cache (its memory goes once the last render using it ends)."""
        self._cache.pop(str(Path(model_path).resolve()))

    def _render_lock(self, model_path: Path) -> threading.Lock:
        key = str(Path(model_path).resolve())
        with self._lock:
            return self._render_locks.setdefault(key, threading.Lock())

    def render(
        self,
        model_path: Path,
        request: RenderRequest,
        on_step: StepCallback | None = None,
        family: str = "sd15",
    ) -> list[Image.Image]:
        """Render `request.num_images` pictures in one batched call, taking turns per model.

        `family` (the catalog's) picks the adapter that checks the request, builds the scheduler
        and spells the pipeline's kwargs; an unsupported knob raises NotSupported before loading.
        Image i is seeded with `seed + i` through its own generator, so it can be reproduced alone.
        """
        adapter = adapter_for(family)
        adapter.check_request(request)
        lock = self._render_lock(model_path)
        while not lock.acquire(timeout=_WAIT_REPORT_S):
            if on_step is not None:
                on_step(0, request.num_inference_steps)  # may raise to give up waiting
        try:
            return self._render_locked(model_path, request, on_step, adapter)
        finally:
            lock.release()

    def _render_locked(
        self, model_path: Path, request: RenderRequest, on_step: StepCallback | None, adapter: FamilyAdapter
    ) -> list[Image.Image]:
        # Typed loosely: the scheduler, __call__ and num_timesteps belong to the concrete pipeline.
        shared: Any = self.load(model_path)
        # A shallow copy shares every module but gets its own scheduler and per-call state, so the
        # cached pipeline is never mutated. (`from_pipe` would also share weights, but it re-casts
        # every module's dtype on each call and diffusers 0.42 logs a warning for each of them.)
        pipe = copy.copy(shared)
        pipe.scheduler = adapter.make_scheduler(request.scheduler, shared.scheduler.config)
        generators = [torch.Generator(device="cpu").manual_seed(request.seed + i) for i in range(request.num_images)]

        def on_step_end(
            running: Any, step_index: int, timestep: Any, callback_kwargs: dict[str, Any]
        ) -> dict[str, Any]:
            if on_step is not None:
                # num_timesteps is the loop's true length, which some schedulers make differ
                # from num_inference_steps.
                on_step(step_index + 1, running.num_timesteps)
            return callback_kwargs

        with torch.inference_mode():
            output = pipe(
                **adapter.pipeline_kwargs(request),
                generator=generators,
                output_type="pil",
                callback_on_step_end=on_step_end if on_step is not None else None,
            )
        return list(output.images)
