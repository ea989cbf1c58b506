"""Tiny SDXL, SD3, FLUX and FLUX Kontext pipelines with fixed random weights, built offline like
Sfumato Tiny, and a tiny SDXL-Lightning-style replacement UNet file.

Each is the real architecture of its family (the same pipeline class, text encoders, denoiser and
VAE a downloaded model has) shrunk to a few hundred thousand parameters, saved with
`save_pretrained` and loaded back with `from_pretrained` exactly as a real model is. Tests use them
to drive every registered family through the renderer and the API without a model hub.

The CLIP tokenizers are `tiny.build_clip_tokenizer`'s; the T5 tokenizer SD3 and FLUX need is a
small Unigram vocabulary generated here with the `tokenizers` library.

The tiny Kontext is the tiny FLUX's very components saved as a `FluxKontextPipeline`. The tiny
"Lightning" UNet is the tiny SDXL's UNet architecture with other random weights, saved as a bare
diffusers-format state dict, the way ByteDance ships `sdxl_lightning_8step_unet.safetensors`: it
is loaded into the tiny SDXL base in place of the base's own UNet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers.models.transformers.transformer_flux import FluxTransformer2DModel
from diffusers.models.transformers.transformer_sd3 import SD3Transformer2DModel
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.pipelines.flux.pipeline_flux import FluxPipeline
from diffusers.pipelines.flux.pipeline_flux_kontext import FluxKontextPipeline
from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import StableDiffusion3Pipeline
from diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl import StableDiffusionXLPipeline
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

from sfumato.engine.weights import tiny
from tests.support import tiny_flux2, tiny_qwen, tiny_zimage_ideogram

_SEED = 20240701
_HIDDEN = 32  # every CLIP text encoder's width, but SDXL's second
# SDXL's OpenCLIP encoder is wider than its CLIP-L one (1280 vs 768), and diffusers' `from_single_file`
# tells the two apart by width, so the tiny ones differ too.
_SDXL_HIDDEN_2 = 48
_T5_WIDTH = 64
_T5_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()/&"


def _seeded(offset: int) -> None:
    torch.manual_seed(_SEED + offset)


def _clip_config(tokenizer: CLIPTokenizer, width: int = _HIDDEN) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=width,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_t5_tokenizer() -> T5Tokenizer:
    """A Unigram vocabulary of single characters, with T5's pad/eos/unk ids (0, 1, 2)."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(c, -3.0) for c in _T5_CHARS] + [("\u2581" + c, -2.5) for c in _T5_CHARS]
    backend = Tokenizer(models.Unigram(pieces, unk_id=2, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return T5Tokenizer(tokenizer_object=backend, eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0)


def _t5(tokenizer: T5Tokenizer) -> T5EncoderModel:
    return T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=_T5_WIDTH,
            d_ff=37,
            d_kv=8,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
        )
    )


def _sdxl_unet() -> UNet2DConditionModel:
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        # SDXL's added conditioning: six size numbers of 8 dims each, plus the second encoder's pooled embedding.
        projection_class_embeddings_input_dim=6 * 8 + _SDXL_HIDDEN_2,
        cross_attention_dim=_HIDDEN + _SDXL_HIDDEN_2,  # both encoders' hidden states, concatenated
        norm_num_groups=32,
    )


def _build_sdxl() -> StableDiffusionXLPipeline:
    tokenizer, tokenizer_2 = tiny.build_clip_tokenizer(), tiny.build_clip_tokenizer()
    _seeded(0)
    text_encoder = CLIPTextModel(_clip_config(tokenizer))
    _seeded(1)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(tokenizer_2, _SDXL_HIDDEN_2))
    _seeded(2)
    unet = _sdxl_unet()
    _seeded(3)
    vae = tiny.tiny_vae(4, scaling_factor=0.13025)
    scheduler = EulerDiscreteScheduler.from_config(tiny._SCHEDULER_CONFIG)
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=unet,
        scheduler=scheduler,
        add_watermarker=False,
    )


