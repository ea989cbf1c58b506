"""Finishing and style knobs: Alchemy's and Prompt Magic's options, PhotoReal, Ultra, contrast.

Leonardo publishes what these knobs are for and their ranges, not how they work; each becomes an
open technique here (docs/knobs.md says which, and why):
- `highResolution`, `ultra`, `upscaleRatio`: the hi-res fix. The first pass draws at the requested
  size; the engine enlarges each picture (Lanczos) and refines it with the family's image-to-image
  pipeline at `HIRES_STRENGTH`. The output is larger, and `imageWidth`/`imageHeight` say its size.
- `photoReal`: photographic prompt terms (with the depth of field `photoRealStrength` names) and a
  refine pass at that strength; v1 draws with the catalog's photographic model (the service picks it).
- `promptMagic`: a refine pass at a strength from `promptMagicStrength`; v3 adds quality terms
  unless `highContrast: false` (Leonardo's RAW mode).
- `contrast`, `contrastRatio`, `highContrast`: one contrast level, which sets CFG rescale (diffusers'
  `guidance_rescale`, on the pipelines that take it) and adds contrast style terms.
- `expandedDomain`, `fantasyAvatar`: refused (`_UNMAPPED` says why).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from sfumato.errors import GENERATION_ARGS_PATH, ClientError, NotSupported


@dataclass(frozen=True)
class FinishingRequest:
    """The knobs as sent (None: absent)."""

    high_resolution: bool | None = None
    ultra: bool | None = None
    upscale_ratio: float | None = None
    photo_real: bool | None = None
    photo_real_version: str | None = None
    photo_real_strength: float | None = None
    prompt_magic: bool | None = None
    prompt_magic_strength: float | None = None
    prompt_magic_version: str | None = None
    contrast: float | None = None
    contrast_ratio: float | None = None
    high_contrast: bool | None = None
    expanded_domain: bool | None = None
    fantasy_avatar: bool | None = None


@dataclass(frozen=True)
class FinishingPlan:
    """What the knobs resolved to: the techniques' numbers, and what the response echoes.

    `hires_scale` is the enlargement of the second pass (1.0: a refine pass at the same size; None:
    no second pass); `hires_width`/`hires_height` the output's size (each side times the scale,
    rounded to a multiple of 16, which every family's latent grid divides); `hires_strength`
    diffusers' strength of that pass. The rest are the knobs as resolved, for the echo fields."""

    hires_scale: float | None = None
    hires_strength: float | None = None
    guidance_rescale: float = 0.0
    hires_width: int | None = None
    hires_height: int | None = None
    ultra: bool = False
    high_resolution: bool = False
    photo_real: bool = False
    photo_real_version: str | None = None
    photo_real_strength: float | None = None
    prompt_magic: bool = False
    prompt_magic_version: str | None = None
    prompt_magic_strength: float | None = None
    contrast: float | None = None
    contrast_ratio: float | None = None
    high_contrast: bool | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FinishingPlan:
        known = {field.name for field in fields(cls)}
        return cls(**{name: value for name, value in data.items() if name in known})

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The pictures' size for a first pass of `width` x `height`."""
        if self.hires_width is None or self.hires_height is None:
            return width, height
        return self.hires_width, self.hires_height


@dataclass(frozen=True)
class FinishingContext:
    """What the rules need of the rest of the request, as resolved so far."""

    alchemy: bool
    model_id_sent: bool
    family: str  # the catalog's family name ("sdxl", "flux", ...)
    sd_version: str
    width: int
    height: int
    preset_style: str | None  # as sent (None: absent)


@dataclass(frozen=True)
class Finishing:
    """`resolve_finishing`'s answer: the plan part, the preset to use (PhotoReal v1 has its own),
    and the style terms appended to the pipeline's prompt and negative prompt."""

    plan: FinishingPlan
    preset_style: str | None
    prompt_terms: tuple[str, ...] = ()
    negative_terms: tuple[str, ...] = ()


