"""Every v2 slug the catalog maps, asked for as a v2 client would (its defaults): the built-in model
runs; a model whose weights are absent (downloads off) is a 400 on `$.model` naming the open model
and the pull command. An API-only app: nothing is rendered, torch is not loaded."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sfumato.api.app import create_app
from sfumato.config import Settings
from tests.support.fake_llm import FakeLlm, marked
from tests.support.images import image_bytes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    settings = Settings(data_dir=tmp_path_factory.mktemp("v2"), worker_threads=0, allow_downloads=False)
    app = create_app(settings)
    key = app.state.container.keys.create("alice", 10).api_key
    return TestClient(app, headers={"Authorization": f"Bearer {key}"})


def test_every_mapped_slug_runs_or_names_the_open_model_and_the_pull_command(client: TestClient) -> None:
    catalog = client.app.state.container.catalog  # type: ignore[attr-defined]
    slugs = catalog.slug_names()
    assert "sfumato-tiny" in slugs and "flux-pro-2.0" in slugs
    for slug in slugs:
        answer = client.post("/api/rest/v2/generations", json={"model": slug, "parameters": {"prompt": "a cat"}})
        model = catalog.for_slug(slug)
        if model.weights.builtin is not None:
            assert answer.status_code == 200, (slug, answer.text)
            assert answer.json()["generate"]["generationId"]
            continue
        body = answer.json()
        assert answer.status_code == 400 and body["path"] == "$.model", (slug, body)
        assert model.weights.source in body["error"] and "sfumato models pull" in body["error"], (slug, body)


def test_a_v2_generation_reads_through_v1_with_the_serving_rows_id(client: TestClient, tmp_path: Path) -> None:
    body = {"model": "sfumato-tiny", "parameters": {"prompt": "a cat", "quantity": 3, "seed": 5, "width": 64,
                                                    "height": 64}}  # fmt: skip
    generation_id = client.post("/api/rest/v2/generations", json=body).json()["generate"]["generationId"]
    shown = client.get(f"/api/rest/v1/generations/{generation_id}").json()["generations_by_pk"]
    tiny = client.app.state.container.catalog.for_slug("sfumato-tiny")  # type: ignore[attr-defined]
    assert (shown["status"], shown["modelId"], shown["seed"], shown["imageWidth"]) == ("PENDING", tiny.id, 5, 64)
    assert shown["presetStyle"] == "NONE"  # no style_ids on a slug whose guide names no default style


def test_prompt_enhance_uses_the_llm_when_one_is_configured(client: TestClient, tmp_path: Path) -> None:
    def created(test_client: TestClient, enhance: str | None) -> tuple[int, dict[str, Any]]:
        parameters = {"prompt": "a cat", "width": 64, "height": 64, "prompt_enhance": enhance}
        answer = test_client.post("/api/rest/v2/generations", json={"model": "sfumato-tiny", "parameters": parameters})
        if answer.status_code != 200:
            return answer.status_code, answer.json()
        generation_id = answer.json()["generate"]["generationId"]
        return 200, test_client.get(f"/api/rest/v1/generations/{generation_id}").json()["generations_by_pk"]

    status, refused = created(client, "ON")  # no LLM configured
    assert status == 400 and refused["path"] == "$.parameters.prompt_enhance"
    assert created(client, "AUTO")[1]["prompt"] == "a cat" and created(client, None)[1]["prompt"] == "a cat"

    with FakeLlm().running() as llm:
        settings = Settings(data_dir=tmp_path, worker_threads=0, llm_base_url=llm.base_url, llm_model="m")
        app = create_app(settings)
        key = app.state.container.keys.create("alice", 10).api_key
        with_llm = TestClient(app, headers={"Authorization": f"Bearer {key}"})
        assert created(with_llm, "AUTO")[1]["prompt"] == marked("a cat")  # AUTO: rewritten, as enhancePrompt
        assert created(with_llm, "ON")[1]["prompt"] == marked("a cat")
        assert created(with_llm, "OFF")[1]["prompt"] == "a cat"
        assert len(llm.received) == 2


def test_inline_images_of_a_refused_request_are_not_kept(client: TestClient) -> None:
    encoded = base64.b64encode(image_bytes("PNG")).decode()
    guides = [{"image": {"type": "BASE64", "data": encoded}}, {"image": {"type": "GENERATED", "id": "not-hers"}}]
    body = {"model": "sfumato-tiny", "parameters": {"prompt": "a cat", "guidances": {"image_reference": guides}}}
    answer = client.post("/api/rest/v2/generations", json=body)
    assert answer.status_code == 400 and answer.json()["path"] == "$.parameters.guidances.image_reference[1].image.id"
    images_dir = client.app.state.container.settings.images_dir  # type: ignore[attr-defined]
    assert list(images_dir.glob("users/*/initImages/*")) == []  # the first, stored, went with the refusal
    kept = client.post("/api/rest/v2/generations", json={**body, "parameters": {**body["parameters"],
                       "guidances": {"image_reference": guides[:1]}}})  # fmt: skip
    assert kept.status_code == 200 and len(list(images_dir.glob("users/*/initImages/*"))) == 1
