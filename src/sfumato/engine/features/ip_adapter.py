"""IP-Adapter image references (`RenderRequest.references`): Style, Character and Content
Reference and image prompts, for one call.

Each reference is one adapter in diffusers' multi-IP-Adapter: the catalog's adapter for the
model's family and the reference's kind (`AuxiliaryModels.ip_adapter`), at the reference's scale,
conditioned on its picture's CLIP embedding (one per adapter). Kinds:

- `style`: where the family names InstantStyle's style block (`Family.ip_adapter_style_block`,
  SDXL's `up_blocks.0.attentions.1`), only that block takes the reference, so its look and not its
  layout carries over; elsewhere the plain scale;
- `content`, `image`: the plain scale (the whole picture's content and composition);
- `character`: the plain scale, with the catalog's Plus-Face adapter where one is installed.

Why load per call, not keep loaded: a UNet with an adapter in it refuses a call without image
embeddings (its `encoder_hid_proj` demands them), and the right set of adapters differs per
request. The adapters' tensors and image encoder are read from disk once per process
(`AuxiliaryModels`); a call only builds the attention processors and encodes the pictures
(measured on Sfumato Tiny, 64 px, 4 steps, one CPU thread: 0.04 s; a render 0.12 s without a
reference, 0.15 s with one, 0.18 s with two) and on exit puts the denoiser's own processors and
hidden projection back, so the next request without references draws exactly the base pixels.
The embeddings are computed here and passed as `ip_adapter_image_embeds`, so whichever pipeline
draws (the task's, its ControlNet one, a hi-res pass) needs no encoder of its own.

Families whose pipeline takes reference pictures itself (`Family.native_references`: FLUX Kontext's
context image, FLUX.2's `image=` list) load no adapter: their references go to the pipeline as the
family spells them (`Family.reference_kwargs`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfumato.engine.errors import EngineConfigError
from sfumato.engine.request import ImageReference, RenderRequest

if TYPE_CHECKING:
    import torch

    from sfumato.catalog import IpAdapterEntry
    from sfumato.engine.families import Family
    from sfumato.engine.renderer import LoadedModel, Renderer

# Key prefixes of the two layouts `load_ip_adapter` reads (h94's for UNets, XLabs' for FLUX), as
# diffusers itself splits a file: the image projection, and the attention processors' k/v.
_PROJECTION_PREFIXES = ("image_proj.", "ip_adapter_proj_model.")
_ATTENTION_PREFIXES = ("ip_adapter.", "double_blocks.")


@dataclass(frozen=True)
class IpAdapter:
    """One catalog adapter read once: its tensors in diffusers' split form and its image encoder
    (a `CLIPVisionModelWithProjection`, on the engine's device)."""

    entry_id: str
    tensors: dict[str, dict[str, torch.Tensor]]
    encoder: Any
    encoder_folder: Path


def load_ip_adapter(entry: IpAdapterEntry, models_dir: Path, device: str) -> IpAdapter:
    """Read `entry`'s adapter file and image encoder (offline: `models pull` fetched them)."""
    from safetensors import safe_open
    from transformers import CLIPVisionModelWithProjection

    weights = entry.weights_file(models_dir)
    encoder_folder = entry.encoder_folder(models_dir)
    if not entry.is_installed(models_dir):
        raise EngineConfigError(
            f"IP-Adapter {entry.name}: {weights} or its image encoder {encoder_folder} is missing; "
            f"run `sfumato models pull {entry.id}`"
        )
    tensors: dict[str, dict[str, torch.Tensor]] = {"image_proj": {}, "ip_adapter": {}}
    with safe_open(str(weights), framework="pt", device="cpu") as file:
        for key in file.keys():  # noqa: SIM118 (a safetensors handle is not a mapping)
            name = key.split(".", 1)[1]
            if key.startswith(_PROJECTION_PREFIXES):
                tensors["image_proj"][name] = file.get_tensor(key)
            elif key.startswith(_ATTENTION_PREFIXES):
                tensors["ip_adapter"][_attention_name(name)] = file.get_tensor(key)
    encoder: Any = CLIPVisionModelWithProjection.from_pretrained(encoder_folder, local_files_only=True)
    return IpAdapter(entry.id, tensors, encoder.to(device).eval(), encoder_folder)


def _attention_name(name: str) -> str:
    """An attention key as diffusers names it: h94's `1.to_k_ip.weight` as is, XLabs'
    `0.processor.ip_adapter_double_stream_k_proj.weight` as `0.to_k_ip.weight`."""
    name = name.replace("processor.", "").replace("ip_adapter_double_stream_", "")
    return name.replace("k_proj", "to_k_ip").replace("v_proj", "to_v_ip")


def reference_scale(reference: ImageReference, family: Family, denoiser: Any) -> float | dict[str, Any]:
    """diffusers' `set_ip_adapter_scale` entry for one reference (see the module doc)."""
    block = family.ip_adapter_style_block
    if reference.kind != "style" or block is None:
        return reference.scale
    side, index, layer = block
    blocks = denoiser.up_blocks if side == "up" else denoiser.down_blocks
    layers = len(blocks[index].attentions)
    return {side: {f"block_{index}": [reference.scale if i == layer else 0.0 for i in range(layers)]}}


@contextmanager
def references_applied(model: LoadedModel, request: RenderRequest, renderer: Renderer) -> Iterator[dict[str, Any]]:
    """A request feature (`renderer.REQUEST_FEATURES`): the references' adapters, for this call.

    The adapters go into the shared denoiser; the image embeddings are computed here, by a private
    copy of the base pipeline holding the encoder, and passed as `ip_adapter_image_embeds`, so
    whichever pipeline draws (the task's, its ControlNet one, the hi-res pass) needs no encoder.
    """
    family = model.family
    if family.native_references:  # the pipeline's own picture inputs (with FLUX.2's edit picture), no adapter
        yield family.reference_kwargs(request)
        return
    if not request.references or family.ip_adapter_family is None:
        yield {}
        return
    if renderer.auxiliary is None:
        raise EngineConfigError("this renderer has no auxiliary models, so no IP-Adapter for image references")
    adapters = [renderer.auxiliary.ip_adapter(family.ip_adapter_family, ref.kind) for ref in request.references]
    if len({adapter.encoder_folder for adapter in adapters}) > 1:
        raise EngineConfigError(
            "the catalog's IP-Adapters for these references use different image encoders "
            f"({', '.join(sorted({a.entry_id for a in adapters}))}); a call takes one encoder"
        )
    helper: Any = copy.copy(model.base)
    denoiser = helper.unet if hasattr(helper, "unet") else helper.transformer
    processors = dict(denoiser.attn_processors)
    hidden = getattr(denoiser, "encoder_hid_proj", None)
    hidden_type = getattr(denoiser.config, "encoder_hid_dim_type", None)
    try:
        helper.register_modules(image_encoder=adapters[0].encoder.to(dtype=helper.dtype), feature_extractor=None)
        count = len(adapters)
        copies = [{part: dict(tensors) for part, tensors in adapter.tensors.items()} for adapter in adapters]
        try:
            helper.load_ip_adapter(copies, subfolder=[""] * count, weight_name=[""] * count)
        except (RuntimeError, ValueError, KeyError) as error:  # tensors of another architecture's shapes
            raise EngineConfigError(
                f"IP-Adapter {', '.join(sorted({a.entry_id for a in adapters}))} does not fit this model's denoiser "
                f"(it was made for another {family.label} architecture: the built-in one fits only Sfumato Tiny): "
                f"install a real one (`sfumato models pull <id>`, docs/models.md lists them) [{error}]"
            ) from error
        helper.set_ip_adapter_scale([reference_scale(ref, family, denoiser) for ref in request.references])
        yield _embeddings(helper, family, request)
    finally:
        denoiser.set_attn_processor(processors)
        denoiser.encoder_hid_proj = hidden
        denoiser.config.encoder_hid_dim_type = hidden_type


def _embeddings(helper: Any, family: Family, request: RenderRequest) -> dict[str, Any]:
    """The pipeline kwargs carrying the references' embeddings, per prompt (the call repeats them
    per image): with the negative half for classic CFG, as the pipelines themselves build them, or
    FLUX's separate negative embeddings (of a black picture, diffusers' default)."""
    import numpy as np
    import torch

    images = [ref.image.convert("RGB") for ref in request.references]
    device = helper._execution_device
    with torch.inference_mode():
        if family.ip_adapter_family == "flux":
            black = [np.zeros((request.width, request.height, 3), dtype=np.uint8)] * len(images)
            return {
                "ip_adapter_image_embeds": helper.prepare_ip_adapter_image_embeds(images, None, device, 1),
                "negative_ip_adapter_image_embeds": helper.prepare_ip_adapter_image_embeds(black, None, device, 1),
            }
        cfg = request.guidance_scale > 1
        return {"ip_adapter_image_embeds": helper.prepare_ip_adapter_image_embeds(images, None, device, 1, cfg)}
