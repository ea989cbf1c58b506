"""The official SDKs' defaults are accepted in every combination a user commonly makes.

Both SDKs put their defaults on the wire in every request (behaviour doc §10: `alchemy: true`,
1024x768, 4 images, `presetStyle: "DYNAMIC"`, Lightning XL, the prompt "A majestic cat in the
snow"), so a user who flips one field still sends all the others. Each row below sets only the
fields a user flips, plus `modelId` (Lightning XL is not installed in tests), and lets the SDK fill
the rest, through the Python SDK and the npm SDK (tests/npm/defaults_table.mjs) alike.

Rows marked `complete` render to COMPLETE on the session server (a 1024x768x4 render of the tiny
model takes about 8 s on one CPU core); the others go to an API-only server (no worker), which
accepts the request and answers GET with the resolved values while the generation stays PENDING.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from PIL import Image

from sfumato.catalog import ModelCatalog
from sfumato.config import Settings
from sfumato.domain.pricing import PriceModel
from tests.conftest import TINY_MODEL_ID, Server, to_wire, wait_for_generation
from tests.support.npm import run_script

# What both SDKs send for a create that sets nothing (modelId aside), in wire names.
SDK_WIRE_DEFAULTS: dict[str, Any] = {
    "alchemy": True,
    "height": 768,
    "width": 1024,
    "num_images": 4,
    "presetStyle": "DYNAMIC",
    "prompt": "A majestic cat in the snow",
}
COMPLETE_TIMEOUT_S = 300  # a 1024x768x4 render queued behind other tests on a shared, slow machine

_TINY = ModelCatalog.load().get(TINY_MODEL_ID)
assert _TINY is not None and _TINY.quality.alchemy_steps is not None
TINY_STEPS = {True: _TINY.quality.alchemy_steps, False: _TINY.quality.default_steps}
_SETTINGS = Settings()
PRICES = PriceModel(
    image_base=_SETTINGS.prices.image_base,
    per_megapixel=_SETTINGS.prices.per_megapixel,
    alchemy_multiplier=_SETTINGS.prices.alchemy_multiplier,
)


@dataclass(frozen=True)
class Row:
    """The fields a user sets (Python SDK names) and what the server must resolve them to."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    width: int = 1024
    height: int = 768
    images: int = 4
    preset: str = "DYNAMIC"
    alchemy: bool = True
    complete: bool = False

    def python_request(self) -> dict[str, Any]:
        return {"model_id": TINY_MODEL_ID, **self.fields}

    def npm_request(self) -> dict[str, Any]:
        """The same fields in the npm SDK's names: camelCase throughout (numImages, photoReal, ...)."""
        return {_camel(name): value for name, value in self.python_request().items()}


def _camel(name: str) -> str:
    first, *others = name.split("_")
    return first + "".join(part.title() for part in others)