# The hi-res fix: how much each knob enlarges, the refine strength (the 0.3-0.45 band the hi-res fix
# is run at in the open ecosystem: enough to redraw detail at the new size, not the composition),
# and the largest side it may output (a 2048 px side is Ultra's 2x of the SDK's default 1024x768).
HIGH_RESOLUTION_SCALE = 1.5
ULTRA_SCALE = 2.0
UPSCALE_RATIO_MIN, UPSCALE_RATIO_MAX = 1.0, 2.0
HIRES_STRENGTH = 0.35
HIRES_SIDE_MAX = 2048
HIRES_GRID = 16

# Leonardo's documented values and ranges (leonardo-behavior §8, the spec's field descriptions).
CONTRAST_VALUES = (1.0, 1.3, 1.8, 2.5, 3.0, 3.5, 4.0, 4.5)
PHOENIX_ALCHEMY_CONTRAST_MIN = 2.5
PHOTO_REAL_VERSIONS = ("v1", "v2")
PHOTO_REAL_STRENGTHS = (0.55, 0.5, 0.45)  # Leonardo's low, medium, high depth of field
DEFAULT_PHOTO_REAL_STRENGTH = 0.55
PHOTO_REAL_V1_PRESETS = ("CINEMATIC", "CREATIVE", "VIBRANT")
DEFAULT_PHOTO_REAL_V1_PRESET = "CINEMATIC"
# PhotoReal v2 runs on Leonardo's Kino, Diffusion and Vision XL: SDXL fine-tunes. Any SDXL row serves,
# Lightning XL included: it is the SDKs' default modelId, so `photoReal: true` with their defaults works.
PHOTO_REAL_V2_FAMILIES = ("sdxl", "sdxl-lightning")
PROMPT_MAGIC_VERSIONS = ("v2", "v3")
DEFAULT_PROMPT_MAGIC_VERSION = "v3"
PROMPT_MAGIC_STRENGTH_MIN, PROMPT_MAGIC_STRENGTH_MAX = 0.1, 1.0
DEFAULT_PROMPT_MAGIC_STRENGTH = 0.5
# Prompt Magic's strength 0.1-1.0 becomes a refine pass's diffusers strength in this band.
PROMPT_MAGIC_REFINE = (0.2, 0.5)
# CFG rescale (Lin et al. 2024, diffusers' `guidance_rescale`) at the lowest contrast level; it pulls
# the guided prediction's spread back to the text-conditioned one, flattening plain CFG's punch.
# 0.7 is the paper's recommended value; the highest level is plain CFG (0).
GUIDANCE_RESCALE_AT_LOW_CONTRAST = 0.7

_PHOTO_TERMS = ("RAW photo", "photorealistic", "natural skin texture", "85mm lens", "sharp focus")
_PHOTO_NEGATIVE = ("painting", "illustration", "cartoon", "3d render", "cgi")
_DEPTH_OF_FIELD: Mapping[float, str] = MappingProxyType(
    {0.55: "deep depth of field", 0.5: "shallow depth of field", 0.45: "very shallow depth of field, bokeh"}
)
_MAGIC_V3_TERMS = ("masterpiece", "best quality", "highly detailed", "intricate details")
_HIGH_CONTRAST = (("high contrast", "deep blacks", "bright highlights"), ("flat", "washed out"))
_LOW_CONTRAST = (("soft contrast", "gentle tones", "diffused light"), ("harsh shadows", "high contrast"))

# Knobs no open technique reproduces: why, and what would be needed.
_UNMAPPED: Mapping[str, str] = MappingProxyType(
    {
        "expandedDomain": "expandedDomain is not supported: Leonardo has not published what Alchemy's "
        "Expanded Domain does, so there is no open technique to map it onto honestly; remove it (it would "
        "need Leonardo's own model or a published description of the feature)",
        "fantasyAvatar": "fantasyAvatar is not supported: Leonardo's Fantasy Avatar turns a photo of a face "
        "into an avatar with an unpublished model; an open equivalent needs an identity-preserving adapter "
        "(IP-Adapter FaceID or InstantID weights and a face encoder), which this server does not ship; remove it",
    }
)


