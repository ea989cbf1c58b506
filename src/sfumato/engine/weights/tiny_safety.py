"""The built-in tiny NSFW classifier: a ViT image classifier (labels normal / nsfw) with fixed
random weights, saved as a transformers folder like Falconsai/nsfw_image_detection's.

It is used only where a `[[safety_checker]]` row names it (`builtin = "tiny-nsfw"`): its scores
are random-weight ones (near 0.5 for any picture), so it flags by its threshold, not by content;
tests use a threshold of 0 (every image flagged) or 1 (none), to check the flow deterministically.
"""

from __future__ import annotations

import torch

from sfumato.engine.weights.tiny_guidance import ModelFolder

_SEED = 20240604
SIZE = 32
LABELS = {0: "normal", 1: "nsfw"}


def build_tiny_safety_checker() -> ModelFolder:
    """A ViT of about 20 thousand weights seeing 32 px pictures; the caller's RNG state is kept."""
    from transformers import ViTConfig, ViTForImageClassification
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        image_size=SIZE,
        patch_size=8,
        id2label=LABELS,
        label2id={label: index for index, label in LABELS.items()},
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        model = ViTForImageClassification(config).eval()
    return ModelFolder(model, ViTImageProcessorPil(size={"height": SIZE, "width": SIZE}))
