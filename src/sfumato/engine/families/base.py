"""`Family`: everything Sfumato knows about one kind of model, in one class.

A family says which diffusers pipeline draws each task, what a catalog row of it defaults to,
how `sfumato models add` recognises it, which requests it refuses (naming the Leonardo field),
which scheduler a render uses and how a request becomes the pipeline's keyword arguments.
Subclasses share rules by inheritance (SDXL is SD's rules; Kontext is FLUX's).

Importing a family loads neither torch nor diffusers: pipeline and scheduler classes are named
by module path and imported when a render needs them, so a worker imports only the diffusers
modules its families use.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from sfumato.engine.request import SCHEDULERS, FamilyTraits, RenderRequest, Task
from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported

if TYPE_CHECKING:  # diffusers (and torch) load only when a render needs them, not for a POST check
    from pathlib import Path

    from diffusers.schedulers.scheduling_utils import SchedulerMixin

# Seeds: what every pipeline's generator takes; a family may document a lower ceiling.
SEED_MAX = 2**32 - 1

# `Family` attributes that say how a model of the family is recognised (see there).
_DETECTION = ("recognised", "index_hints", "key_fragment")
# The Leonardo field that asks for each task other than text-to-image.
_TASK_FIELDS = {Task.IMAGE_TO_IMAGE: "init_image_id", Task.INPAINT: "canvasRequestType"}
# The Leonardo fields that carry an init image's strength and a canvas mask.
_STRENGTH_FIELD = "init_strength"
_MASK_FIELD = "canvasMaskId"


def reference_field(kind: str) -> str:
    """The Leonardo field an image reference of `kind` came in: image prompts are `imagePrompts`;
    Style, Character and Content Reference are `controlnets` entries."""
    return "imagePrompts" if kind == "image" else "controlnets"


def refuse(field: str, message: str) -> NotSupported:
    """A 400 naming the Leonardo field (`$.selectionSet.sdGenerationJob.args.arg1.<field>`)."""
    return NotSupported(message, f"{GENERATION_ARGS_PATH}.{field}")


@dataclass(frozen=True)
class DiffusersClass:
    """A diffusers class named by its module, imported on first use (not through `diffusers`,
    whose lazy top level would show type checkers dummies and import more than needed)."""

    module: str
    name: str

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


def by_task(
    package: str,
    text_to_image: tuple[str, str],
    image_to_image: tuple[str, str] | None = None,
    inpaint: tuple[str, str] | None = None,
) -> Mapping[Task, DiffusersClass]:
    """A family's pipelines, each (module in `package`, class name), for the tasks diffusers has."""
    table: dict[Task, DiffusersClass] = {}
    named = {Task.TEXT_TO_IMAGE: text_to_image, Task.IMAGE_TO_IMAGE: image_to_image, Task.INPAINT: inpaint}
    for task, pair in named.items():
        if pair is not None:
            module, name = pair
            table[task] = DiffusersClass(f"{package}.{module}", name)
    return MappingProxyType(table)


@dataclass(frozen=True)
class FamilyDefaults:
    """What a catalog row needs that follows from the family alone (kept in step with the shipped
    catalog's rows of each family)."""

    sd_version: str
    native_width: int
    native_height: int
    default_steps: int
    default_guidance: float