def _fail(field: str, message: str) -> ClientError:
    return ClientError(message, f"{GENERATION_ARGS_PATH}.{field}")


def _num(value: float) -> str:
    return f"{value:g}"


def alchemy_with(request: FinishingRequest, alchemy: bool) -> bool:
    """Alchemy as the render applies it: Ultra "can not be used with Alchemy" (Leonardo), and the
    official SDKs send `alchemy: true` on every request, so Ultra replaces it rather than being refused."""
    return alchemy and not request.ultra


def photo_real_v1(request: FinishingRequest, model_id_sent: bool) -> bool:
    """Whether the request is PhotoReal v1, which draws with its own (photographic) model."""
    return bool(request.photo_real) and not model_id_sent and request.photo_real_version in (None, "v1")


def resolve_finishing(request: FinishingRequest, context: FinishingContext) -> Finishing:
    """Check Leonardo's ranges and incompatibilities; raises ClientError naming the field."""
    for field, value in (("expandedDomain", request.expanded_domain), ("fantasyAvatar", request.fantasy_avatar)):
        if value:
            raise NotSupported(_UNMAPPED[field], f"{GENERATION_ARGS_PATH}.{field}")
    terms: list[str] = []
    negative: list[str] = []
    preset = context.preset_style

    photo_version, photo_strength = _photo_real(request, context)
    if request.photo_real:
        preset = _photo_real_preset(photo_version, preset)
        assert photo_strength is not None
        terms += [*_PHOTO_TERMS, _DEPTH_OF_FIELD[photo_strength]]
        negative += _PHOTO_NEGATIVE

    magic_version, magic_strength = _prompt_magic(request)
    if magic_version == "v3" and request.high_contrast is not False:
        terms += _MAGIC_V3_TERMS

    level = _contrast_level(request, context)
    rescale = 0.0
    if level is not None:
        rescale = round(GUIDANCE_RESCALE_AT_LOW_CONTRAST * (1 - level), 3)
        style = _HIGH_CONTRAST if level >= 2 / 3 else _LOW_CONTRAST if level <= 1 / 3 else ((), ())
        terms += style[0]
        negative += style[1]

    scale = _enlargement(request)
    strength: float | None = None
    if photo_strength is not None:
        strength = photo_strength
    elif magic_strength is not None:
        low, high = PROMPT_MAGIC_REFINE
        span = PROMPT_MAGIC_STRENGTH_MAX - PROMPT_MAGIC_STRENGTH_MIN
        strength = round(low + (high - low) * (magic_strength - PROMPT_MAGIC_STRENGTH_MIN) / span, 3)
    elif scale is not None:
        strength = HIRES_STRENGTH
    if strength is not None and scale is None:
        scale = 1.0  # a refine pass at the same size
    width = height = None
    if scale is not None:
        width, height = _hires_size(request, context, scale)

    plan = FinishingPlan(
        hires_scale=scale,
        hires_strength=strength,
        guidance_rescale=rescale,
        hires_width=width,
        hires_height=height,
        ultra=bool(request.ultra),
        high_resolution=bool(request.high_resolution),
        photo_real=bool(request.photo_real),
        photo_real_version=photo_version,
        photo_real_strength=photo_strength,
        prompt_magic=bool(request.prompt_magic),
        prompt_magic_version=magic_version,
        prompt_magic_strength=magic_strength,
        contrast=request.contrast,
        contrast_ratio=request.contrast_ratio,
        high_contrast=request.high_contrast,
    )
    return Finishing(plan, preset, tuple(terms), tuple(negative))


