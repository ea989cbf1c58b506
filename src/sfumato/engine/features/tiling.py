"""Seamless tiling (`RenderRequest.tiling`): circular padding in the denoiser's and VAE's convolutions for one call."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:
    from sfumato.engine.renderer import LoadedModel, Renderer


@contextmanager
def tiling_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): nothing to adjust yet."""
    yield {}