class Family:
    """One model family: the base holds the classic latent-diffusion rules and call.

    Class attributes are the family's data; `check`, `make_scheduler` and `pipeline_kwargs` its
    behaviour. One instance per family is registered (`families.FAMILIES`) under `name`, the
    catalog's `family` string.
    """

    name: ClassVar[str]
    title: ClassVar[str | None] = None
    """How refusals name the family (`name` when None)."""
    pipelines: ClassVar[Mapping[Task, DiffusersClass]]
    """The diffusers pipeline for each task diffusers has one for (text-to-image loads single files;
    the others are made from it with `from_pipe`). A task without one is refused at POST."""
    controlnet_pipelines: ClassVar[Mapping[Task, DiffusersClass]] = MappingProxyType({})
    """The ControlNet pipeline for each task (made with `from_pipe` from the base plus the ControlNets,
    `features/controlnet.py`); a family without them refuses `controlnets`."""
    controlnet_family: ClassVar[str | None] = None
    """Whose catalog ControlNets (`[[controlnet]]` rows' `family`) its models take: `name` when None."""
    strength_tasks: ClassVar[frozenset[Task]] = frozenset({Task.IMAGE_TO_IMAGE, Task.INPAINT})
    """The tasks whose pipeline takes the init image's `strength` (diffusers' noise strength)."""
    image_to_image_takes_size: ClassVar[bool] = False
    guidance_rescale_tasks: ClassVar[frozenset[Task]] = frozenset()
    """The tasks whose pipeline takes diffusers' `guidance_rescale` (CFG rescale): elsewhere a
    request's `guidance_rescale` is not passed (its contrast knob keeps only its style terms)."""
    """Whether its image-to-image pipeline takes `width`/`height` (SD's and SDXL's draw at the init
    image's size, which the renderer has made the request's)."""
    defaults: ClassVar[FamilyDefaults]

    # How `sfumato models add` recognises the family without loading the model (`weights/detect.py`).
    # Each class's own, never inherited: a subclass has telltales of its own, or is never detected.
    recognised: ClassVar[bool] = True
    """Whether its models are recognised at all: a diffusers folder by its `model_index.json`
    `_class_name` (`index_class`, the text-to-image pipeline the folder was saved from)."""
    index_hints: ClassVar[Mapping[tuple[str, str], object]] = MappingProxyType({})
    """When families share an `index_class`: (component config file, key) -> the value that says
    this family; a family without hints is the one left when none matches."""
    key_fragment: ClassVar[str | None] = None
    """A tensor-name fragment only its original-format single-file checkpoints have."""

    lora_family: ClassVar[str | None] = None
    """The family whose LoRA elements its models take, when not its own (a derived family's base)."""
    ip_adapter_family: ClassVar[str | None] = None
    """The `[[ip_adapter]]` rows' family whose adapters its models take (image references); None:
    references are refused, for `references_rule`."""
    references_rule: ClassVar[str] = "no IP-Adapter is wired for them"
    native_references: ClassVar[int] = 0
    """How many reference pictures its own pipeline takes (FLUX.2's `image=` list, Kontext's context
    image): they go to the pipeline (`reference_kwargs`) instead of an IP-Adapter; 0: none."""
    """Why image references are refused (ends the refusal's sentence)."""
    ip_adapter_style_block: ClassVar[tuple[str, int, int] | None] = None
    """InstantStyle's style-only attention layer ("up"/"down", block, layer): a Style Reference
    conditions only it; None: the whole adapter at the reference's scale."""
    size_multiple: ClassVar[int] = 8
    """The latent grid: the VAE's downscale (times a transformer's patch). Sides off it are drawn on the
    next grid size up and resized to the size asked (the renderer's `on_grid`)."""
    seed_max: ClassVar[int] = SEED_MAX
    style_negative_terms: ClassVar[bool] = True
    schedulers: ClassVar[tuple[str, ...]] = SCHEDULERS
    scheduler_rule: ClassVar[str] = f"which take only {', '.join(SCHEDULERS)}"
    """Why other schedulers are refused, and what is accepted (ends the refusal's sentence)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attribute in _DETECTION:
            if attribute not in cls.__dict__:
                setattr(cls, attribute, getattr(Family, attribute))

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def index_class(self) -> str | None:
        return self.pipelines[Task.TEXT_TO_IMAGE].name if self.recognised else None

    @property
    def traits(self) -> FamilyTraits:
        return FamilyTraits(
            style_negative_terms=self.style_negative_terms,
            seed_max=self.seed_max,
            init_strength=Task.IMAGE_TO_IMAGE in self.strength_tasks,
            lora_family=self.lora_family or self.name,
        )

    def folder_components(self, folder: Path) -> dict[str, Any]:
        """Weightless components (tokenizers, processors) of a diffusers `folder` that the family
        loads itself, in place of the class its `model_index.json` names, where diffusers' own
        loading would need what Sfumato does not install (`weights/loaders.py` passes them in)."""
        return {}

    def pipeline_class(self, task: Task = Task.TEXT_TO_IMAGE) -> Any:
        """The diffusers pipeline class for `task`, imported now."""
        return self.pipelines[task].load()

    def check(self, request: RenderRequest) -> None:
        """Refuse (a 400 naming the Leonardo field) what this family cannot honour."""
        if request.task not in self.pipelines:
            raise refuse(
                _TASK_FIELDS[request.task],
                f"{request.task.value} is not supported for {self.label} models (diffusers has no "
                f"{request.task.value} pipeline for them); send a text-to-image request",
            )
        self._check_images(request)
        self.check_controls(request)
        self.check_references(request)
        self.check_loras(request)
        self.check_tiling(request)
        self.check_hires(request)
        if not 0 <= request.seed <= self.seed_max:
            path = f"{GENERATION_ARGS_PATH}.seed"
            raise ClientError(f"seed must be between 0 and {self.seed_max}, got {request.seed}", path)
        if request.scheduler not in self.schedulers:
            message = f"scheduler {request.scheduler} does not apply to {self.label} models, {self.scheduler_rule}"
            raise refuse("scheduler", message)

    def _check_images(self, request: RenderRequest) -> None:
        """A mask of the init image's size, and an init strength that leaves a step to run."""
        if request.init is None:
            return
        if request.mask is not None and request.mask.image.size != request.init.image.size:
            (mask_w, mask_h), (init_w, init_h) = request.mask.image.size, request.init.image.size
            raise ClientError(
                f"the mask ({mask_w}x{mask_h}) must be the size of the init image ({init_w}x{init_h})",
                f"{GENERATION_ARGS_PATH}.{_MASK_FIELD}",
            )
        if self.denoising_steps(request) < 1:
            raise refuse(
                _STRENGTH_FIELD,
                f"{request.num_inference_steps} steps at an init strength of {request.init.strength:g} leave no "
                f"denoising step to run ({self.label} models run only that share of the steps): ask for more "
                "num_inference_steps, or let the picture depart further from the init image",
            )

    def check_controls(self, request: RenderRequest) -> None:
        """ControlNets (`request.controls`): where the family has a ControlNet pipeline for the task."""
        if not request.controls:
            return
        if request.task not in self.controlnet_pipelines:
            where = f" for {request.task.value}" if self.controlnet_pipelines else ""
            raise refuse(
                "controlnets",
                f"ControlNet guidance is not supported for {self.label} models{where}: diffusers has no ControlNet "
                "pipeline Sfumato runs for them; use an SD 1.5, SD 2, SDXL or FLUX.1 model",
            )

    def reference_limit(self, request: RenderRequest) -> int:
        """How many native references `request`'s task takes (a family may take fewer on some tasks)."""
        return self.native_references

    def reference_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """The pipeline kwargs carrying the native references (`features/ip_adapter.py` passes them on
        every call of a family with `native_references`, so they may carry other pictures of its list):
        the pictures as they are, in order, as `image`; a reference at scale 0 is left out (drawing
        as without it), since these pipelines have no per-picture strength."""
        pictures = [ref.image.convert("RGB") for ref in request.references if ref.scale > 0]
        return {"image": pictures} if pictures else {}

    def check_references(self, request: RenderRequest) -> None:
        """References (`request.references`): up to `reference_limit` native ones, else IP-Adapter
        ones; refused where neither is wired."""
        if self.native_references:
            limit = self.reference_limit(request)
            if len(request.references) > limit:
                where = "" if limit == self.native_references else f" on {request.task.value}"
                raise refuse(
                    reference_field(request.references[limit].kind),
                    f"{self.label} models take at most {limit} reference picture{'s' if limit != 1 else ''}{where} "
                    f"(their pipeline's own image inputs), got {len(request.references)}: send fewer",
                )
            return
        if request.references and self.ip_adapter_family is None:
            kind = request.references[0].kind
            raise refuse(
                reference_field(kind),
                f"{kind} references are not supported for {self.label} models: {self.references_rule}",
            )

    def check_loras(self, request: RenderRequest) -> None:
        """LoRA elements (`request.loras`) this family can take: each once (the service has checked
        each element's base model against `traits.lora_family`)."""
        ids = [lora.element_id for lora in request.loras]
        if len(ids) != len(set(ids)):
            raise refuse("elements", "an element may be applied only once per generation")

    def check_tiling(self, request: RenderRequest) -> None:
        """Seamless tiling (`request.tiling`), where the architecture allows it."""

    def check_hires(self, request: RenderRequest) -> None:
        """A high-resolution or refine pass (`request.hires`) needs an image-to-image pipeline with a
        noise strength, sides on the family's grid, and a task that does not keep pixels."""
        hires = request.hires
        if hires is None:
            return
        knobs = "highResolution, ultra, upscaleRatio, photoReal and promptMagic"
        if Task.IMAGE_TO_IMAGE not in self.pipelines or Task.IMAGE_TO_IMAGE not in self.strength_tasks:
            raise refuse("highResolution", f"{knobs} add a refine pass, which {self.label} models cannot run "
                         "(no image-to-image pipeline with a noise strength); remove them")  # fmt: skip
        if request.task is Task.INPAINT:
            raise refuse(_TASK_FIELDS[Task.INPAINT], f"{knobs} add a refine pass that redraws every pixel, "
                         "undoing the pixels an inpaint, outpaint or unzoom keeps; send one or the other")  # fmt: skip
        for field, value in (("width", hires.width), ("height", hires.height)):
            if value % self.size_multiple:
                raise refuse(field, f"the hi-res pass's {field} must be a multiple of {self.size_multiple} for "
                             f"{self.label} models, got {value}")  # fmt: skip

    def denoising_steps(self, request: RenderRequest) -> int:
        """The steps the pipeline runs: with an init image's strength, only the last share of them."""
        if request.init is None or request.task not in self.strength_tasks:
            return request.num_inference_steps
        return self.strength_steps(request.num_inference_steps, request.init.strength)

    @staticmethod
    def strength_steps(steps: int, strength: float) -> int:
        """The steps left at `strength`, as diffusers' SD pipelines count them: `int(steps * strength)`."""
        return min(int(steps * strength), steps)

    def make_scheduler(self, name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
        """Any of Leonardo's seven schedulers, derived from the model's own scheduler config."""
        from sfumato.engine.families.schedulers import leonardo_scheduler

        return leonardo_scheduler(name, base_config)

    def pipeline_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """A call with classic classifier-free guidance (the negative prompt's pass), plus the
        task's images (`image_kwargs`)."""
        return {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            **self.size_kwargs(request),
            "num_images_per_prompt": request.num_images,
            "guidance_scale": request.guidance_scale,
            "num_inference_steps": request.num_inference_steps,
            **self.image_kwargs(request),
            **self.rescale_kwargs(request),
        }

    def rescale_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """CFG rescale, where the task's pipeline takes it and the request asks for it."""
        if request.guidance_rescale and request.task in self.guidance_rescale_tasks:
            return {"guidance_rescale": request.guidance_rescale}
        return {}

    def size_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """`width` and `height`, for the pipelines that take them."""
        if request.task is Task.IMAGE_TO_IMAGE and not self.image_to_image_takes_size:
            return {}
        return {"width": request.width, "height": request.height}

    def image_kwargs(self, request: RenderRequest) -> dict[str, Any]:
        """The init image, its strength and the mask, for the task's pipeline (the renderer has
        already fitted them to the request's size)."""
        if request.init is None:
            return {}
        kwargs: dict[str, Any] = {"image": request.init.image}
        if request.task in self.strength_tasks:
            kwargs["strength"] = request.init.strength
        if request.mask is not None:
            kwargs["mask_image"] = request.mask.image
        return kwargs


# The one Leonardo scheduler that has a flow-matching counterpart: Euler, which is what SD3 and
# FLUX ship with (FlowMatchEulerDiscreteScheduler). It is also the plan's default scheduler.
FLOW_MATCH_SCHEDULER = "EULER_DISCRETE"


class FlowMatching(Family):
    """Flow-matching transformers (SD3, FLUX): only Euler, and sides a multiple of the latent patch.

    Leonardo's seven schedulers are samplers for noise-prediction (DDPM-trained) models; of them
    only Euler has a flow-matching counterpart, the model's own `FlowMatchEulerDiscreteScheduler`.
    Their latent grid is 16 px: the VAE's 8x times the transformer's 2x2 patches (other sides are
    drawn on the grid and resized).
    """

    size_multiple = 16
    image_to_image_takes_size = True
    schedulers = (FLOW_MATCH_SCHEDULER,)
    scheduler_rule = (
        f"which are flow-matching: only {FLOW_MATCH_SCHEDULER} (the model's flow-matching Euler scheduler) is supported"
    )

    def check_tiling(self, request: RenderRequest) -> None:
        """Refused: circular padding makes a UNet seamless because convolutions and attention without
        position embeddings are shift-equivariant; these transformers add position embeddings (RoPE
        on FLUX, learnt ones on SD3) to every token, so wrapping the VAE's convolutions alone would not tile."""
        if request.tiling:
            raise refuse(
                "tiling",
                f"tiling is not supported for {self.label} models: their transformer's position embeddings "
                "are not shift-equivariant, so circular padding cannot make the picture seamless; use an "
                "SD 1.5, SD 2 or SDXL model",
            )

    def make_scheduler(self, name: str, base_config: Mapping[str, Any]) -> SchedulerMixin:
        """A fresh copy of the model's own flow-matching Euler scheduler (`name` is already checked)."""
        from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler

        return FlowMatchEulerDiscreteScheduler.from_config(dict(base_config))

    @staticmethod
    def strength_steps(steps: int, strength: float) -> int:
        """As diffusers' flow-matching pipelines count them: what is left after skipping
        `int(steps - steps * strength)`, which rounds the other way from SD's count."""
        return steps - int(max(steps - min(steps * strength, steps), 0))