def _photo_real(request: FinishingRequest, context: FinishingContext) -> tuple[str | None, float | None]:
    """PhotoReal's version and strength (both None without it)."""
    if not request.photo_real:
        for field, value in (("photoRealVersion", request.photo_real_version),
                             ("photoRealStrength", request.photo_real_strength)):  # fmt: skip
            if value is not None:
                raise _fail(field, f"{field} applies with photoReal: true")
        return None, None
    if request.prompt_magic:
        raise _fail("promptMagic", "PhotoReal has its own refine pass: send photoReal or promptMagic, not both")
    strength = DEFAULT_PHOTO_REAL_STRENGTH if request.photo_real_strength is None else request.photo_real_strength
    if strength not in PHOTO_REAL_STRENGTHS:
        raise _fail("photoRealStrength", "photoRealStrength must be 0.55 (low), 0.5 (medium) or 0.45 (high), "
                    f"got {_num(strength)}")  # fmt: skip
    # Without a version: v1 where it applies (no modelId), else v2 (the SDKs always send a modelId).
    version = request.photo_real_version or ("v2" if context.model_id_sent else "v1")
    if version not in PHOTO_REAL_VERSIONS:
        raise _fail("photoRealVersion", f"photoRealVersion must be v1 or v2, got {version}")
    if version == "v1" and context.model_id_sent:
        raise _fail("modelId", "PhotoReal v1 picks its own model: remove modelId, or send photoRealVersion: v2 "
                    "with an SDXL model (Leonardo Kino, Diffusion or Vision XL)")  # fmt: skip
    if not context.alchemy:
        why = ", which ultra turns off (Ultra cannot be used with Alchemy)" if request.ultra else ""
        raise _fail("photoReal", f"PhotoReal {version} needs alchemy: true{why}")
    if version == "v2" and context.family not in PHOTO_REAL_V2_FAMILIES:
        raise _fail("photoRealVersion", "PhotoReal v2 needs an SDXL model (Leonardo Kino, Diffusion or Vision XL, "
                    f"or another SDXL row); this model's family is {context.family}")  # fmt: skip
    return version, strength


def _photo_real_preset(version: str | None, preset: str | None) -> str | None:
    """PhotoReal v1 takes CINEMATIC (its default), CREATIVE or VIBRANT. DYNAMIC, which the SDKs
    send on every request, counts as absent."""
    if version != "v1":
        return preset
    if preset is None or preset == "DYNAMIC":
        return DEFAULT_PHOTO_REAL_V1_PRESET
    if preset not in PHOTO_REAL_V1_PRESETS:
        raise _fail("presetStyle", f"PhotoReal v1 takes presetStyle CINEMATIC, CREATIVE or VIBRANT, got {preset}")
    return preset


def _prompt_magic(request: FinishingRequest) -> tuple[str | None, float | None]:
    """Prompt Magic's version and strength (both None without it)."""
    if not request.prompt_magic:
        for field, value in (("promptMagicVersion", request.prompt_magic_version),
                             ("promptMagicStrength", request.prompt_magic_strength)):  # fmt: skip
            if value is not None:
                raise _fail(field, f"{field} applies with promptMagic: true")
        return None, None
    version = request.prompt_magic_version or DEFAULT_PROMPT_MAGIC_VERSION
    if version not in PROMPT_MAGIC_VERSIONS:
        raise _fail("promptMagicVersion", f"promptMagicVersion must be v2 or v3, got {version}")
    strength = DEFAULT_PROMPT_MAGIC_STRENGTH if request.prompt_magic_strength is None else request.prompt_magic_strength
    if not PROMPT_MAGIC_STRENGTH_MIN <= strength <= PROMPT_MAGIC_STRENGTH_MAX:
        raise _fail("promptMagicStrength", f"promptMagicStrength must be between 0.1 and 1.0, got {_num(strength)}")
    return version, strength