def _build_sd3() -> StableDiffusion3Pipeline:
    tokenizer, tokenizer_2, tokenizer_3 = tiny.build_clip_tokenizer(), tiny.build_clip_tokenizer(), build_t5_tokenizer()
    _seeded(10)
    text_encoder = CLIPTextModelWithProjection(_clip_config(tokenizer))
    _seeded(11)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config(tokenizer_2))
    _seeded(12)
    text_encoder_3 = _t5(tokenizer_3)
    _seeded(13)
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=_T5_WIDTH,  # CLIP states are zero-padded up to T5's width
        pooled_projection_dim=2 * _HIDDEN,  # both CLIP pooled embeddings, concatenated
        pos_embed_max_size=96,  # latent patches per side: 1536 px / 8 / 2
    )
    _seeded(14)
    vae = tiny.tiny_vae(16, scaling_factor=1.5305, shift_factor=0.0609)
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3,
        tokenizer_3=tokenizer_3,
    )


def _build_flux() -> FluxPipeline:
    tokenizer, tokenizer_2 = tiny.build_clip_tokenizer(), build_t5_tokenizer()
    _seeded(20)
    text_encoder = CLIPTextModel(_clip_config(tokenizer))
    _seeded(21)
    text_encoder_2 = _t5(tokenizer_2)
    _seeded(22)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,  # 16 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_T5_WIDTH,
        pooled_projection_dim=_HIDDEN,
        guidance_embeds=True,  # like FLUX.1 [dev]: guidance_scale is an input, not CFG
        axes_dims_rope=(4, 4, 8),
    )
    _seeded(23)
    vae = tiny.tiny_vae(16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False, use_post_quant_conv=False)
    # FLUX.1 [dev]'s scheduler: the shift grows with the image's token count.
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
        max_image_seq_len=4096,
    )  # fmt: skip
    return FluxPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )


def _build_flux_kontext() -> FluxKontextPipeline:
    return FluxKontextPipeline(**_build_flux().components)


BUILDERS: dict[str, Callable[[], Any]] = {
    "sdxl": _build_sdxl,
    "sd3": _build_sd3,
    "flux": _build_flux,
    "flux-kontext": _build_flux_kontext,
    **tiny_zimage_ideogram.BUILDERS,
    **tiny_flux2.BUILDERS,
    **tiny_qwen.BUILDERS,
}
"""Family -> builder of its tiny pipeline (sd15/sd2 use Sfumato Tiny itself; sdxl-lightning is the
tiny SDXL plus `ensure_tiny_lightning_unet`)."""


def build_tiny_family_pipeline(family: str) -> Any:
    """Construct `family`'s tiny pipeline in memory; seeded, and leaving the global RNG alone."""
    with tiny._SEED_LOCK, torch.random.fork_rng(devices=[]):
        return BUILDERS[family]()


def ensure_tiny_family_model(family: str, target: Path) -> Path:
    """Make sure `target` holds `family`'s tiny pipeline (built once, atomically) and return it."""
    if family in ("sd15", "sd2"):
        return tiny.ensure_tiny_model(target)
    return tiny.ensure_built(Path(target), lambda: build_tiny_family_pipeline(family), f"Sfumato Tiny {family}")


def ensure_tiny_lightning_unet(target: Path) -> Path:
    """Write the tiny "Lightning" UNet file (a diffusers-format UNet state dict) at `target` once."""
    target = Path(target)
    if target.is_file():
        return target
    with tiny._SEED_LOCK, torch.random.fork_rng(devices=[]):
        _seeded(30)  # weights unlike the tiny SDXL base's own UNet (seed offset 2)
        state = _sdxl_unet().state_dict()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    save_file({key: tensor.contiguous() for key, tensor in state.items()}, str(staging))
    staging.replace(target)  # readers never see half a file
    return target
