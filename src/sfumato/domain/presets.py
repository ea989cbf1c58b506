"""Leonardo's preset styles as prompt templates, and the styleUUID aliases.

Leonardo does not publish what a preset does inside Alchemy; in the open ecosystem the
same knob is a prompt template around the user's prompt (as Fooocus' and SDXL's style
lists do). `{prompt}` is replaced with the user's prompt; `negative` is added to the
negative prompt. NONE (and UNPROCESSED) leave the prompt untouched.

A style applies with or without Alchemy. Leonardo documents "without Alchemy only LEONARDO or
NONE", yet both official SDKs send `presetStyle: "DYNAMIC"` in every request, `alchemy: false`
included: refusing would refuse the SDKs' own defaults, and ignoring an explicit style would
drop what the user asked for. Alchemy changes only the quality defaults, the size cap and the price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PresetTemplate:
    positive: str
    negative: str = ""
    # v2's styles that Leonardo's v1 enum lacks: the enum value a generation shows for them (the
    # official SDKs refuse a `presetStyle` outside their enum).
    shown_as: str | None = None


_UNTOUCHED = PresetTemplate("{prompt}")
_CLEAN_NEGATIVE = "lowres, blurry, jpeg artifacts, watermark, signature"

PRESET_TEMPLATES: dict[str, PresetTemplate] = {
    "NONE": _UNTOUCHED,
    "UNPROCESSED": _UNTOUCHED,
    "LEONARDO": PresetTemplate("{prompt}, highly detailed, sharp focus", _CLEAN_NEGATIVE),
    "DYNAMIC": PresetTemplate("{prompt}, dynamic composition, vivid colors, dramatic lighting", _CLEAN_NEGATIVE),
    "GENERAL": PresetTemplate("{prompt}, detailed, balanced composition", _CLEAN_NEGATIVE),
    "NEUTRAL": PresetTemplate("{prompt}, natural colors, even lighting", _CLEAN_NEGATIVE),
    "ANIME": PresetTemplate("anime artwork of {prompt}, anime style, key visual, vibrant", "photo, realistic"),
    "BOKEH": PresetTemplate("{prompt}, shallow depth of field, bokeh background", _CLEAN_NEGATIVE),
    "CINEMATIC": PresetTemplate("cinematic film still of {prompt}, cinematic lighting, film grain", "cartoon"),
    "CINEMATIC_CLOSEUP": PresetTemplate("cinematic close-up of {prompt}, detailed face, film still", "cartoon"),
    "CREATIVE": PresetTemplate("{prompt}, imaginative, artistic, creative concept art", _CLEAN_NEGATIVE),
    "ENVIRONMENT": PresetTemplate("{prompt}, wide environment shot, atmospheric landscape", _CLEAN_NEGATIVE),
    "FASHION": PresetTemplate("fashion photography of {prompt}, editorial, studio lighting", _CLEAN_NEGATIVE),
    "FILM": PresetTemplate("analog film photo of {prompt}, kodak portra, film grain", "digital, cartoon"),
    "FOOD": PresetTemplate("food photography of {prompt}, appetizing, soft light", _CLEAN_NEGATIVE),
    "HDR": PresetTemplate("HDR photo of {prompt}, high dynamic range, vivid detail", "flat, low contrast"),
    "ILLUSTRATION": PresetTemplate("illustration of {prompt}, clean lines, digital illustration", "photo"),
    "LONG_EXPOSURE": PresetTemplate("long exposure photo of {prompt}, light trails, motion blur", _CLEAN_NEGATIVE),
    "MACRO": PresetTemplate("macro photo of {prompt}, extreme close-up, fine detail", _CLEAN_NEGATIVE),
    "MINIMALISTIC": PresetTemplate("minimalist {prompt}, simple, clean background, negative space", "cluttered"),
    "MONOCHROME": PresetTemplate("monochrome {prompt}, black and white", "color"),
    "MOODY": PresetTemplate("{prompt}, moody, dark atmosphere, low key lighting", "bright, cheerful"),
    "PHOTOGRAPHY": PresetTemplate("photograph of {prompt}, 35mm, natural light", "painting, cartoon"),
    "PORTRAIT": PresetTemplate("portrait of {prompt}, detailed face, soft studio light", _CLEAN_NEGATIVE),
    "RAYTRACED": PresetTemplate("{prompt}, ray traced, global illumination, reflections", _CLEAN_NEGATIVE),
    "RENDER_3D": PresetTemplate("3D render of {prompt}, octane render, volumetric light", "photo, flat"),
    "RETRO": PresetTemplate("retro {prompt}, vintage, 1970s aesthetic", "modern"),
    "SKETCH_BW": PresetTemplate("black and white pencil sketch of {prompt}, graphite", "color, photo"),
    "SKETCH_COLOR": PresetTemplate("colored pencil sketch of {prompt}", "photo"),
    "STOCK_PHOTO": PresetTemplate("stock photo of {prompt}, professional, well lit", _CLEAN_NEGATIVE),
    "VIBRANT": PresetTemplate("{prompt}, vibrant, saturated colors, high energy", "dull, muted"),
    # v2's style_ids only (sfumato.domain.v2_models): shown as the nearest v1 style.
    "ACRYLIC": PresetTemplate("acrylic painting of {prompt}, visible brush strokes", "photo", "ILLUSTRATION"),
    "GAME_CONCEPT": PresetTemplate("game concept art of {prompt}, detailed environment design", "photo", "CREATIVE"),
    "GRAPHIC_DESIGN_2D": PresetTemplate("flat 2D graphic design of {prompt}, clean shapes", "photo", "ILLUSTRATION"),
    "GRAPHIC_DESIGN_3D": PresetTemplate("3D graphic design of {prompt}, glossy shapes", "photo", "RENDER_3D"),
    "GRAPHIC_DESIGN_POP_ART": PresetTemplate("pop art graphic of {prompt}, bold colors, halftone", "photo",
                                             "ILLUSTRATION"),
    "GRAPHIC_DESIGN_VECTOR": PresetTemplate("vector art of {prompt}, flat colors, crisp lines", "photo",
                                            "ILLUSTRATION"),
    "PORTRAIT_CINEMATIC": PresetTemplate("cinematic portrait of {prompt}, dramatic light, film still", "cartoon",
                                         "CINEMATIC"),
    "PORTRAIT_FASHION": PresetTemplate("fashion portrait of {prompt}, editorial, studio light", _CLEAN_NEGATIVE,
                                       "FASHION"),
    "PRO_BW_PHOTOGRAPHY": PresetTemplate("professional black and white photo of {prompt}, fine grain", "color",
                                         "MONOCHROME"),
    "PRO_COLOR_PHOTOGRAPHY": PresetTemplate("professional color photo of {prompt}, natural light",
                                            "painting, cartoon", "PHOTOGRAPHY"),
    "PRO_FILM_PHOTOGRAPHY": PresetTemplate("professional film photo of {prompt}, 35mm film grain", "digital",
                                           "FILM"),
    "WATERCOLOR": PresetTemplate("watercolor painting of {prompt}, soft washes, paper texture", "photo",
                                 "ILLUSTRATION"),
    "CINEMATIC_CONCEPT": PresetTemplate("cinematic concept art of {prompt}, epic scale", "photo", "CINEMATIC"),
}

# styleUUID values from Leonardo's Phoenix/Flux guides, mapped onto the preset they name.
STYLE_UUID_PRESETS: dict[str, str] = {
    "111dc692-d470-4eec-b791-3475abac4c46": "DYNAMIC",
    "556c1ee5-ec38-42e8-955a-1e82dad0ffa1": "NONE",
    "a5632c7c-ddbb-4e2f-ba34-8456ab3ac436": "CINEMATIC",
    "6fedbf1f-4a17-45ec-84fb-92fe524a29ef": "CREATIVE",
    "8e2bc543-6ee2-45f9-bcd9-594b6ce84dcd": "PORTRAIT",
    "645e4195-f63d-4715-a3f2-3fb1e6eb8c70": "ILLUSTRATION",
    "debdf72a-91a4-467b-bf61-cc02bdeb69c6": "RENDER_3D",
    "5bdc3f2a-1be6-4d1c-8e77-992a30824a2c": "STOCK_PHOTO",
    "dee282d3-891f-4f73-ba02-7f8131e5541b": "VIBRANT",
    # v2's style_ids lists (shared/docs/leonardo-v2.md §4). Portrait has a second UUID there.
    "ab5a4220-7c42-41e5-a578-eddb9fed3d75": "PORTRAIT",
    "3cbb655a-7ca4-463f-b697-8a03ad67327c": "ACRYLIC",
    "594c4a08-a522-4e0e-b7ff-e4dac4b6b622": "FASHION",
    "09d2b5b5-d7c5-4c02-905d-9f84051640f4": "GAME_CONCEPT",
    "703d6fe5-7f1c-4a9e-8da0-5331f214d5cf": "GRAPHIC_DESIGN_2D",
    "7d7c2bc5-4b12-4ac3-81a9-630057e9e89f": "GRAPHIC_DESIGN_3D",
    "4edb03c9-8a26-4041-9d01-f85b5d4abd71": "PORTRAIT_CINEMATIC",
    "0d34f8e1-46d4-428f-8ddd-4b11811fa7c9": "PORTRAIT_FASHION",
    "22a9a7d2-2166-4d86-80ff-22e2643adbcf": "PRO_BW_PHOTOGRAPHY",
    "7c3f932b-a572-47cb-9b9b-f20211e63b5b": "PRO_COLOR_PHOTOGRAPHY",
    "581ba6d6-5aac-4492-bebe-54c424a0d46e": "PRO_FILM_PHOTOGRAPHY",
    "b504f83c-3326-4947-82e1-7fe9e839ec0f": "RAYTRACED",
    "1db308ce-c7ad-4d10-96fd-592fa6b75cc4": "WATERCOLOR",
    "9fdc5e8c-4d13-49b4-9ce6-5a74cbb19177": "BOKEH",
    "cc53f935-884c-40a0-b7eb-1f5c42821fb5": "CINEMATIC_CLOSEUP",
    "85da2dcc-c373-464c-9a7a-5624359be859": "FILM",
    "d574325d-1278-4fe2-974b-768525f253c3": "FOOD",
    "97c20e5c-1af6-4d42-b227-54d03d8f0727": "HDR",
    "335e6010-a75c-45d9-afc5-032c65e9180e": "LONG_EXPOSURE",
    "30c1d34f-e3a9-479a-b56f-c018bbc9c02a": "MACRO",
    "cadc8cd6-7838-4c99-b645-df76be8ba8d8": "MINIMALISTIC",
    "a2f7ea66-959b-4bbe-b508-6133238b76b6": "MONOCHROME",
    "621e1c9a-6319-4bee-a12d-ae40659162fa": "MOODY",
    "0d914779-c822-430a-b976-30075033f1c4": "NEUTRAL",
    "6105baa2-851b-446e-9db5-08a671a8c42f": "RETRO",
    "62736842-6e4b-4028-b79a-4f1a1606e893": "UNPROCESSED",
    "33abbb99-03b9-4dd7-9761-ee98650b2c88": "CINEMATIC_CONCEPT",
    "2e74ec31-f3a4-4825-b08b-2894f6d13941": "GRAPHIC_DESIGN_POP_ART",
    "1fbb6a68-9319-44d2-8d56-2957ca0ece6a": "GRAPHIC_DESIGN_VECTOR",
    "be8c6b58-739c-4d44-b9c1-b032ed308b61": "SKETCH_BW",
    "093accc3-7633-4ffd-82da-d34000dfc0d6": "SKETCH_COLOR",
}


def shown_style(name: str) -> str:
    """The style a generation shows: its own name, or for v2-only styles the nearest v1 one."""
    template = PRESET_TEMPLATES.get(name)
    return template.shown_as if template is not None and template.shown_as else name


def apply_preset(
    style: str | None, prompt: str, negative_prompt: str, *, negative_terms: bool = True
) -> tuple[str, str]:
    """The (prompt, negative prompt) the pipeline sees for a preset style.

    `negative_terms=False` leaves the style's negative terms out (the caller's own negative
    prompt always stays): for models where any negative prompt costs a second pass per step.
    """
    template = PRESET_TEMPLATES.get(style or "NONE", _UNTOUCHED)
    positive = template.positive.replace("{prompt}", prompt)
    negatives = [part for part in (negative_prompt, template.negative if negative_terms else "") if part]
    return positive, ", ".join(negatives)
