"""Every registered model family through the real API: an operator catalog registers each
family's tiny model under its own Leonardo-style id, and POST /generations (from the official
SDK) runs it to COMPLETE; knobs a family cannot honour, and unregistered families, answer 400."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from sfumato.engine.tiny_families import ensure_tiny_family_model
from tests.conftest import Server, tiny_request, wait_for_generation

# family -> (model id, sd_version the SDKs know, tiny model folder name)
MODELS = {
    "sd2": ("0f0a0000-0000-4000-8000-0000000000a2", "v2", "sd"),
    "sdxl": ("0f0a0000-0000-4000-8000-0000000000b1", "SDXL_1_0", "sdxl"),
    "sd3": ("0f0a0000-0000-4000-8000-0000000000c3", "v3", "sd3"),
    "flux": ("0f0a0000-0000-4000-8000-0000000000d1", "FLUX_DEV", "flux"),
}
# Installed (it points at the tiny FLUX folder) but of a family no adapter is registered for.
KONTEXT_ID = "0f0a0000-0000-4000-8000-0000000000e1"


def catalog_row(model_id: str, name: str, family: str, path: Path, sd_version: str) -> str:
    return (
        f'[[model]]\nid = "{model_id}"\nname = "{name}"\nfamily = "{family}"\npath = "{path}"\n'
        f'sd_version = "{sd_version}"\nnative_width = 64\nnative_height = 64\ndefault_steps = 10\n'
        "default_guidance = 3.5\n\n"
    )


@pytest.fixture(scope="module")
def family_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("families")
    rows = []
    for family, (model_id, sd_version, folder) in MODELS.items():
        path = ensure_tiny_family_model(family, root / "models" / folder)
        rows.append(catalog_row(model_id, f"Tiny {family}", family, path, sd_version))
    rows.append(catalog_row(KONTEXT_ID, "Tiny Kontext", "flux-kontext", root / "models" / "flux", "FLUX_DEV"))
    catalog = root / "catalog.toml"
    catalog.write_text("".join(rows))
    server = Server(root / "data", env={"SFUMATO_CATALOG_FILE": str(catalog)})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def carol(family_server: Server) -> dict[str, Any]:
    return family_server.create_key("carol")


def wire(**overrides: Any) -> dict[str, Any]:
    """The tiny request in the wire's camelCase names, for raw HTTP posts."""
    request = tiny_request(**overrides)
    request["modelId"] = request.pop("model_id")
    request["presetStyle"] = request.pop("preset_style")
    return request


@pytest.mark.parametrize("family", sorted(MODELS))
def test_each_family_generates_to_complete(family_server: Server, carol: dict[str, Any], family: str) -> None:
    model_id, sd_version, _ = MODELS[family]
    sdk = family_server.sdk(carol["apiKey"])
    request = tiny_request(model_id=model_id, width=64, height=48 if family in ("sd2", "sdxl") else 32)
    request.update(num_images=2, seed=77, negative_prompt="fog")
    created = sdk.image.create_generation(request=request)
    assert created.status_code == 200
    generation_id = str(created.object.sd_generation_job.generation_id)
    with family_server.http(carol["apiKey"]) as client:
        done = wait_for_generation(client, generation_id)
    assert done["status"] == "COMPLETE", done
    parsed = sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk
    assert parsed.model_id == model_id and parsed.sd_version == sd_version
    images = [Image.open(io.BytesIO(httpx.get(image["url"], timeout=30).content)) for image in done["generated_images"]]
    assert [image.size for image in images] == [(request["width"], request["height"])] * 2
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))


@pytest.mark.parametrize("family", ["sd3", "flux"])
def test_flow_matching_families_refuse_other_schedulers(
    family_server: Server, carol: dict[str, Any], family: str
) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=MODELS[family][0], scheduler="DDIM"))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.scheduler"
    assert "DDIM" in error["error"] and family in error["error"]


def test_flow_matching_families_refuse_sizes_off_the_patch_grid(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=MODELS["flux"][0], width=72))
    assert response.status_code == 400, response.text
    assert response.json()["path"] == "$.selectionSet.sdGenerationJob.args.arg1.width"


def test_an_unregistered_family_is_refused_naming_it(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=KONTEXT_ID))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.modelId"
    assert "'flux-kontext'" in error["error"] and "Tiny Kontext" in error["error"]
