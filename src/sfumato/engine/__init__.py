"""The engine's door: the only names code outside `engine/` imports (a test holds that line).

Importing it loads neither torch nor diffusers; `Engine.render` does, on first use.
"""

from sfumato.engine.engine import Engine
from sfumato.engine.errors import EngineConfigError
from sfumato.engine.features.outpaint import OutpaintCanvas, outpaint_canvas
from sfumato.engine.request import (
    SCHEDULERS,
    ControlGuide,
    FamilyTraits,
    HiresPass,
    ImageReference,
    InitImage,
    LoraWeight,
    Mask,
    RenderRequest,
    StepCallback,
    Task,
)
from sfumato.engine.weights.detect import Detected, DetectionError, detect, family_of_folder
from sfumato.engine.weights.detect_aux import detect_background_remover, detect_upscaler
from sfumato.engine.weights.detect_lora import LoraFile, detect_lora
from sfumato.engine.weights.fetcher import DownloadFailed, HubAccess
from sfumato.engine.weights.hub import NothingToPull, hub_endpoint, pull_auxiliary, pull_model

__all__ = [
    "SCHEDULERS",
    "ControlGuide",
    "Detected",
    "DetectionError",
    "DownloadFailed",
    "Engine",
    "EngineConfigError",
    "FamilyTraits",
    "HiresPass",
    "HubAccess",
    "ImageReference",
    "InitImage",
    "LoraFile",
    "LoraWeight",
    "Mask",
    "NothingToPull",
    "OutpaintCanvas",
    "RenderRequest",
    "StepCallback",
    "Task",
    "detect",
    "detect_background_remover",
    "detect_lora",
    "detect_upscaler",
    "family_of_folder",
    "hub_endpoint",
    "outpaint_canvas",
    "pull_auxiliary",
    "pull_model",
]
