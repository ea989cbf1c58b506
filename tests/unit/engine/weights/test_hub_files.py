"""Which repo files a pull fetches: each weight once, in plain form or the row's variant."""

from __future__ import annotations

from sfumato.engine.weights.hub import pipeline_files

SDXL_LIKE_REPO = [
    "model_index.json",
    "README.md",
    "scheduler/scheduler_config.json",
    "tokenizer/vocab.json",
    "tokenizer/merges.txt",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/model.fp16.safetensors",
    "text_encoder/model.bin",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "unet/diffusion_pytorch_model.fp16.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",  # no fp16 copy: the plain file serves a variant load too
    "vae_1_0/diffusion_pytorch_model.fp16.safetensors",
    "sd_xl_base_1.0.safetensors",  # the single-file copy at the root
    "unet/diffusion_flax_model.msgpack",
    "text_encoder/model.onnx",
]


def test_pull_fetches_each_weight_once_in_plain_form_by_default() -> None:
    chosen = pipeline_files(SDXL_LIKE_REPO)
    assert "model_index.json" not in chosen  # the marker is fetched last, on its own
    assert {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"} <= set(chosen)
    assert not [name for name in chosen if ".fp16." in name or name.endswith((".bin", ".msgpack", ".onnx"))]
    assert "vae_1_0/diffusion_pytorch_model.fp16.safetensors" not in chosen  # only a variant there
    assert {"tokenizer/vocab.json", "tokenizer/merges.txt", "unet/config.json"} <= set(chosen)


def test_pull_of_a_variant_takes_its_files_and_plain_ones_where_it_has_none() -> None:
    chosen = set(pipeline_files(SDXL_LIKE_REPO, variant="fp16"))
    assert {"unet/diffusion_pytorch_model.fp16.safetensors", "text_encoder/model.fp16.safetensors"} <= chosen
    assert "unet/diffusion_pytorch_model.safetensors" not in chosen
    assert "vae/diffusion_pytorch_model.safetensors" in chosen
    assert "vae_1_0/diffusion_pytorch_model.fp16.safetensors" in chosen


def test_pull_fetches_a_tokenizers_chat_template() -> None:
    """Z-Image's and Ideogram 4's pipelines format each prompt with it (transformers 5 saves it apart)."""
    repo = ["model_index.json", "tokenizer/tokenizer.json", "tokenizer/tokenizer_config.json",
            "tokenizer/chat_template.jinja"]  # fmt: skip
    assert "tokenizer/chat_template.jinja" in pipeline_files(repo)
