"""v2's per-slug parameter rules, as Leonardo's guides document them: reviewable data, one rule
object per slug family (shared/docs/leonardo-v2.md §3, §4). `sfumato.domain.v2_rules` applies them.

Which open model serves a slug is the catalog's (`[[slug]]` rows); these rules are only what a v2
client may send for it. A slug the catalog serves but no rule here documents gets `GENERIC`, the
flux-schnell guide's rules (the one Leonardo states for its other image slugs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# --- sizes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SizeRule:
    """The widths and heights a slug takes: a range of multiples, or discrete lists (0: match the
    first reference's aspect ratio), or fixed pairs; plus GPT Image 2's pixel and ratio bounds."""

    low: int = 32
    high: int = 2048
    multiple: int = 8
    widths: tuple[int, ...] = ()
    heights: tuple[int, ...] = ()
    pairs: tuple[tuple[int, int], ...] = ()
    default: tuple[int, int] = (1024, 1024)
    min_pixels: int | None = None
    max_pixels: int | None = None
    max_ratio: float | None = None
    high_exclusive: bool = False  # GPT Image 2: each side below `high`

    @property
    def largest(self) -> int:
        """The longest side the rule allows (the v1 bounds `resolve()` then holds it to)."""
        sides = [*self.widths, *self.heights, *(side for pair in self.pairs for side in pair)]
        return max(sides) if sides else self.high


_NB_SIDES = (0, 672, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1344, 1376, 1536, 1696, 1792, 1856, 2048, 2304,
             2400, 2528, 2688, 2752, 3072, 3392, 3584, 3712, 4096, 4608, 4800, 5056, 5504)  # fmt: skip
_NB2_HEIGHTS = (0, 672, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1344, 1376, 1536, 1696, 1792, 1856, 2048, 2304,
                2400, 2528, 2688, 2752, 3072, 3392, 3584, 3712, 4096, 4608, 4800, 5056, 5504)  # fmt: skip
_NB2_WIDTHS = (0, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1344, 1376, 1536, 1584, 1696, 1792, 1856, 2048, 2304,
               2400, 2528, 2688, 2752, 3072, 3168, 3392, 3584, 3712, 4096, 4608, 4800, 5056, 5504, 6336)  # fmt: skip
_NB_LITE_HEIGHTS = (0, 672, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1376)
_NB_LITE_WIDTHS = (0, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1376, 1584)
_FLARE_HEIGHTS = (640, 768, 848, 896, 928, 1024, 1152, 1200, 1264, 1376, 1536, 1792, 2048, 2304, 2688, 3072, 3584)
_FLARE_WIDTHS = (768, 848, 896, 928, 1024, 1152, 1200, 1264, 1376, 1536, 1792, 2048, 2304, 2688, 3072, 3584, 3808)

# --- image references ---------------------------------------------------------------------------

LOW_MID_HIGH = ("LOW", "MID", "HIGH")
FIVE_STRENGTHS = ("LOW", "MID", "HIGH", "ULTRA", "MAX")
ID_TYPES = ("UPLOADED", "GENERATED")
ALL_TYPES = ("UPLOADED", "GENERATED", "VARIATION", "URL", "BASE64")
# Kontext's pages also name INIT (an upload) and GENERATION (a generated image).
KONTEXT_TYPES = ("INIT", "GENERATION", "UPLOADED", "GENERATED", "VARIATION")


@dataclass(frozen=True)
class GuidanceRule:
    """One `guidances.<kind>[]` list a slug takes: how many, which image types, which strengths
    (empty: the slug takes no `strength`)."""

    max_count: int
    strengths: tuple[str, ...] = LOW_MID_HIGH
    types: tuple[str, ...] = ALL_TYPES
    default_strength: str = "MID"


# --- style_ids (UUID lists per page; both Portrait UUIDs are accepted wherever Portrait is) ------

PORTRAIT_IDS = ("8e2bc543-6ee2-45f9-bcd9-594b6ce84dcd", "ab5a4220-7c42-41e5-a578-eddb9fed3d75")
DYNAMIC = "111dc692-d470-4eec-b791-3475abac4c46"
_NB_STYLES = frozenset({
    "debdf72a-91a4-467b-bf61-cc02bdeb69c6", "3cbb655a-7ca4-463f-b697-8a03ad67327c",
    "6fedbf1f-4a17-45ec-84fb-92fe524a29ef", DYNAMIC, "594c4a08-a522-4e0e-b7ff-e4dac4b6b622",
    "09d2b5b5-d7c5-4c02-905d-9f84051640f4", "703d6fe5-7f1c-4a9e-8da0-5331f214d5cf",
    "7d7c2bc5-4b12-4ac3-81a9-630057e9e89f", "645e4195-f63d-4715-a3f2-3fb1e6eb8c70",
    "556c1ee5-ec38-42e8-955a-1e82dad0ffa1", *PORTRAIT_IDS, "4edb03c9-8a26-4041-9d01-f85b5d4abd71",
    "0d34f8e1-46d4-428f-8ddd-4b11811fa7c9", "22a9a7d2-2166-4d86-80ff-22e2643adbcf",
    "7c3f932b-a572-47cb-9b9b-f20211e63b5b", "581ba6d6-5aac-4492-bebe-54c424a0d46e",
    "b504f83c-3326-4947-82e1-7fe9e839ec0f", "5bdc3f2a-1be6-4d1c-8e77-992a30824a2c",
    "1db308ce-c7ad-4d10-96fd-592fa6b75cc4",
})  # fmt: skip
_CINEMATIC, _VIBRANT = "a5632c7c-ddbb-4e2f-ba34-8456ab3ac436", "dee282d3-891f-4f73-ba02-7f8131e5541b"
_NONE_STYLE = "556c1ee5-ec38-42e8-955a-1e82dad0ffa1"
_FLARE_STYLES = _NB_STYLES | {_CINEMATIC, _VIBRANT}
_SEEDREAM_STYLES = frozenset({
    _CINEMATIC, "6fedbf1f-4a17-45ec-84fb-92fe524a29ef", DYNAMIC, "594c4a08-a522-4e0e-b7ff-e4dac4b6b622",
    *PORTRAIT_IDS, "5bdc3f2a-1be6-4d1c-8e77-992a30824a2c", _VIBRANT,
})  # fmt: skip
_LUCID_ORIGIN_STYLES = _SEEDREAM_STYLES | {_NONE_STYLE}
_LUCID_REALISM_STYLES = _LUCID_ORIGIN_STYLES | {
    "9fdc5e8c-4d13-49b4-9ce6-5a74cbb19177", "cc53f935-884c-40a0-b7eb-1f5c42821fb5",
    "85da2dcc-c373-464c-9a7a-5624359be859", "d574325d-1278-4fe2-974b-768525f253c3",
    "97c20e5c-1af6-4d42-b227-54d03d8f0727", "335e6010-a75c-45d9-afc5-032c65e9180e",
    "30c1d34f-e3a9-479a-b56f-c018bbc9c02a", "cadc8cd6-7838-4c99-b645-df76be8ba8d8",
    "a2f7ea66-959b-4bbe-b508-6133238b76b6", "621e1c9a-6319-4bee-a12d-ae40659162fa",
    "0d914779-c822-430a-b976-30075033f1c4", "6105baa2-851b-446e-9db5-08a671a8c42f",
    "62736842-6e4b-4028-b79a-4f1a1606e893",
}  # fmt: skip
_PHOENIX_STYLES = frozenset({
    "debdf72a-91a4-467b-bf61-cc02bdeb69c6", "9fdc5e8c-4d13-49b4-9ce6-5a74cbb19177", _CINEMATIC,
    "33abbb99-03b9-4dd7-9761-ee98650b2c88", "6fedbf1f-4a17-45ec-84fb-92fe524a29ef", DYNAMIC,
    "594c4a08-a522-4e0e-b7ff-e4dac4b6b622", "2e74ec31-f3a4-4825-b08b-2894f6d13941",
    "1fbb6a68-9319-44d2-8d56-2957ca0ece6a", "645e4195-f63d-4715-a3f2-3fb1e6eb8c70",
    "30c1d34f-e3a9-479a-b56f-c018bbc9c02a", "cadc8cd6-7838-4c99-b645-df76be8ba8d8",
    "621e1c9a-6319-4bee-a12d-ae40659162fa", _NONE_STYLE, *PORTRAIT_IDS,
    "22a9a7d2-2166-4d86-80ff-22e2643adbcf", "7c3f932b-a572-47cb-9b9b-f20211e63b5b",
    "581ba6d6-5aac-4492-bebe-54c424a0d46e", "b504f83c-3326-4947-82e1-7fe9e839ec0f",
    "be8c6b58-739c-4d44-b9c1-b032ed308b61", "093accc3-7633-4ffd-82da-d34000dfc0d6",
    "5bdc3f2a-1be6-4d1c-8e77-992a30824a2c", _VIBRANT,
})  # fmt: skip

# --- quality / mode -> steps ------------------------------------------------------------------

# A `quality` or `mode` value as a factor on the serving model's default steps (ours: Leonardo does
# not say what they change inside its models; more denoising steps is the open models' quality knob).
STEP_FACTORS: Mapping[str, float] = MappingProxyType({
    "LOW": 0.5, "MEDIUM": 1.0, "HIGH": 1.5, "XHIGH": 2.0, "MAX": 2.5,
    "TURBO": 0.5, "BALANCED": 1.0, "QUALITY": 1.5,
    "FAST": 1.0, "ULTRA": 2.0,
})  # fmt: skip
# Phoenix's `contrast` as the v1 `contrast` value it stands for (sfumato.domain.finishing).
CONTRAST_LEVELS: Mapping[str, float] = MappingProxyType({"LOW": 1.3, "MEDIUM": 3.0, "HIGH": 4.5})
# Phoenix's `image_to_image` strength as v1's init_strength (how much of the image survives; ours).
INIT_STRENGTHS: Mapping[str, float] = MappingProxyType({"LOW": 0.3, "MID": 0.5, "HIGH": 0.7})


@dataclass(frozen=True)
class SlugRules:
    """What a v2 client may send for one slug family."""

    title: str
    size: SizeRule = field(default_factory=SizeRule)
    quantity_default: int = 4
    quantity_max: int = 8
    seed_max: int = 2_147_483_637
    prompt_max: int = 2000
    guidances: Mapping[str, GuidanceRule] = field(default_factory=lambda: MappingProxyType({}))
    styles: frozenset[str] | None = None  # None: any style Sfumato knows
    style_limit: int | None = None
    quality: tuple[str, ...] = ()
    quality_default: str | None = None
    modes: tuple[str, ...] = ()
    mode_default: str | None = None
    contrast: bool = False
    negative_prompt: bool = False
    tiling: bool = False


def _refs(
    count: int, strengths: tuple[str, ...] = LOW_MID_HIGH, types: tuple[str, ...] = ALL_TYPES
) -> Mapping[str, GuidanceRule]:
    return MappingProxyType({"image_reference": GuidanceRule(count, strengths, types)})


_SEED_32 = 4_294_967_295
GENERIC = SlugRules("Leonardo image model (flux-schnell guide)", guidances=_refs(4))
_NANO_BANANA = SlugRules("Nano Banana", SizeRule(widths=_NB_SIDES, heights=_NB_SIDES), quantity_default=1,
                         prompt_max=5000, guidances=_refs(6), styles=_NB_STYLES)  # fmt: skip
_NANO_BANANA_2 = SlugRules("Nano Banana 2", SizeRule(widths=_NB2_WIDTHS, heights=_NB2_HEIGHTS), quantity_default=1,
                           prompt_max=5000, guidances=_refs(6), styles=_NB_STYLES)  # fmt: skip
_SEEDREAM = SlugRules("Seedream", SizeRule(low=256, high=4096, multiple=8), quantity_default=1, prompt_max=5000,
                      guidances=_refs(6), styles=_SEEDREAM_STYLES)  # fmt: skip
_FLARE = SlugRules("GPT Image 2.5 Flare", SizeRule(widths=_FLARE_WIDTHS, heights=_FLARE_HEIGHTS), prompt_max=9999,
                   guidances=_refs(16, ()), styles=_FLARE_STYLES, style_limit=1,
                   quality=("LOW", "MEDIUM", "HIGH", "XHIGH", "MAX"), quality_default="MEDIUM")  # fmt: skip
# The page's own sample sends quality "MEDIUM", so it is taken too.
_IDEOGRAM = SlugRules("Ideogram", quantity_default=1, styles=_SEEDREAM_STYLES,
                      quality=("TURBO", "BALANCED", "QUALITY", "MEDIUM"), quality_default="BALANCED")  # fmt: skip
_PHOENIX_GUIDES = MappingProxyType({
    "style": GuidanceRule(4, FIVE_STRENGTHS), "content": GuidanceRule(1), "character": GuidanceRule(1),
    "image_to_image": GuidanceRule(1),
})  # fmt: skip
_LUCID_GUIDES = MappingProxyType({"style": GuidanceRule(1, FIVE_STRENGTHS), "content": GuidanceRule(1)})

RULES: Mapping[str, SlugRules] = MappingProxyType({
    "sfumato-tiny": SlugRules("Sfumato Tiny", SizeRule(low=32, high=1024, default=(64, 64)), quantity_default=1,
                              guidances=_refs(4)),
    # FLUX.2 Pro's table has 1440x810: the guide states no multiple (the serving family's still applies).
    "flux-pro-2.0": SlugRules("FLUX.2 Pro", SizeRule(low=256, high=1440, multiple=1), quantity_default=1,
                              seed_max=_SEED_32, guidances=_refs(4, types=ID_TYPES)),
    "gemini-2.5-flash-image": _NANO_BANANA,
    "gemini-image-2": _NANO_BANANA,
    "nano-banana-2": _NANO_BANANA_2,
    "nano-banana-2-lite": SlugRules("Nano Banana 2 Lite", SizeRule(widths=_NB_LITE_WIDTHS, heights=_NB_LITE_HEIGHTS),
                                    quantity_default=1, prompt_max=5000, guidances=_refs(6),
                                    styles=_NB_STYLES, style_limit=1),
    "google/nano-banana-2.1": SlugRules("Nano Banana 2.1", SizeRule(widths=_NB2_WIDTHS, heights=_NB2_HEIGHTS),
                                        quantity_default=1, prompt_max=5000, guidances=_refs(14),
                                        styles=_NB_STYLES),
    "gpt-image-1.5": SlugRules("GPT Image 1.5", SizeRule(pairs=((1024, 1536), (1024, 1024), (1536, 1024))),
                               quantity_default=1, seed_max=_SEED_32, prompt_max=5000, guidances=_refs(6),
                               quality=("LOW", "MEDIUM", "HIGH"), quality_default="MEDIUM"),
    "gpt-image-2": SlugRules("GPT Image 2", SizeRule(low=16, high=3840, multiple=16, min_pixels=655_360,
                                                     max_pixels=8_294_400, max_ratio=3.0, high_exclusive=True),
                             quantity_default=1, prompt_max=5000, guidances=_refs(6, (), ID_TYPES),
                             quality=("LOW", "MEDIUM", "HIGH"), quality_default="MEDIUM"),
    "openai/gpt-image-2.5-flare": _FLARE,
    "openai/gpt-image-2.5-sunburst": _FLARE,  # its page was not read: Flare's rules
    "seedream-4.0": _SEEDREAM,
    "seedream-4.5": _SEEDREAM,
    "seedream-5.0-pro": _SEEDREAM,
    "bytedance/seedream-5.0-flash": _SEEDREAM,
    "ideogram-v3.0": _IDEOGRAM,
    # Ideogram's newer pages were not read in detail: 3.0's rules (text-to-image, no references).
    "ideogram-v4.0": _IDEOGRAM,
    "ideogram/ideogram-4.5": _IDEOGRAM,
    "ideogram/p-image-ideogram": _IDEOGRAM,
    "flux-kontext-pro": SlugRules("FLUX.1 Kontext", guidances=_refs(4, types=KONTEXT_TYPES), prompt_max=9999,
                                  styles=_NB_STYLES, style_limit=1),
    "flux-kontext-max": SlugRules("FLUX.1 Kontext", guidances=_refs(4, types=KONTEXT_TYPES), prompt_max=9999,
                                  styles=_NB_STYLES, style_limit=1),
    "lucid-origin": SlugRules("Lucid Origin", SizeRule(low=16, high=3840, default=(1200, 1200)), seed_max=2_147_483_647,
                              guidances=_LUCID_GUIDES, styles=_LUCID_ORIGIN_STYLES, style_limit=1,
                              modes=("FAST", "ULTRA"), mode_default="FAST"),
    "lucid-realism": SlugRules("Lucid Realism", SizeRule(low=16, high=2496), seed_max=2_147_483_647, prompt_max=9999,
                               guidances=_LUCID_GUIDES, styles=_LUCID_REALISM_STYLES, style_limit=1,
                               modes=("FAST", "ULTRA"), mode_default="FAST"),
    "phoenix-v1.0": SlugRules("Phoenix 1.0", guidances=_PHOENIX_GUIDES, styles=_PHOENIX_STYLES, style_limit=1,
                              modes=("FAST", "QUALITY", "ULTRA"), mode_default="FAST", contrast=True,
                              negative_prompt=True, tiling=True),
    "phoenix-v0.9": SlugRules("Phoenix 0.9", guidances=_PHOENIX_GUIDES, styles=_PHOENIX_STYLES, style_limit=1,
                              modes=("FAST", "QUALITY", "ULTRA"), mode_default="FAST", contrast=True,
                              negative_prompt=True, tiling=True),
})  # fmt: skip


def rules_for(slug: str) -> SlugRules:
    """The slug's documented rules, else the generic ones (a served slug no guide documents)."""
    return RULES.get(slug, GENERIC)
