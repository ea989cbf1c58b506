"""Write a diffusers SD 1.5 / SDXL pipeline as one *original-format* (LDM) `.safetensors` checkpoint.

Single-file checkpoints in the wild (Civitai, A1111 exports) use the original Stable Diffusion
repository's tensor names, and diffusers' `from_single_file` converts those names back. To test
that path offline the tests need such a file, so this module renames a tiny model's weights into
the LDM layout:

    unet                 -> model.diffusion_model.*   (input_blocks / middle_block / output_blocks)
    vae                  -> first_stage_model.*       (encoder.down.N.block.M, decoder.up.N ..., reversed)
    text_encoder         -> cond_stage_model.transformer.*            (SD 1.5: HF CLIP names as they are)
                            conditioner.embedders.0.transformer.*     (SDXL: CLIP-L, likewise)
    text_encoder_2       -> conditioner.embedders.1.model.*           (SDXL: OpenCLIP names, q/k/v fused)

The mapping is written from the LDM layout itself and proven by the round trip in the tests
(`from_single_file` must give back exactly the tensors written here), not taken from diffusers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

_RESNET = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "time_emb_proj": "emb_layers.1",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "conv_shortcut": "skip_connection",
}


def _rename(state: dict[str, torch.Tensor], old: str, new: str, inner: dict[str, str] | None = None) -> dict[str, Any]:
    """Tensors under `old.` moved under `new.`, with the first name after the prefix renamed by `inner`."""
    out = {}
    for key, tensor in state.items():
        if not key.startswith(old + "."):
            continue
        rest = key[len(old) + 1 :]
        head, _, tail = rest.partition(".")
        if inner and head in inner:
            rest = inner[head] + ("." + tail if tail else "")
        out[f"{new}.{rest}"] = tensor
    return out


def ldm_unet(unet: Any) -> dict[str, torch.Tensor]:
    """A UNet2DConditionModel's weights under the LDM `openaimodel` names."""
    state = unet.state_dict()
    config = unet.config
    layers = config.layers_per_block
    blocks = len(config.block_out_channels)
    out: dict[str, torch.Tensor] = {}
    out |= _rename(state, "conv_in", "input_blocks.0.0")
    out |= _rename(state, "time_embedding.linear_1", "time_embed.0")
    out |= _rename(state, "time_embedding.linear_2", "time_embed.2")
    out |= _rename(state, "add_embedding.linear_1", "label_emb.0.0")  # SDXL's size + pooled-text embedding
    out |= _rename(state, "add_embedding.linear_2", "label_emb.0.2")
    for i in range(blocks):
        for j in range(layers):
            index = 1 + i * (layers + 1) + j
            out |= _rename(state, f"down_blocks.{i}.resnets.{j}", f"input_blocks.{index}.0", _RESNET)
            out |= _rename(state, f"down_blocks.{i}.attentions.{j}", f"input_blocks.{index}.1")
        if i < blocks - 1:
            index = 1 + i * (layers + 1) + layers
            out |= _rename(state, f"down_blocks.{i}.downsamplers.0.conv", f"input_blocks.{index}.0.op")
    out |= _rename(state, "mid_block.resnets.0", "middle_block.0", _RESNET)
    out |= _rename(state, "mid_block.attentions.0", "middle_block.1")
    out |= _rename(state, "mid_block.resnets.1", "middle_block.2", _RESNET)
    for i in range(blocks):
        has_attention = any(key.startswith(f"up_blocks.{i}.attentions.") for key in state)
        for j in range(layers + 1):
            index = i * (layers + 1) + j
            out |= _rename(state, f"up_blocks.{i}.resnets.{j}", f"output_blocks.{index}.0", _RESNET)
            out |= _rename(state, f"up_blocks.{i}.attentions.{j}", f"output_blocks.{index}.1")
        if i < blocks - 1:
            index = i * (layers + 1) + layers
            after = 2 if has_attention else 1  # the upsampler follows the resnet (and attention) of the last layer
            out |= _rename(state, f"up_blocks.{i}.upsamplers.0.conv", f"output_blocks.{index}.{after}.conv")
    out |= _rename(state, "conv_norm_out", "out.0")
    out |= _rename(state, "conv_out", "out.2")
    _check_all_moved(state, out, "unet")
    return {f"model.diffusion_model.{key}": tensor for key, tensor in out.items()}


