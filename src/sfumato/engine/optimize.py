"""How a freshly loaded pipeline is made ready for its machine: placement, memory plan, speed-ups.

`EngineOptions` is what the engine is told (from Settings); `prepare_pipeline` applies it to a
pipeline right after `from_pretrained`/`from_single_file`, before the cache sizes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from sfumato.engine.device import pick_device

if TYPE_CHECKING:
    from diffusers.pipelines.pipeline_utils import DiffusionPipeline

    from sfumato.config import Settings


@dataclass(frozen=True)
class EngineOptions:
    """The engine's knobs, resolved: a concrete device, and the settings' choices as given."""

    device: str = "cpu"
    dtype: torch.dtype | None = None  # None: the checkpoint's own (float32 for the tiny models)
    memory_plan: str = "none"
    vae_tiling: str = "auto"
    torch_compile: bool = False
    fast_mode: str = "off"

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            device=pick_device(settings.device),
            memory_plan=settings.memory_plan,
            vae_tiling=settings.vae_tiling,
            torch_compile=settings.torch_compile,
            fast_mode=settings.fast_mode,
        )


def prepare_pipeline(pipe: DiffusionPipeline, options: EngineOptions) -> DiffusionPipeline:
    """Put a loaded pipeline where it runs; returns the pipeline to cache."""
    pipe.to(options.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe
