"""Every registered model family through the real API: an operator catalog registers each
family's tiny model under its own Leonardo-style id (SDXL-Lightning as the tiny SDXL base plus a
UNet file, as the shipped Lightning rows are), and POST /generations (from the official SDK) runs
it to COMPLETE; knobs a family cannot honour, and unregistered families, answer 400."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from sfumato.engine.families import FAMILIES
from tests.conftest import Server, tiny_request, to_wire, wait_for_generation
from tests.support.tiny_families import ensure_tiny_family_model, ensure_tiny_lightning_unet

# family -> (model id, sd_version the SDKs know, tiny model folder name)
MODELS = {
    "sd15": ("0f0a0000-0000-4000-8000-0000000000a1", "v1_5", "sd"),
    "sd2": ("0f0a0000-0000-4000-8000-0000000000a2", "v2", "sd"),
    "sdxl": ("0f0a0000-0000-4000-8000-0000000000b1", "SDXL_1_0", "sdxl"),
    "sdxl-lightning": ("0f0a0000-0000-4000-8000-0000000000b2", "SDXL_LIGHTNING", "sdxl"),
    "sd3": ("0f0a0000-0000-4000-8000-0000000000c3", "v3", "sd3"),
    "flux": ("0f0a0000-0000-4000-8000-0000000000d1", "FLUX_DEV", "flux"),
    "flux-kontext": ("0f0a0000-0000-4000-8000-0000000000e1", "FLUX_DEV", "flux-kontext"),
}
# The tiny Lightning UNet, where a row's unet_repo/unet_file put it under the data dir's models.
LIGHTNING_UNET = ("sfumato-test/tiny-lightning", "tiny_lightning_4step_unet.safetensors")
LIGHTNING_STEPS = 4
# Installed (it points at the tiny FLUX folder) but of a family no adapter is registered for.
UNKNOWN_FAMILY_ID = "0f0a0000-0000-4000-8000-0000000000f1"


def catalog_row(model_id: str, name: str, family: str, path: Path, sd_version: str) -> str:
    lightning = family == "sdxl-lightning"
    steps, guidance = (LIGHTNING_STEPS, 1.0) if lightning else (10, 3.5)
    unet = f'unet_repo = "{LIGHTNING_UNET[0]}"\nunet_file = "{LIGHTNING_UNET[1]}"\n' if lightning else ""
    return (
        f'[[model]]\nid = "{model_id}"\nname = "{name}"\nfamily = "{family}"\npath = "{path}"\n{unet}'
        f'sd_version = "{sd_version}"\nnative_width = 64\nnative_height = 64\ndefault_steps = {steps}\n'
        f"default_guidance = {guidance}\n\n"
    )


@pytest.fixture(scope="module")
def family_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("families")
    rows = []
    for family, (model_id, sd_version, folder) in MODELS.items():
        path = ensure_tiny_family_model("sdxl" if family == "sdxl-lightning" else family, root / "models" / folder)
        rows.append(catalog_row(model_id, f"Tiny {family}", family, path, sd_version))
    rows.append(catalog_row(UNKNOWN_FAMILY_ID, "Tiny Cascade", "sd-cascade", root / "models" / "flux", "FLUX_DEV"))
    catalog = root / "catalog.toml"
    catalog.write_text("".join(rows))
    repo, file = LIGHTNING_UNET
    ensure_tiny_lightning_unet(root / "data" / "models" / repo.replace("/", "--") / file)
    with Server(root / "data", env={"SFUMATO_CATALOG_FILE": str(catalog)}).running() as server:
        yield server


@pytest.fixture(scope="module")
def carol(family_server: Server) -> dict[str, Any]:
    return family_server.create_key("carol")


def wire(**overrides: Any) -> dict[str, Any]:
    """The tiny request in the wire's camelCase names, for raw HTTP posts."""
    return to_wire(tiny_request(**overrides))


def test_every_registered_family_is_served_here() -> None:
    assert sorted(MODELS) == sorted(FAMILIES)


@pytest.mark.parametrize("family", sorted(MODELS))
def test_each_family_generates_to_complete(family_server: Server, carol: dict[str, Any], family: str) -> None:
    model_id, sd_version, _ = MODELS[family]
    sdk = family_server.sdk(carol["apiKey"])
    request = tiny_request(model_id=model_id, width=64, height=32 if family in ("sd3", "flux", "flux-kontext") else 48)
    request.update(num_images=2, seed=77, negative_prompt="fog")
    if family == "sdxl-lightning":
        del request["num_inference_steps"]  # it runs the row's distilled step count
    created = sdk.image.create_generation(request=request)
    assert created.status_code == 200
    generation_id = str(created.object.sd_generation_job.generation_id)
    with family_server.http(carol["apiKey"]) as client:
        done = wait_for_generation(client, generation_id)
    assert done["status"] == "COMPLETE", done
    parsed = sdk.image.get_generation_by_id(id=generation_id).object.generations_by_pk
    assert parsed.model_id == model_id and parsed.sd_version == sd_version
    if family == "sdxl-lightning":
        assert done["inferenceSteps"] == LIGHTNING_STEPS
    images = [Image.open(io.BytesIO(httpx.get(image["url"], timeout=30).content)) for image in done["generated_images"]]
    assert [image.size for image in images] == [(request["width"], request["height"])] * 2
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))


@pytest.mark.parametrize("family", ["sd3", "flux", "flux-kontext", "sdxl-lightning"])
def test_flow_matching_and_lightning_families_refuse_other_schedulers(
    family_server: Server, carol: dict[str, Any], family: str
) -> None:
    with family_server.http(carol["apiKey"]) as client:
        request = wire(model_id=MODELS[family][0], scheduler="DDIM")
        request.pop("num_inference_steps")
        response = client.post("/generations", json=request)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.scheduler"
    assert "DDIM" in error["error"] and family.replace("sdxl-lightning", "SDXL-Lightning") in error["error"]


def test_lightning_honours_an_explicit_step_count(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=MODELS["sdxl-lightning"][0], num_inference_steps=10))
        assert response.status_code == 200, response.text
        done = wait_for_generation(client, response.json()["sdGenerationJob"]["generationId"])
    assert done["status"] == "COMPLETE" and done["inferenceSteps"] == 10, done


def test_flow_matching_families_refuse_sizes_off_the_patch_grid(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=MODELS["flux"][0], width=72))
    assert response.status_code == 400, response.text
    assert response.json()["path"] == "$.selectionSet.sdGenerationJob.args.arg1.width"


def test_an_unregistered_family_is_refused_naming_it(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=UNKNOWN_FAMILY_ID))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.modelId"
    assert "'sd-cascade'" in error["error"] and "Tiny Cascade" in error["error"]