def ldm_vae(vae: Any) -> dict[str, torch.Tensor]:
    """An AutoencoderKL's weights under the LDM `first_stage_model` names (decoder levels reversed)."""
    state = vae.state_dict()
    blocks = len(vae.config.block_out_channels)
    resnet = {"conv_shortcut": "nin_shortcut"}
    out: dict[str, torch.Tensor] = {}
    for part in ("encoder", "decoder"):
        for name in ("conv_in", "conv_out"):
            out |= _rename(state, f"{part}.{name}", f"{part}.{name}")
        out |= _rename(state, f"{part}.conv_norm_out", f"{part}.norm_out")
        out |= _rename(state, f"{part}.mid_block.resnets.0", f"{part}.mid.block_1", resnet)
        out |= _rename(state, f"{part}.mid_block.resnets.1", f"{part}.mid.block_2", resnet)
        if any(key.startswith(f"{part}.mid_block.attentions.") for key in state):
            raise NotImplementedError("VAE mid-block attention is not mapped (the tiny VAEs have none)")
    for i in range(blocks):
        level = blocks - 1 - i  # diffusers counts decoder blocks from the bottleneck up; LDM from the image down
        for j in range(vae.config.layers_per_block + 1):  # the decoder has one more resnet per level
            out |= _rename(state, f"encoder.down_blocks.{i}.resnets.{j}", f"encoder.down.{i}.block.{j}", resnet)
            out |= _rename(state, f"decoder.up_blocks.{i}.resnets.{j}", f"decoder.up.{level}.block.{j}", resnet)
        out |= _rename(state, f"encoder.down_blocks.{i}.downsamplers.0.conv", f"encoder.down.{i}.downsample.conv")
        out |= _rename(state, f"decoder.up_blocks.{i}.upsamplers.0.conv", f"decoder.up.{level}.upsample.conv")
    out |= _rename(state, "quant_conv", "quant_conv")
    out |= _rename(state, "post_quant_conv", "post_quant_conv")
    _check_all_moved(state, out, "vae")
    return {f"first_stage_model.{key}": tensor for key, tensor in out.items()}


def open_clip(text_encoder: Any) -> dict[str, torch.Tensor]:
    """A CLIPTextModelWithProjection under OpenCLIP's names: fused q/k/v, a transposed projection."""
    state = hf_clip(text_encoder)
    prefix = "text_model."
    out: dict[str, torch.Tensor] = {
        "token_embedding.weight": state[prefix + "embeddings.token_embedding.weight"],
        "positional_embedding": state[prefix + "embeddings.position_embedding.weight"],
        "ln_final.weight": state[prefix + "final_layer_norm.weight"],
        "ln_final.bias": state[prefix + "final_layer_norm.bias"],
        "text_projection": state["text_projection.weight"].T.contiguous(),
    }
    for i in range(text_encoder.config.num_hidden_layers):
        layer, block = f"{prefix}encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[f"{block}attn.in_proj_{kind}"] = torch.cat([state[f"{layer}self_attn.{p}_proj.{kind}"] for p in "qkv"])
            for hf, oc in (("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                           ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")):  # fmt: skip
                out[f"{block}{oc}.{kind}"] = state[f"{layer}{hf}.{kind}"]
    return out


def hf_clip(text_encoder: Any) -> dict[str, torch.Tensor]:
    """A CLIP text encoder under the transformers 4 names original checkpoints carry (`text_model.*`;
    transformers 5.6 dropped that level from CLIPTextModel)."""
    state = text_encoder.state_dict()
    kept = ("text_model.", "text_projection.")
    return {(key if key.startswith(kept) else f"text_model.{key}"): tensor for key, tensor in state.items()}


def _check_all_moved(state: dict[str, torch.Tensor], out: dict[str, torch.Tensor], what: str) -> None:
    """Every source tensor must have been renamed once: a forgotten block would silently go missing."""
    moved = {id(t) for t in out.values()}
    left = [key for key, tensor in state.items() if id(tensor) not in moved]
    if left:
        raise AssertionError(f"{what}: tensors without an LDM name: {left[:5]}")


def write_ldm_checkpoint(pipe: Any, path: Path) -> Path:
    """Save an SD 1.5 (StableDiffusionPipeline) or SDXL pipeline as one LDM-format safetensors file."""
    tensors = ldm_unet(pipe.unet) | ldm_vae(pipe.vae)
    if getattr(pipe, "text_encoder_2", None) is not None:  # SDXL
        tensors |= {f"conditioner.embedders.0.transformer.{k}": v for k, v in hf_clip(pipe.text_encoder).items()}
        tensors |= {f"conditioner.embedders.1.model.{k}": v for k, v in open_clip(pipe.text_encoder_2).items()}
    else:
        tensors |= {f"cond_stage_model.transformer.{k}": v for k, v in hf_clip(pipe.text_encoder).items()}
    save_file({key: tensor.detach().contiguous() for key, tensor in tensors.items()}, str(path))
    return path
