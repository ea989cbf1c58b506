"""Turns a RenderRequest into pictures: one family-agnostic plan, request -> family -> pipeline call.

Where the weights come from (a diffusers folder, a single-file checkpoint, a base folder with a
replacement UNet) is a `ModelSource`, loaded by `engine/weights/loaders.py`; what differs between families
(refusals, scheduler, call kwargs) is the `Family`'s (`engine/families/`). The renderer only caches, takes turns
and calls (fitting init images to the request first, and pasting an inpaint's kept pixels back after).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, Any

import torch
from diffusers.pipelines.pipeline_utils import DiffusionPipeline  # the real class, not the lazy dummy
from PIL import Image

from sfumato.engine.families import Family, family_of
from sfumato.engine.features.controlnet import controlled_pipeline, controlnet_kwargs, controls_applied
from sfumato.engine.features.hires import TwoPassProgress, hires_pass
from sfumato.engine.features.init_images import fit_to_request, on_grid, paste_outside_mask, to_asked_size
from sfumato.engine.features.ip_adapter import references_applied
from sfumato.engine.features.lora import loras_applied
from sfumato.engine.features.tiling import tiling_applied
from sfumato.engine.request import RenderRequest, StepCallback, Task
from sfumato.engine.runtime.cache import PipelineCache
from sfumato.engine.runtime.optimize import EngineOptions, prepare_pipeline, report
from sfumato.engine.weights.loaders import ModelSource, derive_pipeline, load_pipeline

if TYPE_CHECKING:
    from sfumato.engine.auxiliary import AuxiliaryModels

# While a render waits for its model's lock, how often it reports in through `on_step`.
_WAIT_REPORT_S = 1.0
# A warm-up render (torch.compile compiles on a first call): 2 steps, one image, Euler (every family
# takes it) and, without a catalog default, CFG on like most requests to the classic families.
_WARM_UP_STEPS = 2
_WARM_UP_GUIDANCE = 7.0


class LoadedModel:
    """One cache entry: a model's text-to-image pipeline as loaded and prepared, and the pipelines
    of its other tasks, made from it on first use (`derive_pipeline`: the same modules, no copy).

    The cache sizes an entry by `components`, the base's modules, which the task pipelines share,
    so each weight counts once; evicting the entry drops the task pipelines with their base.
    """

    def __init__(self, base: DiffusionPipeline, family: Family) -> None:
        self.base = base
        self._family = family
        self._by_task: dict[Task, DiffusionPipeline] = {Task.TEXT_TO_IMAGE: base}
        self._derived: dict[tuple[Any, ...], DiffusionPipeline] = {}
        self._lock = threading.Lock()

    @property
    def components(self) -> dict[str, Any]:
        return self.base.components

    @property
    def family(self) -> Family:
        return self._family

    def derived(self, key: tuple[Any, ...], make: Callable[[], DiffusionPipeline]) -> DiffusionPipeline:
        """A pipeline made from the base plus other modules (a task's ControlNet pipeline), made once per
        `key` and kept with the entry; its extra modules are not counted in the entry's size."""
        with self._lock:
            pipe = self._derived.get(key)
            if pipe is None:
                pipe = make()
                pipe.set_progress_bar_config(disable=True)
                self._derived[key] = pipe
            return pipe

    def pipeline(self, task: Task) -> DiffusionPipeline:
        """The pipeline for `task`, made once (the family's class for it, over the base's modules)."""
        with self._lock:
            pipe = self._by_task.get(task)
            if pipe is None:
                pipe = derive_pipeline(self.base, self._family.pipeline_class(task))
                pipe.set_progress_bar_config(disable=True)  # as `prepare_pipeline` set the base's
                self._by_task[task] = pipe
            return pipe


RequestFeature = Callable[["LoadedModel", RenderRequest, "Renderer"], AbstractContextManager[dict[str, Any]]]
"""A per-request feature (`engine/features/`): entered under the model's render lock, it adjusts
the model's shared modules for this one call (adapters' weights, padding modes), yields the extra
keyword arguments the pipeline call takes for it, and on exit puts everything back, so the next
request sees the base model."""

# In the order they are entered (and the reverse of the order they are undone).
REQUEST_FEATURES: tuple[RequestFeature, ...] = (loras_applied, references_applied, controls_applied, tiling_applied)


class Renderer:
    """Loads model sources, keeps them cached, and renders batches.

    Models live in `cache`, a memory-bounded LRU keyed by `ModelSource.key` (the engine sizes it
    from settings; unbounded when none is given), each a `LoadedModel` holding its pipeline per
    task. One pipeline (or two sharing modules) is not safe to run from two threads
    at once (the tokenizer and modules are shared), so `render` holds
    a lock per model for the pipeline call: several worker threads may each hold a RUNNING job, but
    renders of one model take turns (on one device they would share it anyway). Different models
    render side by side. While a render waits its turn, `on_step` is called with 0 steps done every
    second, so leases stay renewed and a cancel is still seen.
    """

    def __init__(
        self,
        options: EngineOptions | None = None,
        cache: PipelineCache[LoadedModel] | None = None,
        auxiliary: AuxiliaryModels | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        # The catalog's auxiliary models (ControlNets, IP-Adapters, LoRA elements, preprocessors),
        # which the request features load; None: a renderer for requests without them.
        self.auxiliary = auxiliary
        # Least recently used models leave once the weights exceed a budget; one load per cold model.
        self._cache: PipelineCache[LoadedModel] = cache if cache is not None else PipelineCache()
        self._lock = threading.Lock()
        self._render_locks: dict[str, threading.Lock] = {}

    def load(self, source: ModelSource) -> DiffusionPipeline:
        """Return the cached (text-to-image) pipeline for `source`, loading it (offline only) on first use."""
        return self._model(source).base

    def pipeline(self, source: ModelSource, task: Task) -> DiffusionPipeline:
        """`source`'s pipeline for `task`: made from its loaded pipeline on first use and cached with it."""
        return self._model(source).pipeline(task)

    def _model(self, source: ModelSource) -> LoadedModel:
        family = family_of(source.family)

        def from_disk() -> LoadedModel:
            pipe = load_pipeline(source, self.options.dtype)
            # Placed before sizing: the cache counts weights where they live.
            report(prepare_pipeline(pipe, self.options, warm_up=lambda ready: warm_up(ready, family, source)))
            return LoadedModel(pipe, family)

        return self._cache.get_or_load(source.key, from_disk)

    def _render_lock(self, source: ModelSource) -> threading.Lock:
        with self._lock:
            return self._render_locks.setdefault(source.key, threading.Lock())

    def render(
        self, source: ModelSource, request: RenderRequest, on_step: StepCallback | None = None
    ) -> list[Image.Image]:
        """Render `request.num_images` pictures in one batched call, taking turns per model.

        The source's family checks the request, builds the scheduler and spells the pipeline's
        kwargs; an unsupported knob raises NotSupported before loading.
        Image i is seeded with `seed + i` through its own generator, so it can be reproduced alone.
        A size off the family's latent grid is drawn on the next grid size up and resized to the size
        asked (`features.init_images.on_grid`): Leonardo's sizes are multiples of 8, or a v2 slug's own.
        """
        family = family_of(source.family)
        family.check(request)
        asked, request = request, on_grid(request, family.size_multiple)
        lock = self._render_lock(source)
        while not lock.acquire(timeout=_WAIT_REPORT_S):
            if on_step is not None:
                on_step(0, request.num_inference_steps)  # may raise to give up waiting
        try:
            model = self._model(source)
            with ExitStack() as features:
                extra: dict[str, Any] = {}
                for feature in REQUEST_FEATURES:
                    extra |= features.enter_context(feature(model, request, self))
                # With a hi-res pass, progress counts the steps of both passes.
                progress = TwoPassProgress(family, request, on_step) if request.hires and on_step else None
                first_step = progress.first if progress is not None else on_step
                pipe = controlled_pipeline(model, request, self)  # the task's, or its ControlNet one
                images = call_pipeline(pipe, family, request, first_step, extra)
                if request.hires is not None:
                    return hires_pass(model, family, request, images, progress, extra)
            return to_asked_size(images, asked)
        finally:
            lock.release()


def call_pipeline(
    shared: DiffusionPipeline,
    family: Family,
    request: RenderRequest,
    on_step: StepCallback | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Image.Image]:
    """One batched pipeline call as `family` spells it, leaving the (cached) `shared` pipeline untouched.

    `shared` is the pipeline of the request's task; `extra`, the request features' keyword arguments.
    Its init image and mask are first fitted to the request's size; an inpaint's pixels outside the
    mask are then put back as they were.
    """
    # A shallow copy shares every module but gets its own scheduler and per-call state, so the
    # cached pipeline is never mutated. (`from_pipe` would also share weights, but it re-casts
    # every module's dtype and diffusers 0.42 logs a warning for each of them: it runs once per
    # model and task, in `LoadedModel`, not per call.)
    # Typed loosely: the scheduler, __call__ and num_timesteps belong to the concrete pipeline.
    request = fit_to_request(request)
    pipe: Any = copy.copy(shared)
    pipe.scheduler = family.make_scheduler(request.scheduler, shared.scheduler.config)
    generators = seeded_generators(request)

    def on_step_end(running: Any, step_index: int, timestep: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            # num_timesteps is the loop's true length, which some schedulers make differ
            # from num_inference_steps.
            on_step(step_index + 1, running.num_timesteps)
        return callback_kwargs

    kwargs = family.pipeline_kwargs(request)
    if request.controls:  # a ControlNet pipeline may lack a family's optional knobs
        kwargs = controlnet_kwargs(pipe, kwargs)
    with torch.inference_mode():
        output = pipe(
            **kwargs,
            **(extra or {}),
            generator=generators,
            output_type="pil",
            callback_on_step_end=on_step_end if on_step is not None else None,
        )
    images: list[Image.Image] = list(output.images)
    if request.init is not None and request.mask is not None:
        return [paste_outside_mask(image, request.init.image, request.mask.image) for image in images]
    return images


def seeded_generators(request: RenderRequest) -> list[torch.Generator]:
    """Image i's generator, seeded `seed + i` (so each image can be reproduced alone)."""
    return [torch.Generator(device="cpu").manual_seed(request.seed + i) for i in range(request.num_images)]


def warm_up(pipe: DiffusionPipeline, family: Family, source: ModelSource) -> None:
    """Render one small picture, so a compiled pipeline compiles at load rather than on a request.

    The model's native size (the catalog's, else the pipeline's default) and default guidance are
    what most requests use, and compiled graphs are specialised on shapes and on CFG's batch.
    """
    width, height = source.native_size or _pipeline_native_size(pipe)
    request = RenderRequest(
        prompt="warm-up",
        negative_prompt="",
        width=width,
        height=height,
        num_images=1,
        seed=0,
        guidance_scale=_WARM_UP_GUIDANCE if source.default_guidance is None else source.default_guidance,
        num_inference_steps=_WARM_UP_STEPS,
        scheduler="EULER_DISCRETE",
    )
    call_pipeline(pipe, family, request)


def _pipeline_native_size(pipe: Any) -> tuple[int, int]:
    """What the pipeline draws when no size is given: its default latent size times the VAE's scale."""
    latent = getattr(pipe, "default_sample_size", None) or pipe.unet.config.sample_size
    side = int(latent * pipe.vae_scale_factor)
    return side, side
