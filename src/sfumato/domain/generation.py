"""A generation request as Sfumato understands it, and the rules that resolve it.

`GenerationRequest` holds only the fields Sfumato honours (the wire layer has already
refused the others). `resolve()` applies Leonardo's documented ranges and defaults against
the chosen model and yields the `GenerationPlan` the worker runs.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any, Protocol

from sfumato.catalog import CatalogEntry
from sfumato.domain.elements import ElementPlan, ElementRef
from sfumato.domain.finishing import (
    FinishingContext,
    FinishingPlan,
    FinishingRequest,
    alchemy_with,
    resolve_finishing,
)
from sfumato.domain.guidance import ControlnetRef, ControlPlan, ReferencePlan, WeightedReference, resolve_guidance
from sfumato.domain.image_inputs import (
    DEFAULT_INIT_STRENGTH,
    INIT_STRENGTH_MAX,
    INIT_STRENGTH_MIN,
    UNZOOM_MAX,
    UNZOOM_MIN,
    ImageRef,
    SourceImages,
    Task,
)
from sfumato.domain.presets import apply_preset
from sfumato.errors import GENERATION_ARGS_PATH, ClientError


class FamilyTraits(Protocol):
    """What these rules need of a model's family (the engine's `Engine.traits` gives it)."""

    @property
    def style_negative_terms(self) -> bool:
        """Whether a preset style's stock negative terms are worth adding to the negative prompt."""
        ...

    @property
    def seed_max(self) -> int:
        """The largest seed the family takes."""
        ...

    @property
    def init_strength(self) -> bool:
        """Whether its image-to-image honours an init strength (FLUX Kontext edits without one)."""
        ...


# Both prompts: at most this many characters (Unicode code points), as Leonardo caps `prompt`.
MAX_PROMPT_CHARS = 1500
SIZE_MIN, SIZE_MAX, ALCHEMY_SIZE_MAX = 32, 1536, 1024
# A request without a seed gets one at most this (FLUX's ceiling, the lowest a family has), so a
# drawn seed is valid for every model. A given seed is checked against the family's own range.
DRAWN_SEED_MAX = 2_147_483_637
DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_NUM_IMAGES = 1024, 768, 4
DEFAULT_SCHEDULER = "EULER_DISCRETE"
STEPS_MIN, STEPS_MAX = 10, 60


@dataclass(frozen=True)
class RequestLimits:
    """The bounds `resolve()` holds a request to: v1's by default. A v2 request carries its slug's,
    already checked in v2's own terms (sfumato.domain.v2_rules), so v1's tighter ones do not refuse it."""

    size_min: int = SIZE_MIN
    size_max: int = SIZE_MAX
    alchemy_size_max: int = ALCHEMY_SIZE_MAX
    # Leonardo's v1 sides are multiples of 8; a v2 slug may take others (FLUX.2 Pro's 1440x810),
    # which the engine draws on its latent grid and resizes to the size asked.
    size_multiple: int = 8
    images_max: int | None = None  # None: v1's rule, at most 4 when a side is over 768, else 8
    prompt_chars: int = MAX_PROMPT_CHARS
    steps_min: int = STEPS_MIN
    steps_max: int = STEPS_MAX


