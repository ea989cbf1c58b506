"""Leonardo's closed enums (the spec's), as Literal types the request models check."""

from __future__ import annotations

from typing import Literal, get_args

PresetStyle = Literal[
    "ANIME", "BOKEH", "CINEMATIC", "CINEMATIC_CLOSEUP", "CREATIVE", "DYNAMIC", "ENVIRONMENT",
    "FASHION", "FILM", "FOOD", "GENERAL", "HDR", "ILLUSTRATION", "LEONARDO", "LONG_EXPOSURE",
    "MACRO", "MINIMALISTIC", "MONOCHROME", "MOODY", "NONE", "NEUTRAL", "PHOTOGRAPHY", "PORTRAIT",
    "RAYTRACED", "RENDER_3D", "RETRO", "SKETCH_BW", "SKETCH_COLOR", "STOCK_PHOTO", "VIBRANT",
    "UNPROCESSED",
]  # fmt: skip
Scheduler = Literal["KLMS", "EULER_ANCESTRAL_DISCRETE", "EULER_DISCRETE", "DDIM", "DPM_SOLVER", "PNDM", "LEONARDO"]
# Python SDK 6.x lacks KINO_2_0: we accept it in requests but never emit it.
SdVersion = Literal[
    "v1_5", "v2", "v3", "SDXL_0_8", "SDXL_0_9", "SDXL_1_0", "SDXL_LIGHTNING", "PHOENIX", "FLUX",
    "FLUX_DEV", "KINO_2_0",
]  # fmt: skip
Transparency = Literal["disabled", "foreground_only"]
CanvasRequestType = Literal["INPAINT", "OUTPAINT", "SKETCH2IMG", "IMG2IMG"]
ControlnetType = Literal["POSE", "CANNY", "DEPTH"]
InitImageType = Literal["GENERATED", "UPLOADED"]
StrengthType = Literal["Low", "Mid", "High", "Ultra", "Max"]
UpscalerStyle = Literal["GENERAL", "CINEMATIC", "2D ART & ILLUSTRATION", "CG ART & GAME ASSETS"]
UltraUpscaleStyle = Literal["ARTISTIC", "REALISTIC"]
PricingService = Literal[
    "IMAGE_GENERATION", "FANTASY_AVATAR_GENERATION", "MOTION_SVD_GENERATION", "MOTION_VIDEO_GENERATION",
    "VEO3_MOTION_VIDEO_GENERATION", "LCM_GENERATION", "MODEL_TRAINING", "TEXTURE_GENERATION",
    "UNIVERSAL_UPSCALER", "UNIVERSAL_UPSCALER_ULTRA",
]  # fmt: skip

# Hasura names each Literal by its GraphQL enum type in error messages.
ENUM_TYPE_NAMES: dict[tuple[str, ...], str] = {
    get_args(PresetStyle): "sd_generation_style",
    get_args(Scheduler): "sd_generation_schedulers",
    get_args(SdVersion): "sd_versions",
    get_args(Transparency): "TransparencyType",
    get_args(CanvasRequestType): "canvasRequestType",
    get_args(ControlnetType): "controlnet_type",
    get_args(InitImageType): "InitImageType",
    get_args(StrengthType): "StrengthType",
    get_args(UpscalerStyle): "universal_upscaler_style",
    get_args(UltraUpscaleStyle): "universal_upscaler_ultra_style",
    get_args(PricingService): "pricingCalculatorServices",
}
