"""A v2 request (`POST /api/rest/v2/generations`) checked against its slug's rules, then said as the
`GenerationRequest` v1 already runs: same plan, jobs, limits, tenancy and webhooks.

Refusals name v2's own fields (`$.parameters.quantity`, `$.model`), before v1's rules see the
request; the bounds `resolve()` then applies are the slug's (`RequestLimits`), so v1's tighter ones
(1536 px, 1500 characters, 4 images over 768 px) do not refuse what the slug's guide allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sfumato.domain.finishing import FinishingRequest
from sfumato.domain.generation import GenerationRequest, RequestLimits
from sfumato.domain.guidance import BANDS, CHARACTER_BANDS, WeightedReference
from sfumato.domain.image_inputs import ImageRef
from sfumato.domain.presets import STYLE_UUID_PRESETS
from sfumato.domain.v2_models import (
    CONTRAST_LEVELS,
    DYNAMIC,
    INIT_STRENGTHS,
    STEP_FACTORS,
    GuidanceRule,
    SizeRule,
    SlugRules,
)
from sfumato.errors import GENERATION_ARGS_PATH, ClientError

PARAMETERS_PATH = "$.parameters"
MODEL_PATH = "$.model"

# A v1 field a later rule (the generation's, the model family's) refuses, as the v2 parameter that
# asked for it; any other v1 field is the parameters object as a whole.
_V2_NAMES: Mapping[str, str] = {
    "prompt": "prompt", "negative_prompt": "negative_prompt", "width": "width", "height": "height",
    "num_images": "quantity", "seed": "seed", "tiling": "tiling", "contrast": "contrast",
    "enhancePrompt": "prompt_enhance", "presetStyle": "style_ids", "styleUUID": "style_ids",
    "imagePrompts": "guidances", "imagePromptWeight": "guidances", "controlnets": "guidances",
    "init_image_id": "guidances", "init_generation_image_id": "guidances", "init_strength": "guidances",
    "num_inference_steps": "quality",
}  # fmt: skip


def v2_path(path: str) -> str:
    """A refusal's v1 path (`$.selectionSet.sdGenerationJob.args.arg1.width`) as the v2 request's
    (`$.parameters.width`), so a v2 client is told about the parameter it sent."""
    prefix = f"{GENERATION_ARGS_PATH}."
    if not path.startswith(prefix):
        return path
    field = path.removeprefix(prefix).split(".")[0].split("[")[0]
    if field == "modelId":
        return MODEL_PATH
    name = _V2_NAMES.get(field)
    return f"{PARAMETERS_PATH}.{name}" if name else PARAMETERS_PATH
PROMPT_ENHANCE = ("AUTO", "ON", "OFF")
# The v2 guidance lists Sfumato knows; which of them a slug takes is its rules'.
GUIDANCE_KINDS = ("image_reference", "style", "content", "character", "image_to_image")
# What each list becomes: a reference kind of the engine's (image_to_image is the init image instead).
_REFERENCE_KIND = {"image_reference": "image", "style": "style", "content": "content", "character": "character"}
# The per-slug keys: sent to a slug whose guide does not list them, they are refused.
OPTIONAL_KEYS = ("quality", "mode", "contrast", "negative_prompt", "tiling")
# Steps a v2 request may come to (a quality factor on a model's default); v1's 10-60 does not apply.
STEPS_MIN, STEPS_MAX = 1, 150


@dataclass(frozen=True)
class V2Image:
    """`image: {type, id | url | data}` of one guidance entry, as sent."""

    type: str
    id: str | None = None
    url: str | None = None
    data: str | None = None


@dataclass(frozen=True)
class V2Guide:
    """One entry of a `guidances.<kind>[]` list; `field` is its path under `parameters`."""

    kind: str
    image: V2Image
    strength: str | None
    field: str
    order: int | None = None


@dataclass(frozen=True)
class V2Request:
    """A v2 body as sent (types checked by the wire layer, rules not yet)."""

    slug: str
    prompt: str
    public: bool | None = None
    width: int | None = None
    height: int | None = None
    quantity: int | None = None
    seed: int | None = None
    style_ids: tuple[str, ...] | None = None
    prompt_enhance: str | None = None
    guides: tuple[V2Guide, ...] = ()
    quality: str | None = None
    mode: str | None = None
    contrast: str | None = None
    negative_prompt: str | None = None
    tiling: bool | None = None
    sent: frozenset[str] = field(default_factory=frozenset)  # the `parameters` keys sent non-null


def fail(name: str, message: str) -> ClientError:
    """A 400 on `parameters.<name>` (a path of its own for `model`)."""
    return ClientError(message, f"{PARAMETERS_PATH}.{name}")


def check(request: V2Request, rules: SlugRules) -> None:
    """Refuse what the slug's guide does not allow, naming the parameter."""
    slug = request.slug
    for key in OPTIONAL_KEYS:
        takes = bool(getattr(rules, {"quality": "quality", "mode": "modes"}.get(key, key)))
        if key in request.sent and not takes:
            raise fail(key, f"{key} is not a parameter of {slug} ({rules.title}); remove it")
    if len(request.prompt) > rules.prompt_max:
        raise fail("prompt", f"prompt is longer than {slug}'s {rules.prompt_max} characters")
    _check_choice("quality", request.quality, rules.quality)
    _check_choice("mode", request.mode, rules.modes)
    _check_choice("contrast", request.contrast, tuple(CONTRAST_LEVELS) if rules.contrast else ())
    _check_choice("prompt_enhance", request.prompt_enhance, PROMPT_ENHANCE)
    quantity = rules.quantity_default if request.quantity is None else request.quantity
    if not 1 <= quantity <= rules.quantity_max:
        raise fail("quantity", f"quantity must be between 1 and {rules.quantity_max} for {slug}, got {quantity}")
    if request.seed is not None and not 0 <= request.seed <= rules.seed_max:
        raise fail("seed", f"seed must be between 0 and {rules.seed_max} for {slug}, got {request.seed}")
    _check_size(request, rules.size, slug)
    _check_styles(request, rules)
    _check_guides(request, rules)