V1_LIMITS = RequestLimits()


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str | None = None
    model_id: str | None = None
    sd_version: str | None = None
    width: int | None = None
    height: int | None = None
    num_images: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    scheduler: str | None = None
    preset_style: str | None = None
    alchemy: bool | None = None
    public: bool | None = None
    # Image-to-image and canvas (sfumato.domain.image_inputs): the images by id, and how strongly
    # the output reflects the init image.
    init_image: ImageRef | None = None
    mask_image: ImageRef | None = None
    init_strength: float | None = None
    # `transparency: "foreground_only"`: the pictures' backgrounds removed (RGBA PNGs).
    transparent: bool = False
    # `unzoom` + `unzoomAmount`: the init image zoomed out, the margin outpainted (image_inputs).
    unzoom_amount: float | None = None
    # Image guidance (sfumato.domain.guidance): `controlnets[]` and `imagePrompts`, as sent.
    controlnets: tuple[ControlnetRef, ...] = ()
    image_prompts: tuple[ImageRef, ...] = ()
    image_prompt_weight: float | None = None
    # Elements (sfumato.domain.elements): `elements[]` and `userElements[]`, as sent.
    elements: tuple[ElementRef, ...] = ()
    # `tiling`: seamless in both directions.
    tiling: bool = False
    # Alchemy's and Prompt Magic's options, PhotoReal, Ultra, contrast (sfumato.domain.finishing).
    finishing: FinishingRequest = dataclass_field(default_factory=FinishingRequest)
    # `enhancePrompt` + `enhancePromptInstruction`: the prompt rewritten by an LLM at POST time.
    enhance_prompt: bool = False
    enhance_prompt_instruction: str | None = None
    # v2 (`POST /api/rest/v2/generations`): image references with their own weights, the slug the
    # request named, and the slug's bounds (sfumato.domain.v2_rules).
    references: tuple[WeightedReference, ...] = ()
    slug: str | None = None
    limits: RequestLimits = V1_LIMITS


PLAN_VERSION = 3
"""The newest plan layout this release writes and can run (see `GenerationPlan`)."""


class PlanTooNew(ValueError):
    """A plan from a newer release that this one cannot run without drawing something else."""


@dataclass(frozen=True)
class GenerationPlan:
    """Everything the worker needs, with every default filled in; stored as JSON on the generation.

    A plan outlives the release that wrote it (a job queued before an upgrade runs after it; in a
    rolling upgrade an older worker may claim a newer plan), so its JSON carries a `version` and is
    read tolerantly:
    - a field added later has a default that renders as plans without it did, and an older plan
      (missing the field) loads with that default; the fields without a default are version 1's;
    - keys this release does not know, written by a newer one, are ignored;
    - `PLAN_VERSION` goes up only with a field an older release cannot safely ignore, one whose
      values change what is drawn (an init image, a mask); `from_json` refuses (`PlanTooNew`) a
      plan of a higher version rather than draw something else;
    - a plan without `version` predates versioning and is version 1.
    """

    prompt: str
    negative_prompt: str
    pipeline_prompt: str
    pipeline_negative_prompt: str
    catalog_key: str
    model_id: str | None
    sd_version: str
    width: int
    height: int
    num_images: int
    num_inference_steps: int
    guidance_scale: float
    seed: int
    scheduler: str
    preset_style: str
    alchemy: bool
    public: bool
    # Version 2: what the render starts from. The stored keys of the init image and mask, and
    # Leonardo's init_strength (the engine gets diffusers' strength, its complement).
    task: str = Task.TEXT_TO_IMAGE.value
    init_key: str | None = None
    mask_key: str | None = None
    init_strength: float | None = None
    transparent: bool = False
    unzoom_amount: float | None = None
    # Version 3: guidance and style. ControlNets and IP-Adapter references with their stored
    # images, LoRA elements with their weights, tiling, the finishing knobs' techniques, and the
    # caller's own prompt when an LLM rewrote it (`enhancePrompt`).
    controls: tuple[ControlPlan, ...] = ()
    references: tuple[ReferencePlan, ...] = ()
    elements: tuple[ElementPlan, ...] = ()
    tiling: bool = False
    finishing: FinishingPlan = dataclass_field(default_factory=FinishingPlan)
    original_prompt: str | None = None
    # The v2 slug the request named (None for v1): what it asked for; `model_id` is the row serving it.
    slug: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], *, to_run: bool = True) -> GenerationPlan:
        """`to_run=False` reads a newer plan too, to show the request (a GET on a generation a newer
        release made): every version carries version 1's fields, and nothing is drawn from it."""
        version = data.get("version", 1)
        if to_run and version > PLAN_VERSION:
            raise PlanTooNew(f"plan version {version} is newer than this release runs ({PLAN_VERSION})")
        known = {field.name for field in fields(cls)}
        values = {name: value for name, value in data.items() if name in known}
        # Nested parts come back as JSON objects (asdict wrote them so).
        for name, part in (("controls", ControlPlan), ("references", ReferencePlan), ("elements", ElementPlan)):
            values[name] = tuple(part.from_json(item) for item in values.get(name, ()))
        if isinstance(values.get("finishing"), dict):
            values["finishing"] = FinishingPlan.from_json(values["finishing"])
        return cls(**values)


