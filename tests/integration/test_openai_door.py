"""The OpenAI Images API door, driven by the official `openai` package against a real server:
`images.generate` and `images.edit` in both response formats, `models.list`, OpenAI's error
bodies through the client's own exception classes, the wait's timeout, and Idempotency-Key."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from openai import OpenAI
from PIL import Image

from tests.support.polling import poll_until
from tests.support.server import TINY_MODEL_ID, Server

SIZE = 64


def client_for(server: Server, api_key: str, **options: Any) -> OpenAI:
    return OpenAI(base_url=f"{server.base_url}/v1", api_key=api_key, timeout=180, **options)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def picture() -> Image.Image:
    """A striped test picture, easy to tell from the tiny model's noise."""
    data = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    data[:, :, 0] = np.arange(SIZE, dtype=np.uint8)[None, :] * 4
    data[::8, :, 1] = 255
    return Image.fromarray(data, "RGB")


def decoded(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def gallery(server: Server, key: dict[str, Any]) -> list[dict[str, Any]]:
    with server.http(key["apiKey"]) as client:
        listed = client.get(f"/generations/user/{key['userId']}", params={"limit": 100}).json()
    return list(listed["generations"])


def test_generate_answers_urls_that_serve_the_pictures(server: Server, alice: dict[str, Any]) -> None:
    client = client_for(server, alice["apiKey"])
    answer = client.images.generate(model="sfumato-tiny", prompt="a lighthouse", n=2, size="64x64")
    assert answer.created > 0 and answer.data is not None and len(answer.data) == 2
    for image in answer.data:
        assert image.url is not None and image.b64_json is None
        served = httpx.get(image.url, timeout=30)
        assert served.status_code == 200
        assert Image.open(io.BytesIO(served.content)).size == (SIZE, SIZE)


def test_generate_b64_json_by_catalog_id_and_an_openai_size(server: Server, alice: dict[str, Any]) -> None:
    client = client_for(server, alice["apiKey"])
    answer = client.images.generate(
        model=TINY_MODEL_ID, prompt="a lighthouse", size="256x256", response_format="b64_json", quality="low"
    )
    assert answer.data is not None and len(answer.data) == 1
    image = decoded(answer.data[0].b64_json)
    assert image.format == "PNG" and image.size == (256, 256)


def test_edit_without_a_mask_draws_from_the_image(server: Server, alice: dict[str, Any]) -> None:
    client = client_for(server, alice["apiKey"])
    answer = client.images.edit(
        image=("stripes.png", png(picture()), "image/png"), prompt="the same, at night", response_format="b64_json"
    )
    assert answer.data is not None and len(answer.data) == 1
    assert decoded(answer.data[0].b64_json).size == (SIZE, SIZE)  # no size: the image's own


def test_edit_with_a_mask_repaints_only_its_transparent_part(server: Server, alice: dict[str, Any]) -> None:
    source = picture()
    mask = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (16, 16, 48, 48))  # OpenAI's convention: transparent = edit here
    client = client_for(server, alice["apiKey"])
    answer = client.images.edit(
        image=("stripes.png", png(source), "image/png"),
        mask=("mask.png", png(mask), "image/png"),
        prompt="a red square",
        response_format="b64_json",
    )
    assert answer.data is not None
    out = np.asarray(decoded(answer.data[0].b64_json).convert("RGB"), dtype=float)
    original = np.asarray(source, dtype=float)
    keep = np.asarray(mask.getchannel("A")) == 255
    assert np.array_equal(out[keep], original[keep])  # the opaque part comes back unchanged
    assert np.abs(out[~keep] - original[~keep]).mean() > 5  # the transparent part is repainted


def test_models_lists_catalog_ids_and_slugs(server: Server, alice: dict[str, Any]) -> None:
    listed = client_for(server, alice["apiKey"]).models.list()
    ids = {model.id for model in listed.data}
    assert {TINY_MODEL_ID, "sfumato-tiny"} <= ids
    assert all(model.object == "model" and model.owned_by == "sfumato" for model in listed.data)


def test_a_bad_key_is_openais_authentication_error(server: Server) -> None:
    with pytest.raises(openai.AuthenticationError) as refused:
        client_for(server, "not-a-key").images.generate(prompt="a lighthouse", size="64x64")
    assert refused.value.status_code == 401
    assert isinstance(refused.value.body, dict) and refused.value.body["code"] == "invalid_api_key"
    assert refused.value.body["type"] == "invalid_request_error"


