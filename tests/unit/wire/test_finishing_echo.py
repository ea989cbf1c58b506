"""The finishing knobs as the plan resolved them, echoed by GET and by the webhook envelope."""

from __future__ import annotations

import json
from dataclasses import replace

from sfumato.catalog import TINY_MODEL_ID, ModelCatalog
from sfumato.domain.finishing import FinishingPlan
from sfumato.wire.generation_response import generation_to_wire
from sfumato.wire.webhook_envelope import generation_envelope, serialize
from tests.unit.wire import samples

FINISHING = FinishingPlan(
    hires_scale=2.0, hires_strength=0.55, hires_width=128, hires_height=128, ultra=True, high_resolution=True,
    photo_real=True, photo_real_version="v2", photo_real_strength=0.55, contrast_ratio=0.4, high_contrast=True,
)  # fmt: skip


def test_get_echoes_the_plans_finishing_values() -> None:
    plain = generation_to_wire(samples.generation(), samples.url_for)
    assert (plain["ultra"], plain["photoReal"], plain["promptMagic"]) == (False, False, False)
    assert plain["photoRealStrength"] is plain["promptMagicStrength"] is plain["promptMagicVersion"] is None
    shown = generation_to_wire(replace(samples.generation(), finishing=FINISHING), samples.url_for)
    assert (shown["ultra"], shown["photoReal"], shown["photoRealStrength"]) == (True, True, 0.55)
    magic = FinishingPlan(prompt_magic=True, prompt_magic_version="v3", prompt_magic_strength=0.3)
    shown = generation_to_wire(replace(samples.generation(), finishing=magic), samples.url_for)
    assert (shown["promptMagic"], shown["promptMagicVersion"], shown["promptMagicStrength"]) == (True, "v3", 0.3)


def test_the_webhook_envelope_echoes_them_too() -> None:
    model = ModelCatalog.load().get(TINY_MODEL_ID)
    view = replace(samples.generation(), finishing=FINISHING)
    envelope = generation_envelope(view, samples.webhook_owner(), model, samples.url_for, samples.MOMENT)
    shown = json.loads(serialize(envelope))["data"]["object"]
    assert (shown["photoReal"], shown["photoRealStrength"], shown["highResolution"]) == (True, 0.55, True)
    assert (shown["highContrast"], shown["contrastRatio"], shown["promptMagic"]) == (True, 0.4, False)