def _fail(field: str, message: str) -> ClientError:
    return ClientError(message, f"{GENERATION_ARGS_PATH}.{field}")


def _number(value: float) -> str:
    """7 not 7.0, and 4294967295 not 4.3e+09: numbers as a person writes them (ints never go
    through float, which overflows past 1e308)."""
    if isinstance(value, int):
        return str(value)
    return str(int(value)) if value.is_integer() else str(value)


# Categories that draw nothing: controls, format characters (zero-width space, joiners, BOM),
# separators, and unassigned or private code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def is_blank(text: str) -> bool:
    """True when no character of `text` is visible: a prompt of zero-width spaces is empty."""
    return all(char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text)


def _check_prompt(field: str, text: str, limit: int = MAX_PROMPT_CHARS) -> None:
    if len(text) > limit:
        label = "prompt" if field == "prompt" else "negative prompt"
        raise _fail(field, f"Invalid {label}, maximum length of {limit} characters exceeded.")


def _check_range(field: str, value: float | None, low: float, high: float) -> None:
    if value is not None and not low <= value <= high:
        raise _fail(field, f"{field} must be between {_number(low)} and {_number(high)}, got {_number(value)}")


def resolve(
    request: GenerationRequest,
    model: CatalogEntry,
    catalog_key: str,
    traits: FamilyTraits,
    images: SourceImages | None = None,
    elements: tuple[ElementPlan, ...] = (),
) -> GenerationPlan:
    """Check Leonardo's rules and fill defaults; raises ClientError naming the field.

    `traits` are the model family's (`Engine.traits`): its seed range, whether a style's stock
    negative terms apply, whether it takes an init strength. `images` are the stored keys of the
    request's images, which the service found among the caller's own; `elements` the LoRA elements
    the service found for the request's `elements`/`userElements` (their ids and weights)."""
    prompt = request.prompt
    if is_blank(prompt):
        raise _fail("prompt", "prompt must not be empty (it has no visible characters)")
    limits = request.limits
    _check_prompt("prompt", prompt, limits.prompt_chars)
    _check_prompt("negative_prompt", request.negative_prompt or "", limits.prompt_chars)

    alchemy = alchemy_with(request.finishing, True if request.alchemy is None else request.alchemy)
    width = DEFAULT_WIDTH if request.width is None else request.width
    height = DEFAULT_HEIGHT if request.height is None else request.height
    size_max = limits.alchemy_size_max if alchemy else limits.size_max
    for field, value in (("width", width), ("height", height)):
        if not limits.size_min <= value <= size_max or value % limits.size_multiple:
            multiple = f"a multiple of {limits.size_multiple}" if limits.size_multiple > 1 else "a whole number"
            raise _fail(
                field,
                f"invalid dimensions: {field} must be {multiple} between {limits.size_min} and "
                f"{size_max}{' with alchemy' if alchemy else ''}, got {value}",
            )

    num_images = DEFAULT_NUM_IMAGES if request.num_images is None else request.num_images
    max_images = limits.images_max or (4 if max(width, height) > 768 else 8)
    if not 1 <= num_images <= max_images:
        raise _fail(
            "num_images",
            f"Too many images: num_images must be between 1 and {max_images} at {width}x{height}"
            f" (at most 4 when a side is over 768), got {num_images}",
        )

    _check_range("num_inference_steps", request.num_inference_steps, limits.steps_min, limits.steps_max)
    _check_range("guidance_scale", request.guidance_scale, 1, 20)
    _check_range("seed", request.seed, 0, traits.seed_max)

    task, init_strength = _image_task(request, images or SourceImages(), traits)
    controls, references = resolve_guidance(
        request.controlnets,
        request.image_prompts,
        request.image_prompt_weight,
        model.face.sd_version,
        model.name,
        images or SourceImages(),
    )
    references += tuple(
        ReferencePlan(ref.kind, (images or SourceImages()).guides[ref.image], ref.weight) for ref in request.references
    )

    # A style applies with or without Alchemy (why: sfumato.domain.presets).
    context = FinishingContext(alchemy, request.model_id is not None, model.family, model.face.sd_version,
                               width, height, request.preset_style)  # fmt: skip
    finishing = resolve_finishing(request.finishing, context)
    preset = finishing.preset_style or ("DYNAMIC" if alchemy else "LEONARDO")

    if request.num_inference_steps is not None:
        steps = request.num_inference_steps
    elif alchemy and model.quality.alchemy_steps:
        steps = model.quality.alchemy_steps
    else:
        steps = model.quality.default_steps

    negative = request.negative_prompt or ""
    # Where a negative prompt costs a second denoiser pass per step (guidance-distilled FLUX's true
    # CFG), the caller's own negative prompt is worth it; a style's stock negative terms are not.
    pipeline_prompt, pipeline_negative = apply_preset(
        preset, prompt, negative, negative_terms=traits.style_negative_terms
    )
    # The finishing knobs' style terms (sfumato.domain.finishing) follow the style's.
    pipeline_prompt = ", ".join([pipeline_prompt, *finishing.prompt_terms])
    if traits.style_negative_terms:
        pipeline_negative = ", ".join(part for part in (pipeline_negative, *finishing.negative_terms) if part)
    return GenerationPlan(
        prompt=prompt,
        negative_prompt=negative,
        pipeline_prompt=pipeline_prompt,
        pipeline_negative_prompt=pipeline_negative,
        catalog_key=catalog_key,
        model_id=model.id,
        sd_version=model.face.sd_version,
        width=width,
        height=height,
        num_images=num_images,
        num_inference_steps=steps,
        guidance_scale=model.quality.default_guidance if request.guidance_scale is None else request.guidance_scale,
        seed=secrets.randbelow(DRAWN_SEED_MAX + 1) if request.seed is None else request.seed,
        scheduler=request.scheduler or DEFAULT_SCHEDULER,
        preset_style=preset,
        alchemy=alchemy,
        public=bool(request.public),
        task=task.value,
        init_key=images.init_key if images else None,
        mask_key=images.mask_key if images else None,
        init_strength=init_strength,
        transparent=request.transparent,
        unzoom_amount=request.unzoom_amount,
        controls=controls,
        references=references,
        elements=elements,
        tiling=request.tiling,
        finishing=finishing.plan,
        slug=request.slug,
    )