def test_an_unknown_model_is_openais_not_found(server: Server, alice: dict[str, Any]) -> None:
    with pytest.raises(openai.NotFoundError) as refused:
        client_for(server, alice["apiKey"]).images.generate(model="dall-e-9", prompt="a lighthouse")
    assert refused.value.body == {
        "message": "The model `dall-e-9` does not exist or you do not have access to it.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


@pytest.mark.parametrize(
    ("arguments", "param", "message"),
    [
        ({"n": 11}, "n", "Invalid 'n': integer above maximum value. Expected a value <= 10, but got 11 instead."),
        ({"extra_body": {"colour": "red"}}, "colour", "Unrecognized request argument supplied: colour"),
        ({"size": "big"}, "size", None),
        ({"output_format": "jpeg"}, "output_format", None),
        ({"size": "2048x2048"}, "size", None),  # a WxH the tiny model's rules refuse
    ],
)
def test_bad_arguments_are_openais_bad_request(
    server: Server, alice: dict[str, Any], arguments: dict[str, Any], param: str, message: str | None
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client_for(server, alice["apiKey"]).images.generate(prompt="a lighthouse", **arguments)
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "invalid_request_error" and body["param"] == param
    if message is not None:
        assert body["message"] == message
    assert param in body["message"] or param == "size"


def test_a_retry_with_the_same_idempotency_key_reads_the_same_generation(server: Server, alice: dict[str, Any]) -> None:
    client = client_for(server, alice["apiKey"])
    before = len(gallery(server, alice))
    headers = {"Idempotency-Key": "openai-door-retry-1"}
    first = client.images.generate(prompt="a lighthouse", size="64x64", extra_headers=headers)
    again = client.images.generate(prompt="a lighthouse", size="64x64", extra_headers=headers)
    assert first.data is not None and again.data is not None
    assert [image.url for image in first.data] == [image.url for image in again.data]
    assert len(gallery(server, alice)) == before + 1


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that waits almost not at all, with an operator's alias."""
    env = {"SFUMATO_OPENAI_WAIT_S": "0.01", "SFUMATO_OPENAI_MODEL_ALIASES": '{"dall-e-3": "sfumato-tiny"}'}
    with Server(Path(tmp_path_factory.mktemp("openai-impatient")), env=env).running() as running:
        yield running


def test_past_the_wait_a_clear_error_and_the_generation_still_completes(impatient: Server) -> None:
    key = impatient.create_key("carol")
    client = client_for(impatient, key["apiKey"])  # the client's own retries stay on: the answer stops them
    assert "dall-e-3" in {model.id for model in client.models.list().data}
    with pytest.raises(openai.InternalServerError) as timed_out:
        client.images.generate(model="dall-e-3", prompt="a lighthouse", size="64x64")  # the alias resolves
    assert timed_out.value.status_code == 504
    body = timed_out.value.body
    assert isinstance(body, dict) and body["type"] == "server_error" and body["code"] == "generation_timeout"
    generations = gallery(impatient, key)
    assert len(generations) == 1, "the client retried a timed-out create"
    generation_id = generations[0]["id"]
    assert generation_id in body["message"]

    def complete() -> bool:
        return bool(gallery(impatient, key)[0]["status"] == "COMPLETE")

    poll_until(complete, 180, 0.2, f"generation {generation_id} not complete after the timeout")


@pytest.mark.parametrize(
    ("mask", "code"),
    [
        (Image.new("RGBA", (32, 32), (0, 0, 0, 0)), "invalid_image_dimensions"),  # not the image's size
        (Image.new("RGB", (SIZE, SIZE)), "invalid_image_format"),  # no alpha channel to read
    ],
)
def test_a_mask_openai_would_refuse_is_a_bad_request_on_mask(
    server: Server, alice: dict[str, Any], mask: Image.Image, code: str
) -> None:
    client = client_for(server, alice["apiKey"])
    before = len(gallery(server, alice))
    with pytest.raises(openai.BadRequestError) as refused:
        client.images.edit(
            image=("stripes.png", png(picture()), "image/png"), mask=("mask.png", png(mask)), prompt="a door"
        )
    body = refused.value.body
    assert isinstance(body, dict) and (body["param"], body["code"]) == ("mask", code)
    assert len(gallery(server, alice)) == before  # nothing was created
