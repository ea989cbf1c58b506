"""The NSFW classifier of a `[[safety_checker]]` row: a picture in, whether to flag it out.

A transformers image classifier (ViT, as Falconsai/nsfw_image_detection) scores the picture; it
is flagged when the row's `label` scores at least its `threshold`. The picture itself is never
changed: Leonardo returns a flagged image as it is, with `nsfw: true`.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch
from PIL import Image

from sfumato.catalog import SafetyCheckerEntry
from sfumato.engine.errors import EngineConfigError


class SafetyChecker:
    def __init__(self, folder: Path, device: str, label: str, threshold: float) -> None:
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForImageClassification.from_pretrained(folder, local_files_only=True).to(device).eval()
        labels = {name.lower(): int(index) for index, name in self.model.config.id2label.items()}
        if label.lower() not in labels:
            raise EngineConfigError(
                f"the safety checker in {folder} has no label {label!r} (its labels: {', '.join(labels)}): "
                "set the row's `label`"
            )
        self.index = labels[label.lower()]
        self.threshold = threshold
        self.device = device
        self._lock = threading.Lock()  # one model, shared by the worker threads

    def score(self, image: Image.Image) -> float:
        """The probability the classifier gives the NSFW label."""
        inputs = self.processor(images=image.convert("RGB"), return_tensors="pt").to(self.device)
        with self._lock, torch.inference_mode():
            logits = self.model(**inputs).logits
        return float(logits.float().softmax(-1)[0, self.index])

    def __call__(self, image: Image.Image) -> bool:
        return self.score(image) >= self.threshold


def load_safety_checker(entry: SafetyCheckerEntry, models_dir: Path, device: str) -> SafetyChecker:
    """The row's model folder: the built-in's own, or the folder its weights file lies in."""
    location = entry.weights.location(models_dir)
    folder = location if entry.weights.builtin else location.parent
    return SafetyChecker(folder, device, entry.label, entry.threshold)
