"""The engine's door: the only names code outside `engine/` imports (a test holds that line).

Importing it loads neither torch nor diffusers; `Engine.render` does, on first use.
"""

from sfumato.engine.engine import Engine
from sfumato.engine.errors import EngineConfigError
from sfumato.engine.request import SCHEDULERS, RenderRequest, StepCallback
from sfumato.engine.runtime.library_noise import quiet_ml_libraries
from sfumato.engine.weights.detect import Detected, DetectionError, detect, family_of_folder
from sfumato.engine.weights.fetcher import DownloadFailed, HubAccess
from sfumato.engine.weights.hub import NothingToPull, hub_endpoint, pull_model

__all__ = [
    "SCHEDULERS",
    "Detected",
    "DetectionError",
    "DownloadFailed",
    "Engine",
    "EngineConfigError",
    "HubAccess",
    "NothingToPull",
    "RenderRequest",
    "StepCallback",
    "detect",
    "family_of_folder",
    "hub_endpoint",
    "pull_model",
    "quiet_ml_libraries",
]