def _contrast_level(request: FinishingRequest, context: FinishingContext) -> float | None:
    """One contrast level in 0-1 from whichever contrast knob was sent (None: none was)."""
    knobs = (("contrast", request.contrast), ("contrastRatio", request.contrast_ratio),
             ("highContrast", request.high_contrast))  # fmt: skip
    sent = [field for field, value in knobs if value is not None and value is not False]  # 0.0 is sent
    if len(sent) > 1:
        raise _fail(sent[1], f"send one contrast knob, not {' and '.join(sent)}")
    if request.contrast is not None:
        if request.contrast not in CONTRAST_VALUES:
            raise _fail("contrast", "contrast must be one of " + ", ".join(_num(v) for v in CONTRAST_VALUES)
                        + f", got {_num(request.contrast)}")  # fmt: skip
        if context.sd_version == "PHOENIX" and context.alchemy and request.contrast < PHOENIX_ALCHEMY_CONTRAST_MIN:
            raise _fail("contrast", f"contrast must be {_num(PHOENIX_ALCHEMY_CONTRAST_MIN)} or more for Phoenix "
                        f"with alchemy, got {_num(request.contrast)}")  # fmt: skip
        low, high = CONTRAST_VALUES[0], CONTRAST_VALUES[-1]
        return (request.contrast - low) / (high - low)
    if request.contrast_ratio is not None:
        if not 0 <= request.contrast_ratio <= 1:
            raise _fail("contrastRatio", f"contrastRatio must be between 0 and 1, got {_num(request.contrast_ratio)}")
        if not context.alchemy:
            raise _fail("contrastRatio", "contrastRatio is Alchemy's: send it with alchemy: true")
        return request.contrast_ratio
    return 1.0 if request.high_contrast else None


def _enlargement(request: FinishingRequest) -> float | None:
    """The largest enlargement the knobs ask for (None: none)."""
    asked: list[float] = []
    if request.upscale_ratio is not None:
        if not UPSCALE_RATIO_MIN <= request.upscale_ratio <= UPSCALE_RATIO_MAX:
            raise _fail("upscaleRatio", f"upscaleRatio must be between {_num(UPSCALE_RATIO_MIN)} and "
                        f"{_num(UPSCALE_RATIO_MAX)}, got {_num(request.upscale_ratio)}")  # fmt: skip
        if request.upscale_ratio > 1:
            asked.append(request.upscale_ratio)
    if request.ultra:
        asked.append(ULTRA_SCALE)
    if request.high_resolution:
        asked.append(HIGH_RESOLUTION_SCALE)
    return max(asked) if asked else None


def _field_of_scale(request: FinishingRequest, scale: float) -> str:
    """The knob that asked for `scale` (for a refusal)."""
    if request.upscale_ratio == scale:
        return "upscaleRatio"
    if request.ultra and scale == ULTRA_SCALE:
        return "ultra"
    if request.high_resolution and scale == HIGH_RESOLUTION_SCALE:
        return "highResolution"
    return "photoReal" if request.photo_real else "promptMagic"


def _hires_size(request: FinishingRequest, context: FinishingContext, scale: float) -> tuple[int, int]:
    """Each side times `scale`, rounded to the 16-px grid (a refine pass keeps the size); over
    `HIRES_SIDE_MAX` is refused."""
    if scale == 1.0:
        return context.width, context.height
    width, height = (max(HIRES_GRID, math.floor(side * scale / HIRES_GRID + 0.5) * HIRES_GRID)
                     for side in (context.width, context.height))  # fmt: skip
    if max(width, height) > HIRES_SIDE_MAX:
        field = _field_of_scale(request, scale)
        raise _fail(field, f"{field} would make {context.width}x{context.height} pictures {width}x{height}; the "
                    f"output is capped at {HIRES_SIDE_MAX} px a side: ask for a smaller width/height")  # fmt: skip
    return width, height
