"""Tiny FLUX.2 [dev] and FLUX.2 [klein] pipelines with fixed random weights, built offline.

The real architectures shrunk: `Flux2Transformer2DModel` (4 rope axes, 32 latent channels packed
2x2 into 128), `AutoencoderKLFlux2` (8x, with its batch-norm over packed latents), and the text
encoders the pipelines read hidden layers of: Mistral 3 (with its Pixtral vision tower; its
tokenizer without the `PixtralProcessor` around it, see `build_mistral_tokenizer`) for [dev],
Qwen 3 (a `Qwen2TokenizerFast`) for [klein]. The pipelines stack the text encoder's layers
10/20/30 ([dev]) or 9/18/27 ([klein]), so the tiny encoders keep that depth at a width of 16.
The tokenizers are byte-level BPE vocabularies of single bytes (no merges) with a small chat
template, made here with no download. The tiny [klein] is a base (not step-distilled) model, so
its real CFG runs in tests.
"""

from __future__ import annotations

import tempfile
from typing import Any

import torch
from diffusers.models.autoencoders.autoencoder_kl_flux2 import AutoencoderKLFlux2
from diffusers.models.transformers.transformer_flux2 import Flux2Transformer2DModel
from diffusers.pipelines.flux2.pipeline_flux2 import Flux2Pipeline
from diffusers.pipelines.flux2.pipeline_flux2_klein import Flux2KleinPipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    Mistral3Config,
    Mistral3ForConditionalGeneration,
    MistralConfig,
    PixtralVisionConfig,
    PreTrainedTokenizerFast,
    Qwen2TokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
)

_SEED = 20251125
_WIDTH = 16  # each text encoder's hidden size; the transformer reads three layers of it
_SPECIAL = ("<pad>", "<s>", "</s>", "<unk>", "[IMG]", "<|im_start|>", "<|im_end|>", "<|endoftext|>")
# Roles and contents as plain text; the real templates add tool and image markup the pipelines do not use.
_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{{ part['text'] }}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _seeded(offset: int) -> None:
    torch.manual_seed(_SEED + offset)


def _vocab() -> dict[str, int]:
    """Special tokens, then the 256 byte-level symbols: every text tokenises, one token per byte."""
    vocab = {token: index for index, token in enumerate(_SPECIAL)}
    for symbol in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab.setdefault(symbol, len(vocab))
    return vocab


def _backend() -> Tokenizer:
    backend = Tokenizer(models.BPE(_vocab(), [], unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(list(_SPECIAL))
    return backend


def build_mistral_tokenizer() -> PreTrainedTokenizerFast:
    """FLUX.2 [dev]'s Mistral tokenizer. The real folder saves a `PixtralProcessor`, which transformers
    builds only with torchvision (which Sfumato does not install); `Flux2.folder_components` loads
    its tokenizer alone, as here (the pipeline tokenises text only)."""
    return PreTrainedTokenizerFast(
        tokenizer_object=_backend(), bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        chat_template=_CHAT_TEMPLATE,
    )  # fmt: skip


def build_qwen_tokenizer() -> Qwen2TokenizerFast:
    """FLUX.2 [klein]'s `Qwen2TokenizerFast` from the generated vocabulary, saved and read back as a real one is."""
    tokenizer = Qwen2TokenizerFast(
        vocab=_vocab(), merges=[], unk_token="<unk>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
    )  # fmt: skip
    tokenizer.chat_template = _CHAT_TEMPLATE
    with tempfile.TemporaryDirectory(prefix="sfumato-qwen-") as tmp:
        tokenizer.save_pretrained(tmp)
        loaded: Qwen2TokenizerFast = Qwen2TokenizerFast.from_pretrained(tmp)
        return loaded


def _text_config(layers: int, vocab_size: int) -> dict[str, Any]:
    return {
        "vocab_size": vocab_size,
        "hidden_size": _WIDTH,
        "intermediate_size": 32,
        "num_hidden_layers": layers,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 8,
        "max_position_embeddings": 1024,
    }


def _mistral(vocab_size: int) -> Mistral3ForConditionalGeneration:
    text = MistralConfig(**_text_config(31, vocab_size))
    vision = PixtralVisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, head_dim=8,
        image_size=64, patch_size=8,
    )  # fmt: skip
    config = Mistral3Config(text_config=text, vision_config=vision, image_token_index=4, spatial_merge_size=2)
    return Mistral3ForConditionalGeneration(config)


def _qwen(vocab_size: int) -> Qwen3ForCausalLM:
    return Qwen3ForCausalLM(Qwen3Config(**_text_config(28, vocab_size)))


def _transformer(guidance_embeds: bool) -> Flux2Transformer2DModel:
    return Flux2Transformer2DModel(
        in_channels=128,  # 32 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=3 * _WIDTH,  # three stacked hidden layers of the text encoder
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=guidance_embeds,  # [dev]: distilled guidance is an input; [klein]: real CFG
    )


def _vae() -> AutoencoderKLFlux2:
    return AutoencoderKLFlux2(
        block_out_channels=(8, 8, 16, 16),
        layers_per_block=1,
        latent_channels=32,
        norm_num_groups=8,
        sample_size=64,
        mid_block_add_attention=False,
    )


def _scheduler() -> FlowMatchEulerDiscreteScheduler:
    # FLUX.2's scheduler: the pipelines compute the shift (`mu`) from the image's token count.
    return FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, time_shift_type="exponential")


def build_flux2() -> Flux2Pipeline:
    tokenizer = build_mistral_tokenizer()
    _seeded(1)
    text_encoder = _mistral(len(tokenizer))
    _seeded(2)
    transformer = _transformer(guidance_embeds=True)
    _seeded(3)
    vae = _vae()
    return Flux2Pipeline(
        scheduler=_scheduler(), vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


def build_flux2_klein() -> Flux2KleinPipeline:
    tokenizer = build_qwen_tokenizer()
    _seeded(11)
    text_encoder = _qwen(len(tokenizer))
    _seeded(12)
    transformer = _transformer(guidance_embeds=False)
    _seeded(13)
    vae = _vae()
    return Flux2KleinPipeline(
        scheduler=_scheduler(), vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer
    )


BUILDERS = {"flux2": build_flux2, "flux2-klein": build_flux2_klein}
"""Family -> builder of its tiny pipeline, merged into `tiny_families.BUILDERS`."""
