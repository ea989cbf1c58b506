"""Tiny Z-Image and Ideogram 4 pipelines with fixed random weights, built offline.

Each is its family's real architecture shrunk: the same pipeline class, text encoder class,
transformer and VAE a downloaded model has, a few hundred thousand parameters each.

- Z-Image (`ZImagePipeline`): a Qwen3 text encoder (`Qwen3Model`, whose second-to-last hidden
  states are the caption features), the single-stream `ZImageTransformer2DModel`, FLUX's 16-channel
  VAE layout, and Z-Image-Turbo's flow-matching Euler scheduler (shift 3, no dynamic shifting).
- Ideogram 4 (`Ideogram4Pipeline`): a head-less Qwen3-VL (`Qwen3VLModel`) whose text model has the
  36 layers the pipeline taps (`QWEN3_VL_ACTIVATION_LAYERS`, up to layer 35), a conditional and a
  separate unconditional `Ideogram4Transformer2DModel`, and FLUX.2's batch-normed VAE
  (`AutoencoderKLFlux2`).

Both encoders read chat-formatted prompts, so the tokenizer (a character-level vocabulary made with
the `tokenizers` library) carries a small Qwen-style chat template that takes a message's content
as a string (Z-Image) or as a list of text parts (Ideogram 4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffusers.models.autoencoders.autoencoder_kl_flux2 import AutoencoderKLFlux2
from diffusers.models.transformers.transformer_ideogram4 import Ideogram4Transformer2DModel
from diffusers.models.transformers.transformer_z_image import ZImageTransformer2DModel
from diffusers.pipelines.ideogram4.pipeline_ideogram4 import QWEN3_VL_ACTIVATION_LAYERS, Ideogram4Pipeline
from diffusers.pipelines.z_image.pipeline_z_image import ZImagePipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model, Qwen3VLConfig, Qwen3VLModel

from sfumato.engine.weights import tiny

_SEED = 20241201
_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()/&\n"
_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>")
# A Qwen-style chat template; a message's content is a string or a list of {"type": "text"} parts.
_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_QWEN3_WIDTH = 32  # Z-Image's caption features (`cap_feat_dim`)
_QWEN3_VL_WIDTH = 16  # Ideogram 4 concatenates 13 tapped layers of it
_IDEOGRAM_AE_CHANNELS = 4  # patchified 2x2 into the transformer's channels


def _seeded(offset: int) -> None:
    import torch

    torch.manual_seed(_SEED + offset)


def build_qwen_tokenizer() -> PreTrainedTokenizerFast:
    """Single characters plus Qwen's special tokens, with a chat template."""
    vocab = {token: index for index, token in enumerate((*_SPECIAL, *dict.fromkeys(_CHARS)))}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    backend.add_special_tokens(list(_SPECIAL))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<|endoftext|>", eos_token="<|im_end|>"
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def build_z_image() -> ZImagePipeline:
    tokenizer: Any = build_qwen_tokenizer()  # the pipelines' annotation says AutoTokenizer, a factory
    _seeded(0)
    text_encoder = Qwen3Model(
        Qwen3Config(
            vocab_size=len(tokenizer),
            hidden_size=_QWEN3_WIDTH,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            head_dim=16,
            max_position_embeddings=1024,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    _seeded(1)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=1,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        cap_feat_dim=_QWEN3_WIDTH,
        axes_dims=[4, 6, 6],  # sums to the head width, 32 / 2
        axes_lens=[1024, 128, 128],
    )
    _seeded(2)
    vae = tiny.tiny_vae(16, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False, use_post_quant_conv=False)
    # Z-Image-Turbo's scheduler config.
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=False)
    return ZImagePipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


def _ideogram_transformer() -> Ideogram4Transformer2DModel:
    return Ideogram4Transformer2DModel(
        in_channels=_IDEOGRAM_AE_CHANNELS * 4,
        num_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        intermediate_size=37,
        adaln_dim=16,
        llm_features_dim=len(QWEN3_VL_ACTIVATION_LAYERS) * _QWEN3_VL_WIDTH,
        mrope_section=(4, 2, 2),  # sums to half the head width
    )


def build_ideogram4() -> Ideogram4Pipeline:
    tokenizer: Any = build_qwen_tokenizer()  # the pipelines' annotation says AutoTokenizer, a factory
    _seeded(10)
    text_encoder = Qwen3VLModel(
        Qwen3VLConfig(
            text_config={
                "vocab_size": len(tokenizer),
                "hidden_size": _QWEN3_VL_WIDTH,
                "intermediate_size": 24,
                "num_hidden_layers": max(QWEN3_VL_ACTIVATION_LAYERS) + 1,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
                "head_dim": 8,
                "max_position_embeddings": 4096,
                "rope_parameters": {"rope_type": "default", "rope_theta": 5_000_000.0, "mrope_section": [2, 1, 1]},
            },
            vision_config={
                "depth": 1,
                "hidden_size": 16,
                "intermediate_size": 24,
                "num_heads": 2,
                "out_hidden_size": _QWEN3_VL_WIDTH,
                "num_position_embeddings": 16,
                "deepstack_visual_indexes": [0],
            },
        )
    )
    _seeded(11)
    transformer = _ideogram_transformer()
    _seeded(12)
    unconditional_transformer = _ideogram_transformer()
    _seeded(13)
    vae = AutoencoderKLFlux2(
        latent_channels=_IDEOGRAM_AE_CHANNELS,
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64,
        mid_block_add_attention=False,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    return Ideogram4Pipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
        unconditional_transformer=unconditional_transformer,
    )


BUILDERS: dict[str, Callable[[], Any]] = {"z-image": build_z_image, "ideogram4": build_ideogram4}
"""Family -> builder, merged into `tiny_families.BUILDERS`."""
