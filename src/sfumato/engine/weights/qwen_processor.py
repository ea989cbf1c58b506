"""Qwen-Image-Edit-Plus's `processor` component, loaded without torchvision.

Edit Plus shows its reference pictures to its Qwen2.5-VL text encoder through transformers'
`Qwen2VLProcessor` (tokenizer + image processor + video processor). In transformers 5 that class
will not even be built without a video processor class, and video processors need torchvision,
which Sfumato does not depend on. Pictures need none: this loads the folder's tokenizer and its
image processor (the PIL backend, which needs no torchvision) and builds the processor with no
video processor, the one part a still picture never uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The subfolder of a Qwen-Image-Edit-Plus diffusers folder that holds the processor's files.
PROCESSOR_FOLDER = "processor"


def load_processor(folder: Path) -> Any:
    """The processor saved in `folder` (a diffusers pipeline folder's `processor/`), offline."""
    from transformers import Qwen2Tokenizer, Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    class StillsProcessor(Qwen2VLProcessor):
        """`Qwen2VLProcessor` that accepts no video processor (its class needs torchvision)."""

        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and argument is None:
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    tokenizer = Qwen2Tokenizer.from_pretrained(str(folder), local_files_only=True)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(str(folder), local_files_only=True)
    return StillsProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None)
