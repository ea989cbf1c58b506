"""Seamless tiling (`RenderRequest.tiling`): circular padding in the model's convolutions for one call.

Every `Conv2d` of the model (the UNet, the VAE, a ControlNet drawing with them; the text
encoders have none that pad) wraps around the picture's edges instead of padding with zeros, so
the denoiser and the decoder see the latent as a torus and the picture tiles in both directions.
The UNet families have no position embeddings, so with circular padding the whole denoiser is
shift-equivariant: rolling the initial latents rolls the picture (the engine test measures exactly
that). The modes are restored on exit, even on error, so the next request draws the base pixels.

Limits: the VAE encoder's `Downsample2D` pads by hand (`F.pad(x, (0, 1, 0, 1))`) before a
padding-free conv, so an init image's encoding is not wrapped (image-to-image output still tiles:
the denoiser and decoder are). Flow-matching transformers (SD3, FLUX) are refused in
`Family.check_tiling`: their position embeddings are not shift-equivariant.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from torch import nn

from sfumato.engine.features.controlnet import controlled_pipeline
from sfumato.engine.request import RenderRequest

if TYPE_CHECKING:
    from sfumato.engine.renderer import LoadedModel, Renderer


@contextmanager
def tiling_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): circular padding while the call runs."""
    if not request.tiling:
        yield {}
        return
    # The pipeline that draws (with ControlNets, its ControlNet pipeline: their convolutions wrap too).
    components = controlled_pipeline(model, request, renderer).components
    convs = [
        layer
        for component in {id(c): c for c in [*model.components.values(), *components.values()]}.values()
        if isinstance(component, nn.Module)
        for layer in component.modules()
        if isinstance(layer, nn.Conv2d)
    ]
    saved = [(conv, conv.padding_mode) for conv in convs]
    try:
        for conv in convs:
            conv.padding_mode = "circular"
        yield {}
    finally:
        for conv, mode in saved:
            conv.padding_mode = mode