def _check_choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise fail(name, f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _check_size(request: V2Request, rule: SizeRule, slug: str) -> None:
    width, height = request.width, request.height
    if (width == 0) != (height == 0):
        raise fail("width" if width == 0 else "height", "width and height 0 (match the reference) go together")
    if width == 0 and 0 not in rule.widths:
        raise fail("width", f"{slug} takes no width 0 (matching a reference's aspect ratio)")
    if width == 0:
        if not any(guide.kind == "image_reference" for guide in request.guides):
            raise fail("width", "width and height 0 match the first image_reference's aspect ratio: send one")
        return
    sides = {"width": rule.default[0] if width is None else width,
             "height": rule.default[1] if height is None else height}  # fmt: skip
    if rule.pairs:
        if (sides["width"], sides["height"]) not in rule.pairs:
            shown = ", ".join(f"{w}x{h}" for w, h in rule.pairs)
            raise fail("width", f"{slug} draws {shown}; got {sides['width']}x{sides['height']}")
        return
    for name, value in sides.items():
        listed = rule.widths if name == "width" else rule.heights
        if listed:
            if value not in listed:
                raise fail(name, f"{name} must be one of {', '.join(map(str, listed))} for {slug}, got {value}")
            continue
        above = value >= rule.high if rule.high_exclusive else value > rule.high
        if value < rule.low or above or value % rule.multiple:
            bound = f"below {rule.high}" if rule.high_exclusive else f"at most {rule.high}"
            raise fail(name, f"{name} must be a multiple of {rule.multiple}, at least {rule.low} and {bound} for "
                       f"{slug}, got {value}")  # fmt: skip
    pixels = sides["width"] * sides["height"]
    if rule.min_pixels is not None and rule.max_pixels is not None and not rule.min_pixels <= pixels <= rule.max_pixels:
        raise fail("width", f"width x height must be between {rule.min_pixels} and {rule.max_pixels} pixels for "
                   f"{slug}, got {pixels}")  # fmt: skip
    ratio = max(sides.values()) / min(sides.values())
    if rule.max_ratio is not None and ratio > rule.max_ratio:
        raise fail("width", f"the long side may be at most {rule.max_ratio:g} times the short one for {slug}")


def _check_styles(request: V2Request, rules: SlugRules) -> None:
    styles = request.style_ids or ()
    if rules.style_limit is not None and len(styles) > rules.style_limit:
        raise fail("style_ids", f"{request.slug} takes at most {rules.style_limit} style, got {len(styles)}")
    for index, style in enumerate(styles):
        known = style.lower() in STYLE_UUID_PRESETS
        if not known or (rules.styles is not None and style.lower() not in rules.styles):
            raise fail(f"style_ids[{index}]", f"style {style} is not one of {request.slug}'s styles "
                       "(docs/v2.md lists them)")  # fmt: skip
    if len({STYLE_UUID_PRESETS[s.lower()] for s in styles}) > 1:
        raise fail("style_ids", "Sfumato applies one style: send one style id (or several naming the same style)")


def _check_guides(request: V2Request, rules: SlugRules) -> None:
    for kind in GUIDANCE_KINDS:
        guides = [guide for guide in request.guides if guide.kind == kind]
        if not guides:
            continue
        rule = rules.guidances.get(kind)
        if rule is None:
            raise fail(f"guidances.{kind}", f"{request.slug} takes no guidances.{kind}; remove it")
        if len(guides) > rule.max_count:
            raise fail(f"guidances.{kind}", f"{request.slug} takes at most {rule.max_count} guidances.{kind}, "
                       f"got {len(guides)}")  # fmt: skip
        for guide in guides:
            _check_guide(guide, rule, request.slug)


def _check_guide(guide: V2Guide, rule: GuidanceRule, slug: str) -> None:
    image = guide.image
    if image.type not in rule.types:
        raise fail(f"{guide.field}.image.type", f"{slug} takes image types {', '.join(rule.types)}, got {image.type!r}")
    needed = {"URL": "url", "BASE64": "data"}.get(image.type, "id")
    for name in ("id", "url", "data"):
        value = getattr(image, name)
        if name == needed and not value:
            raise fail(f"{guide.field}.image.{name}", f"an image of type {image.type} needs image.{name}")
        if name != needed and value is not None:
            raise fail(f"{guide.field}.image.{name}", f"an image of type {image.type} takes image.{needed}, "
                       f"not image.{name}")  # fmt: skip
    if guide.strength is not None:
        if not rule.strengths:
            raise fail(f"{guide.field}.strength", f"{slug} takes no strength on its references; remove it")
        if guide.strength not in rule.strengths:
            raise fail(f"{guide.field}.strength", f"strength must be one of {', '.join(rule.strengths)}, "
                       f"got {guide.strength!r}")  # fmt: skip


def _weight(guide: V2Guide, rule: GuidanceRule | None) -> float:
    """A strength as an adapter scale: the midpoint of Leonardo's band of that name (sfumato.domain.guidance)."""
    name = (guide.strength or (rule.default_strength if rule else "MID")).title()
    low, high = (CHARACTER_BANDS if guide.kind == "character" else BANDS)[name]
    return round((low + high) / 2, 6)


def steps_for(request: V2Request, rules: SlugRules, default_steps: int) -> int | None:
    """`quality` / `mode` as steps: a factor on the serving model's default (None: its default)."""
    chosen = request.quality or request.mode or rules.quality_default or rules.mode_default
    factor = STEP_FACTORS.get(chosen or "", 1.0)
    return None if factor == 1.0 else min(STEPS_MAX, max(STEPS_MIN, round(default_steps * factor)))


def limits_for(rules: SlugRules) -> RequestLimits:
    side = rules.size.largest
    smallest = min((value for value in (*rules.size.widths, *rules.size.heights) if value), default=rules.size.low)
    return RequestLimits(size_min=min(smallest, rules.size.low), size_max=side, alchemy_size_max=side,
                         size_multiple=rules.size.multiple, images_max=rules.quantity_max,
                         prompt_chars=rules.prompt_max, steps_min=STEPS_MIN, steps_max=STEPS_MAX)  # fmt: skip


def generation_request(
    request: V2Request,
    rules: SlugRules,
    *,
    model_id: str,
    default_steps: int,
    images: Mapping[str, ImageRef],
    size: tuple[int, int] | None,
    enhance: bool,
) -> GenerationRequest:
    """The checked v2 request as v1's `GenerationRequest` for the row serving its slug. `images`
    are the guides' pictures by field (the service found or stored them); `size` the width and
    height when the request sent 0/0 (match the reference), else None."""
    width = rules.size.default[0] if request.width is None else request.width
    height = rules.size.default[1] if request.height is None else request.height
    if size is not None:
        width, height = size
    references = []
    init, init_strength = None, None
    for guide in sorted(request.guides, key=lambda g: (g.kind, g.order if g.order is not None else 0)):
        if guide.kind == "image_to_image":
            init, init_strength = images[guide.field], INIT_STRENGTHS[guide.strength or "MID"]
            continue
        weight = _weight(guide, rules.guidances.get(guide.kind))
        references.append(WeightedReference(_REFERENCE_KIND[guide.kind], images[guide.field], weight))
    styles = request.style_ids or ()
    contrast = CONTRAST_LEVELS[request.contrast] if request.contrast else None
    return GenerationRequest(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        model_id=model_id,
        width=width,
        height=height,
        num_images=rules.quantity_default if request.quantity is None else request.quantity,
        num_inference_steps=steps_for(request, rules, default_steps),
        seed=request.seed,
        preset_style=STYLE_UUID_PRESETS[styles[0].lower()] if styles else _default_style(rules),
        alchemy=False,
        public=request.public,
        init_image=init,
        init_strength=init_strength,
        tiling=bool(request.tiling),
        finishing=FinishingRequest(contrast=contrast),
        enhance_prompt=enhance,
        references=tuple(references),
        slug=request.slug,
        limits=limits_for(rules),
    )


def _default_style(rules: SlugRules) -> str:
    """No style_ids: Dynamic where the guide says it is the default (the pages that limit styles
    to one say so), else none at all (the prompt as sent)."""
    return STYLE_UUID_PRESETS[DYNAMIC] if rules.style_limit == 1 else "NONE"


def matched_size(reference: tuple[int, int], multiple: int = 16, area: int = 1024 * 1024) -> tuple[int, int]:
    """Width and height 0/0: the reference's aspect ratio at about `area` pixels, sides multiples of `multiple`."""
    ref_width, ref_height = reference
    scale = (area / (ref_width * ref_height)) ** 0.5
    width, height = (max(multiple, round(side * scale / multiple) * multiple) for side in reference)
    return width, height
