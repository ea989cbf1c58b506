"""Sfumato Tiny: a miniature Stable-Diffusion pipeline built offline with fixed random weights.

It lets the server, the tests and a fresh install exercise the whole real code path (a diffusers
folder on disk, `from_pretrained`, schedulers, batching, seeds) in a fraction of a second on a
CPU and without a model hub. Its pictures are coloured noise; its value is that they are reproducible:
every module is built right after `torch.manual_seed`, so two builds give byte-identical weights.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# Imported from their modules, not `diffusers`, whose lazy top level shows type checkers dummies.
from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

TINY_BUILD_VERSION = "1"
"""Bump whenever the recipe below changes, so existing builds on disk are replaced."""

MARKER_NAME = "sfumato_tiny.json"
# Seeding uses torch's global generator, so builds in one process must not interleave.
_SEED_LOCK = threading.Lock()
# Threads of one process wait for each other instead of racing to build the same folder.
_ENSURE_LOCK = threading.Lock()
_SEED = 20240601
_BOS = "<|startoftext|>"
_EOS = "<|endoftext|>"

# Frequent English letter pairs; each is merged both inside a word and at a word's end, so that
# ordinary prompts tokenize into fewer, more word-like pieces than raw bytes.
# fmt: off
_PAIRS = (
    "th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed",
    "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le", "ve", "co",
    "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce", "li", "ch", "ll", "be", "ma", "si",
    "om", "ur", "ca", "el", "ta", "la", "ns", "ge", "ly", "ei", "os", "no", "pe", "do", "su", "pa",
    "ec",
)
# fmt: on

# SD 1.5's scheduler config, with Euler as the class. The keys Euler does not take (clip_sample,
# set_alpha_to_one, skip_prk_steps) are kept by diffusers for the compatible schedulers we swap in.
_SCHEDULER_CONFIG: dict[str, object] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
}


def _write_tokenizer_files(folder: Path) -> None:
    """Write a small byte-level CLIP BPE vocabulary: every byte, its end-of-word form, some merges."""
    chars = list(bytes_to_unicode().values())
    vocab_list = chars + [c + "</w>" for c in chars]
    merges: list[str] = []
    for pair in _PAIRS:
        first, second = pair[0], pair[1]
        merges += [f"{first} {second}", f"{first} {second}</w>"]
        vocab_list += [pair, pair + "</w>"]
    vocab_list += [_BOS, _EOS]
    vocab = {token: index for index, token in enumerate(vocab_list)}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # The first line of a merges file is a version header that readers skip.
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def build_clip_tokenizer() -> CLIPTokenizer:
    """Build the tokenizer from generated vocab/merges files, the way a real model's are read."""
    with tempfile.TemporaryDirectory(prefix="sfumato-tok-") as tmp:
        _write_tokenizer_files(Path(tmp))
        return CLIPTokenizer.from_pretrained(tmp, model_max_length=77)


def tiny_vae(latent_channels: int, **config: Any) -> AutoencoderKL:
    """The usual 8x downscale (four levels) with narrow fine levels and no mid-block attention (its
    sequence is every latent pixel), which keeps decoding a big batch cheap. Shared by every tiny family."""
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=latent_channels,
        block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=64,
        mid_block_add_attention=False,
        **config,
    )


def build_tiny_pipeline() -> StableDiffusionPipeline:
    """Construct the pipeline in memory; each module is seeded so the weights never vary.

    The caller's global RNG state is restored afterwards, so building leaves no trace.
    """
    with _SEED_LOCK, torch.random.fork_rng(devices=[]):
        return _build_seeded()


def _build_seeded() -> StableDiffusionPipeline:
    tokenizer = build_clip_tokenizer()

    torch.manual_seed(_SEED)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )

    torch.manual_seed(_SEED + 1)
    # Attention only at the coarsest level (1/4 of the latent) and in the middle: self-attention
    # cost grows with the square of the pixel count, and this keeps 1024x768 renders affordable.
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=2,
        norm_num_groups=32,
    )

    torch.manual_seed(_SEED + 2)
    vae = tiny_vae(latent_channels=4)

    scheduler = EulerDiscreteScheduler.from_config(_SCHEDULER_CONFIG)
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        # diffusers annotates these two too narrowly; None is the documented way to omit them.
        safety_checker=None,  # type: ignore[arg-type]
        feature_extractor=None,  # type: ignore[arg-type]
        requires_safety_checker=False,
    )


def _is_complete(target: Path) -> bool:
    """A build is complete only once its marker, written last, names the current version."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("version") == TINY_BUILD_VERSION


def ensure_tiny_model(target: Path) -> Path:
    """Make sure `target` holds the current Sfumato Tiny build and return it.

    Builds into a private sibling folder and renames it into place, so readers never see half a
    model and two racing processes both end up with one complete copy.
    """
    return ensure_built(Path(target), build_tiny_pipeline, "Sfumato Tiny")


def ensure_built(target: Path, build: Callable[[], Any], name: str) -> Path:
    """Save `build()`'s pipeline at `target` once, atomically (see `ensure_tiny_model`)."""
    if _is_complete(target):
        return target
    with _ENSURE_LOCK:
        if not _is_complete(target):  # another thread may have finished it while we waited
            _build_into(target, build, name)
    return target


def _build_into(target: Path, build: Callable[[], Any], name: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        build().save_pretrained(staging, safe_serialization=True)
        marker = {"name": name, "version": TINY_BUILD_VERSION}
        (staging / MARKER_NAME).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists() and not _is_complete(target):
            # A stale or broken build: move it aside first, since rename cannot replace a folder.
            stale = target.parent / f".{target.name}.stale-{uuid.uuid4().hex[:8]}"
            try:
                target.rename(stale)
                shutil.rmtree(stale, ignore_errors=True)
            except FileNotFoundError:
                pass  # another process moved it already
        try:
            staging.rename(target)
        except OSError:
            # Lost the race: someone else renamed a build into place first.
            if not _is_complete(target):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
