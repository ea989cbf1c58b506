"""Tiny Qwen-Image and Qwen-Image-Edit-Plus pipelines with fixed random weights, built offline.

Each is the real architecture shrunk: a `QwenImageTransformer2DModel`, the 3D-causal
`AutoencoderKLQwenImage` (8x, as the real one: three downsamples), and a Qwen2.5-VL text encoder of
two 16-wide layers whose vision tower is shrunk too (Edit Plus shows it the reference pictures).
The tokenizer is Qwen2's byte-level BPE over the 256 byte symbols (no merges) plus the chat and
vision special tokens the pipelines' prompt templates use; Edit Plus's processor is that tokenizer
and a PIL Qwen2-VL image processor capped at a few patches per picture.

The Edit Plus folder is laid out as the published one (`processor/` holding the tokenizer and
image-processor files, `model_index.json` naming `Qwen2VLProcessor`); Sfumato loads that component
itself (`sfumato.engine.weights.qwen_processor`), since transformers builds `Qwen2VLProcessor`
only with torchvision. Both share every weight, so they differ only in pipeline class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from diffusers.models.autoencoders.autoencoder_kl_qwenimage import AutoencoderKLQwenImage
from diffusers.models.transformers.transformer_qwenimage import QwenImageTransformer2DModel
from diffusers.pipelines.qwenimage.pipeline_qwenimage import QwenImagePipeline
from diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus import QwenImageEditPlusPipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import FlowMatchEulerDiscreteScheduler
from tokenizers.pre_tokenizers import ByteLevel
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from sfumato.engine.weights.qwen_processor import PROCESSOR_FOLDER

_SEED = 20251201
_TEXT_WIDTH = 16
_Z_DIM = 4
_SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
# Qwen-Image's own scheduler config: exponential time shift growing with the image's token count.
_SCHEDULER = {
    "base_image_seq_len": 256, "base_shift": 1.0986, "max_image_seq_len": 8192, "max_shift": 1.0986,
    "shift": 1.0, "shift_terminal": 0.02, "time_shift_type": "exponential", "use_dynamic_shifting": True,
}  # fmt: skip
# The transformer's query/key RMS norms, and the gain they get: random weights attend almost evenly,
# so a prompt's few tokens (or a reference's) among the template's would hardly move a pixel.
_QK_NORMS = frozenset({"norm_q", "norm_k", "norm_added_q", "norm_added_k"})
_QK_GAIN = 8.0
# Gains on the VAE's last convolutions, so an init image or a reference survives the random VAE's
# round trip (about 10 levels apart for opposite pictures, where it would be about 1).
_ENCODER_GAIN = 10.0
_DECODER_GAIN = 4.0
# Pixels the image processor shrinks each reference to (a 4x4 grid of 14-px patches: 4 encoder tokens).
_VISION_PIXELS = 56 * 56


def build_qwen_tokenizer() -> Qwen2Tokenizer:
    """Qwen2's byte-level BPE with one token per byte (no merges) and the pipelines' special tokens."""
    vocab = {"<|endoftext|>": 0}
    for symbol in sorted(ByteLevel.alphabet()):
        vocab[symbol] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[])
    tokenizer.add_special_tokens({"additional_special_tokens": _SPECIAL_TOKENS})
    return tokenizer


def _token_id(tokenizer: Qwen2Tokenizer, token: str) -> int:
    found = tokenizer.convert_tokens_to_ids(token)
    assert isinstance(found, int)
    return found


def _text_encoder(tokenizer: Qwen2Tokenizer) -> Qwen2_5_VLForConditionalGeneration:
    start, end, image, video = (_token_id(tokenizer, token) for token in _SPECIAL_TOKENS[2:])
    config = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": _TEXT_WIDTH, "intermediate_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 2, "vocab_size": len(tokenizer), "rope_theta": 1_000_000.0,
            "rope_scaling": {"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
            "bos_token_id": 0, "eos_token_id": 0,
        },
        vision_config={
            "depth": 2, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": _TEXT_WIDTH,
            "fullatt_block_indexes": [1],
        },
        vision_start_token_id=start, vision_end_token_id=end, image_token_id=image, video_token_id=video,
    )  # fmt: skip
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def _components() -> dict[str, Any]:
    tokenizer = build_qwen_tokenizer()
    torch.manual_seed(_SEED)
    text_encoder = _text_encoder(tokenizer)
    torch.manual_seed(_SEED + 1)
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=_Z_DIM * 4,  # latents packed 2x2
        out_channels=_Z_DIM,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=1,  # attention over each reference's 4096 latent tokens is most of an edit's time
        joint_attention_dim=_TEXT_WIDTH,
        axes_dims_rope=(4, 6, 6),
    )
    with torch.no_grad():  # sharper attention (its q/k norms' gains), so prompt and references show in 8-bit pixels
        for name, weight in transformer.named_parameters():
            if name.rsplit(".", 2)[-2] in _QK_NORMS:
                weight.mul_(_QK_GAIN)
    torch.manual_seed(_SEED + 2)
    vae = AutoencoderKLQwenImage(
        base_dim=8,
        z_dim=_Z_DIM,
        dim_mult=[1, 1, 1, 1],  # one width: without residual blocks nothing would change it
        # No residual block in the encoder: Edit Plus encodes each reference at about 1024x1024,
        # where the encoder's full-size convolutions are most of a tiny render's time.
        num_res_blocks=0,
        temperal_downsample=[False, True, True],  # three downsamples: 8x, as Qwen-Image's VAE
        latents_mean=[0.0] * _Z_DIM,
        latents_std=[1.0] * _Z_DIM,
    )
    with torch.no_grad():  # louder output convolutions: random ones would wash a picture out on its way through
        vae.encoder.conv_out.weight.mul_(_ENCODER_GAIN)
        vae.decoder.conv_out.weight.mul_(_DECODER_GAIN)
    scheduler = FlowMatchEulerDiscreteScheduler(**_SCHEDULER)
    return {"transformer": transformer, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler}  # fmt: skip


def build_qwen_image() -> QwenImagePipeline:
    return QwenImagePipeline(**_components())


class _EditPlusFolder:
    """Saves the tiny Edit Plus as the published folder is laid out (`build_into` calls `save_pretrained`)."""

    def __init__(self) -> None:
        self.components = _components()

    def save_pretrained(self, folder: str | Path, **kwargs: Any) -> None:
        folder = Path(folder)
        processor = folder / PROCESSOR_FOLDER
        self.components["tokenizer"].save_pretrained(processor)
        Qwen2VLImageProcessorPil(min_pixels=_VISION_PIXELS, max_pixels=_VISION_PIXELS).save_pretrained(processor)
        # Saved without the processor component (its files are written above), whose own saving
        # would look for the video processor it lacks.
        pipe = QwenImageEditPlusPipeline(**self.components, processor=None)  # type: ignore[arg-type]
        pipe.save_pretrained(folder, **kwargs)
        index_path = folder / "model_index.json"
        index = json.loads(index_path.read_text(encoding="utf-8"))
        index["processor"] = ["transformers", "Qwen2VLProcessor"]  # as published (not our stills subclass)
        index_path.write_text(json.dumps(index, indent=2), encoding="utf-8")


def build_qwen_image_edit_plus() -> _EditPlusFolder:
    return _EditPlusFolder()


BUILDERS = {"qwen-image": build_qwen_image, "qwen-image-edit-plus": build_qwen_image_edit_plus}
"""Family -> builder, merged into `tiny_families.BUILDERS`."""
