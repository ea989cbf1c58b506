"""LoRA elements (`RenderRequest.loras`): peft adapters loaded once per model, weighted per request, never fused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:
    from sfumato.engine.renderer import LoadedModel, Renderer


@contextmanager
def loras_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): nothing to adjust yet."""
    yield {}
