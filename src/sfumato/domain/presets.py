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
}


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
