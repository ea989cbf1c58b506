"""Image guidance: `controlnets[]` (and the legacy `controlNet` fields), and image references.

Leonardo's `preprocessorId` says both what guides the picture (an edge map, a depth map, a pose,
or, for Style, Character and Content Reference, the picture as a reference) and for which base
model. ControlNet kinds become `ControlPlan`s (a ControlNet per kind, engine side); the reference
kinds and `imagePrompts` become `ReferencePlan`s (an IP-Adapter, engine side).

The ids are Leonardo's image-guidance table (docs/knobs.md), one column per base model, picked by
the model's `sd_version`. FLUX models: Leonardo documents only the Phoenix column's reference ids
for them; Sfumato also accepts SDXL's ControlNet ids (19-22) there, served by FLUX ControlNets (ours).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sfumato.domain.image_inputs import ImageRef, SourceImages
from sfumato.errors import GENERATION_ARGS_PATH, ClientError

# What each kind of guidance is called in Leonardo's guide (for messages) and whether it is a
# ControlNet ("control", the engine's ControlGuide kind) or an IP-Adapter reference.
REFERENCE_KINDS = ("style", "character", "content")
_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "style": "Style Reference",
        "character": "Character Reference",
        "content": "Content Reference",
        "canny": "Edge to Image",
        "depth": "Depth to Image",
        "pose": "Pose to Image",
        "text": "Text Image Input",
        "sketch": "Sketch to Image",
        "normal": "Normal Map",
        "lineart": "Line Art",
        "pattern": "Pattern to Image",
        "qr": "QR Code to Image",
    }
)
# Leonardo's guidance kinds whose source picture is itself the control image (the engine's "image").
_AS_IMAGE = frozenset({"text", "pattern", "qr"})

_SD15 = {1: "canny", 3: "depth", 7: "pose", 11: "text", 10: "sketch", 6: "normal", 5: "lineart", 8: "pattern", 9: "qr"}
_SD21 = {12: "canny", 13: "depth", 16: "pose", 18: "text", 17: "sketch", 15: "normal"}
_SDXL = {67: "style", 133: "character", 100: "content", 19: "canny", 20: "depth", 21: "pose", 22: "text"}
_PHOENIX = {166: "style", 397: "character", 364: "content"}
_FLUX = {**_PHOENIX, 19: "canny", 20: "depth", 21: "pose", 22: "text"}  # ControlNet ids: ours (see module doc)

# Base-model column per `sd_version` (a version without one takes no guidance: SD3, Kino).
COLUMNS: Mapping[str, tuple[str, Mapping[int, str]]] = MappingProxyType(
    {
        "v1_5": ("SD 1.5", _SD15),
        "v2": ("SD 2.1", _SD21),
        "SDXL_0_8": ("SDXL", _SDXL),
        "SDXL_0_9": ("SDXL", _SDXL),
        "SDXL_1_0": ("SDXL", _SDXL),
        "SDXL_LIGHTNING": ("SDXL", _SDXL),
        "PHOENIX": ("Phoenix", _PHOENIX),
        "FLUX": ("FLUX", _FLUX),
        "FLUX_DEV": ("FLUX", _FLUX),
    }
)

# Leonardo's strength bands (weight 0-2); a `strengthType` is its band's midpoint.
WEIGHT_MIN, WEIGHT_MAX = 0.0, 2.0
BANDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"Low": (0.0, 0.4), "Mid": (0.4, 0.8), "High": (0.8, 1.2), "Ultra": (1.2, 1.6), "Max": (1.6, 2.0)}
)
# Character Reference has its own, Low/Mid/High only (the guide's "High 0.32-2" read as 1.32-2).
CHARACTER_BANDS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"Low": (0.0, 0.66), "Mid": (0.66, 1.32), "High": (1.32, 2.0)}
)
# Content Reference takes only Low/Mid/High of the usual bands.
_THREE_BANDS = ("Low", "Mid", "High")
# Neither `weight` nor `strengthType`: Mid, the guide's default strength (ours for ControlNets).
DEFAULT_STRENGTH = "Mid"
# `imagePrompts` without `imagePromptWeight`: the IP-Adapter scale diffusers' guide starts from (ours).
DEFAULT_IMAGE_PROMPT_WEIGHT = 0.5

# The legacy `controlNetType` values, as guidance kinds of the model's column.
LEGACY_TYPES: Mapping[str, str] = MappingProxyType({"CANNY": "canny", "DEPTH": "depth", "POSE": "pose"})


@dataclass(frozen=True)
class ControlnetRef:
    """One `controlnets[]` entry as sent (the legacy `controlNet` fields map onto one too, with
    `legacy_kind` instead of a `preprocessor_id`); `field` is the path its errors name
    ("controlnets[0]", or "controlNetType" for the legacy fields)."""

    image: ImageRef
    preprocessor_id: int | None
    weight: float | None = None
    strength_type: str | None = None
    influence: float | None = None
    field: str = "controlnets"
    legacy_kind: str | None = None


@dataclass(frozen=True)
class ControlPlan:
    """One ControlNet of a plan: what the source becomes (`kind`, the engine's `ControlGuide.kind`),
    Leonardo's id for it, the stored source image and the conditioning scale."""

    kind: str
    preprocessor_id: int
    image_key: str
    weight: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControlPlan:
        return cls(**data)


@dataclass(frozen=True)
class ReferencePlan:
    """One IP-Adapter reference of a plan: "style", "character", "content" or "image" (an image
    prompt), the stored picture, the adapter scale, and Leonardo's id when a controlnet sent it."""

    kind: str
    image_key: str
    weight: float
    preprocessor_id: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReferencePlan:
        return cls(**data)


@dataclass(frozen=True)
class WeightedReference:
    """A reference picture with its own adapter scale, as v2's `guidances` send them ("image" for
    `image_reference[]`, "style" / "content" / "character" for Phoenix's and Lucid's lists)."""

    kind: str
    image: ImageRef
    weight: float


def _fail(field: str, message: str) -> ClientError:
    return ClientError(message, f"{GENERATION_ARGS_PATH}.{field}")


def column_ids(sd_version: str) -> tuple[str, Mapping[int, str]]:
    """The base-model column of Leonardo's table a model of `sd_version` takes (name, id -> kind)."""
    return COLUMNS.get(sd_version, (sd_version, {}))


def _accepted(ids: Mapping[int, str]) -> str:
    return ", ".join(f"{number} ({_TITLES[kind]})" for number, kind in sorted(ids.items())) or "none"


def _guidance_kind(ref: ControlnetRef, model_name: str, sd_version: str) -> tuple[int, str]:
    """Leonardo's id and guidance kind of `ref` for this model; an id it cannot take is a 400."""
    column, ids = column_ids(sd_version)
    if ref.legacy_kind is not None:
        found = [number for number, kind in ids.items() if kind == ref.legacy_kind]
        if not found:
            raise _fail(ref.field, f"controlNetType {ref.legacy_kind.upper()} has no ControlNet for model "
                        f"'{model_name}' ({column}): it takes {_accepted(ids)}")  # fmt: skip
        return found[0], ref.legacy_kind
    assert ref.preprocessor_id is not None
    kind = ids.get(ref.preprocessor_id)
    if kind is None:
        raise _fail(
            f"{ref.field}.preprocessorId",
            f"preprocessorId {ref.preprocessor_id} is not one model '{model_name}' ({column}) can take: "
            f"its ids are {_accepted(ids)}",
        )
    return ref.preprocessor_id, kind


def _weight(ref: ControlnetRef, kind: str) -> float:
    """The entry's `weight` (0-2), or its `strengthType`'s band midpoint (Mid when it sends neither)."""
    if ref.weight is not None and ref.strength_type is not None:
        raise _fail(f"{ref.field}.strengthType", "send weight or strengthType, not both")
    if ref.weight is not None:
        if not WEIGHT_MIN <= ref.weight <= WEIGHT_MAX:
            raise _fail(f"{ref.field}.weight", f"weight must be between 0 and 2, got {ref.weight:g}")
        return ref.weight
    bands = CHARACTER_BANDS if kind == "character" else BANDS
    name = ref.strength_type or DEFAULT_STRENGTH
    if kind in ("character", "content") and name not in _THREE_BANDS:
        raise _fail(f"{ref.field}.strengthType", f"{_TITLES[kind]} takes strengthType Low, Mid or High, got {name}")
    low, high = bands[name]
    return round((low + high) / 2, 6)


def resolve_guidance(
    controlnets: tuple[ControlnetRef, ...],
    image_prompts: tuple[ImageRef, ...],
    image_prompt_weight: float | None,
    sd_version: str,
    model_name: str,
    images: SourceImages,
) -> tuple[tuple[ControlPlan, ...], tuple[ReferencePlan, ...]]:
    """The plan's ControlNets and IP-Adapter references; raises ClientError naming the field.

    `images.guides` holds the stored key of every image named (the service found them)."""
    resolved = []
    for ref in controlnets:
        number, kind = _guidance_kind(ref, model_name, sd_version)
        resolved.append((ref, number, kind, _weight(ref, kind)))

    styles = [item for item in resolved if item[2] == "style"]
    for ref, _, kind, _ in resolved:
        if ref.influence is not None and (kind != "style" or len(styles) < 2):
            raise _fail(f"{ref.field}.influence", "influence is the share of each of several Style References: "
                        "send it only on Style References, with two or more of them")  # fmt: skip
        if ref.influence is not None and ref.influence <= 0:
            raise _fail(f"{ref.field}.influence", f"influence must be above 0, got {ref.influence:g}")
    # Several Style References share the adapter by `influence` (1 where unsent): equal shares
    # leave each weight as sent, a larger share scales its weight up.
    shares = [1.0 if ref.influence is None else ref.influence for ref, *_ in styles]
    mean_share = sum(shares) / len(shares) if shares else 1.0

    controls: list[ControlPlan] = []
    references: list[ReferencePlan] = []
    for ref, number, kind, weight in resolved:
        key = images.guides[ref.image]
        if kind in REFERENCE_KINDS:
            if kind == "style" and ref.influence is not None:
                weight = round(weight * ref.influence / mean_share, 6)
            references.append(ReferencePlan(kind, key, weight, number))
        else:
            controls.append(ControlPlan("image" if kind in _AS_IMAGE else kind, number, key, weight))

    if image_prompt_weight is not None:
        if not image_prompts:
            raise _fail("imagePromptWeight", "imagePromptWeight applies with imagePrompts: send them too")
        if not WEIGHT_MIN <= image_prompt_weight <= WEIGHT_MAX:
            raise _fail("imagePromptWeight", f"imagePromptWeight must be between 0 and 2, got {image_prompt_weight:g}")
    prompt_weight = DEFAULT_IMAGE_PROMPT_WEIGHT if image_prompt_weight is None else image_prompt_weight
    references += [ReferencePlan("image", images.guides[ref], prompt_weight) for ref in image_prompts]
    return tuple(controls), tuple(references)
