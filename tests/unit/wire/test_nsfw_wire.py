"""`nsfw` flags as the responses carry them: each image's own, and the webhook's generation-level one."""

from __future__ import annotations

import dataclasses

from sfumato.wire.generation_response import generation_to_wire
from sfumato.wire.webhook_envelope import generation_envelope
from tests.unit.wire.samples import MOMENT, generation, url_for, webhook_owner


def test_a_flagged_image_is_flagged_in_get_and_flags_the_webhooks_generation() -> None:
    plain = generation()
    flagged = dataclasses.replace(plain, images=tuple(dataclasses.replace(i, nsfw=True) for i in plain.images))
    for view, expected in ((plain, False), (flagged, True)):
        assert [image["nsfw"] for image in generation_to_wire(view, url_for)["generated_images"]] == [expected]
        envelope = generation_envelope(view, webhook_owner(), None, url_for, MOMENT)
        body = envelope["data"]["object"]
        assert body["nsfw"] is expected and [image["nsfw"] for image in body["images"]] == [expected]