OFF = {"alchemy": False}
ROWS: list[Row] = [
    Row("sdk defaults"),
    Row("alchemy off", OFF, alchemy=False, complete=True),
    Row("alchemy on", {"alchemy": True}),
    Row("alchemy null", {"alchemy": None}),  # null is treated like absent: the spec's default, on
    Row("photoReal off", {"photo_real": False}),
    Row("photoReal off, alchemy off", {"photo_real": False, **OFF}, alchemy=False),
    Row("alchemy off, 1152x1024", {**OFF, "width": 1152, "height": 1024}, width=1152, height=1024, alchemy=False),
    Row("alchemy off, 1536x512", {**OFF, "width": 1536, "height": 512}, width=1536, height=512, alchemy=False),
    Row("alchemy off, 1536x1536", {**OFF, "width": 1536, "height": 1536}, width=1536, height=1536, alchemy=False),
    Row("alchemy on, 1024x1024", {"width": 1024, "height": 1024}, height=1024),
    Row("1 image", {"num_images": 1}, images=1),
    *(Row(f"num_images {n} at 768x768", {"num_images": n, "width": 768, "height": 768}, width=768, height=768, images=n)
      for n in range(1, 9)),
    Row("8 images, alchemy off", {**OFF, "num_images": 8, "width": 512, "height": 768}, width=512, images=8,
        alchemy=False),
    Row("alchemy off, CINEMATIC", {**OFF, "preset_style": "CINEMATIC"}, preset="CINEMATIC", alchemy=False),
    Row("alchemy off, ANIME", {**OFF, "preset_style": "ANIME"}, preset="ANIME", alchemy=False),
    Row("alchemy off, NONE", {**OFF, "preset_style": "NONE"}, preset="NONE", alchemy=False),
    Row("alchemy off, preset null", {**OFF, "preset_style": None}, preset="LEONARDO", alchemy=False),
    Row("alchemy on, LEONARDO", {"preset_style": "LEONARDO"}, preset="LEONARDO"),
]  # fmt: skip
assert len({row.name for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without a worker: creates are accepted and resolved, nothing renders."""
    with Server(tmp_path_factory.mktemp("sdk-defaults"), env={"SFUMATO_WORKER_THREADS": "0"}).running() as instance:
        yield instance


def server_for(row: Row, request: pytest.FixtureRequest) -> Server:
    server: Server = request.getfixturevalue("server" if row.complete else "api_only")
    return server


@pytest.fixture(scope="module")
def python_keys() -> dict[str, str]:
    """One key per server for the Python SDK rows (made on first use), by API URL."""
    return {}


def _value(enum_or_value: Any) -> Any:
    """The Python SDK parses enums into str Enums; compare their wire value."""
    return getattr(enum_or_value, "value", enum_or_value)


def through_python_sdk(server: Server, api_key: str, row: Row) -> dict[str, Any]:
    """Run one row with the Python SDK; the same summary defaults_table.mjs prints for the npm SDK."""
    sent: list[bytes] = []

    def record(outgoing: httpx.Request) -> None:
        if outgoing.method == "POST":
            sent.append(outgoing.read())

    with httpx.Client(event_hooks={"request": [record]}) as client:
        sdk = server.sdk(api_key, client=client)
        created = sdk.image.create_generation(request=row.python_request())  # type: ignore[arg-type]
        assert created.status_code == 200
        job = created.object.sd_generation_job  # type: ignore[union-attr]
        generation_id = str(job.generation_id)  # type: ignore[union-attr]
        if row.complete:
            with server.http(api_key) as http:
                wait_for_generation(http, generation_id, timeout_s=COMPLETE_TIMEOUT_S)
        generation = sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk  # type: ignore[union-attr]
    assert generation is not None and len(sent) == 1
    return {
        "name": row.name,
        "wire": json.loads(sent[0]),
        "generationId": generation_id,
        "apiCreditCost": job.api_credit_cost,  # type: ignore[union-attr]
        "status": _value(generation.status),
        "imageWidth": generation.image_width,
        "imageHeight": generation.image_height,
        "presetStyle": _value(generation.preset_style),
        "inferenceSteps": generation.inference_steps,
        "imageUrls": [image.url for image in generation.generated_images or []],
    }


def assert_resolved(row: Row, seen: dict[str, Any]) -> None:
    """One home for the expectations, whichever SDK sent the row."""
    assert "error" not in seen, f"the SDK's request for row {row.name!r} failed:\n{seen['error']}"
    assert seen["wire"] == {**SDK_WIRE_DEFAULTS, "modelId": TINY_MODEL_ID, **to_wire(row.fields)}
    assert isinstance(seen["generationId"], str) and seen["generationId"]
    assert seen["apiCreditCost"] == PRICES.credits(
        width=row.width, height=row.height, num_images=row.images, alchemy=row.alchemy
    )
    assert (seen["imageWidth"], seen["imageHeight"]) == (row.width, row.height)
    assert seen["presetStyle"] == row.preset
    assert seen["inferenceSteps"] == TINY_STEPS[row.alchemy]
    if not row.complete:
        assert seen["status"] == "PENDING" and seen["imageUrls"] == []
        return
    assert seen["status"] == "COMPLETE", seen
    assert len(seen["imageUrls"]) == row.images
    picture = httpx.get(seen["imageUrls"][0], timeout=30)
    assert picture.status_code == 200
    assert Image.open(io.BytesIO(picture.content)).size == (row.width, row.height)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_python_sdk_defaults_are_accepted(
    row: Row, request: pytest.FixtureRequest, python_keys: dict[str, str]
) -> None:
    server = server_for(row, request)
    if server.api_url not in python_keys:
        python_keys[server.api_url] = server.create_key("python-defaults")["apiKey"]
    assert_resolved(row, through_python_sdk(server, python_keys[server.api_url], row))


@pytest.fixture(scope="module")
def npm_results(request: pytest.FixtureRequest) -> dict[str, dict[str, Any]]:
    """Every row through the npm SDK: one script run per server (rendering and API-only)."""
    results: dict[str, dict[str, Any]] = {}
    for complete in (False, True):
        rows = [row for row in ROWS if row.complete is complete]
        server = server_for(rows[0], request)
        key = server.create_key(f"npm-defaults-{complete}")
        env = {
            "SFUMATO_API_URL": server.api_url,
            "SFUMATO_API_KEY": key["apiKey"],
            "SFUMATO_ROWS": json.dumps(
                [{"name": row.name, "fields": row.npm_request(), "complete": row.complete} for row in rows]
            ),
            "SFUMATO_POLL_TIMEOUT_MS": str(COMPLETE_TIMEOUT_S * 1000),
        }
        ran = run_script("defaults_table.mjs", env, timeout_s=COMPLETE_TIMEOUT_S + 60)
        assert ran.returncode == 0, f"defaults_table.mjs failed ({ran.returncode}):\n{ran.stderr}\n{ran.stdout}"
        results.update({seen["name"]: seen for seen in json.loads(ran.stdout.strip().splitlines()[-1])})
    return results


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_npm_sdk_defaults_are_accepted(row: Row, npm_results: dict[str, dict[str, Any]]) -> None:
    assert_resolved(row, npm_results[row.name])