def _image_task(request: GenerationRequest, images: SourceImages, traits: FamilyTraits) -> tuple[Task, float | None]:
    """What the render starts from, and Leonardo's init_strength for it (None without an image)."""
    if request.init_image is None:
        if request.init_strength is not None:
            raise _fail(
                "init_strength",
                "init_strength applies to image-to-image: send it with init_image_id, init_generation_image_id "
                "or a canvas request",
            )
        return Task.TEXT_TO_IMAGE, None
    if images.init_key is None or (request.mask_image is not None and images.mask_key is None):
        raise ValueError("resolve() needs the stored keys of the request's images (SourceImages)")
    if request.init_strength is not None and not traits.init_strength:
        raise _fail(
            "init_strength",
            "this model edits its init image as the prompt says and takes no init_strength (FLUX Kontext); "
            "remove init_strength",
        )
    _check_range("init_strength", request.init_strength, INIT_STRENGTH_MIN, INIT_STRENGTH_MAX)
    if request.unzoom_amount is not None and not UNZOOM_MIN < request.unzoom_amount <= UNZOOM_MAX:
        raise _fail("unzoomAmount", f"unzoomAmount must be above {UNZOOM_MIN:g} and at most {UNZOOM_MAX:g}, "
                    f"got {_number(request.unzoom_amount)}")  # fmt: skip
    strength = DEFAULT_INIT_STRENGTH if request.init_strength is None else request.init_strength
    repaints = request.mask_image is not None or request.unzoom_amount is not None
    return (Task.INPAINT if repaints else Task.IMAGE_TO_IMAGE), strength
