"""Every registered model family through the real API: an operator catalog registers each
family's tiny model under its own Leonardo-style id (SDXL-Lightning as the tiny SDXL base plus a
UNet file, as the shipped Lightning rows are), and POST /generations (from the official SDK) runs
it to COMPLETE; knobs a family cannot honour, and unregistered families, answer 400."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from sfumato.catalog import local_catalog_path
from sfumato.engine.families import FAMILIES
from tests.conftest import Server, run_cli, tiny_request, to_wire, wait_for_generation
from tests.integration.test_image_to_image import uploaded_init_image
from tests.support.images import picture
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
    "z-image": ("0f0a0000-0000-4000-8000-0000000000e5", "v3", "z-image"),
    "ideogram4": ("0f0a0000-0000-4000-8000-0000000000e6", "v3", "ideogram4"),
    "flux2": ("0f0a0000-0000-4000-8000-0000000000e7", "FLUX_DEV", "flux2"),
    "flux2-klein": ("0f0a0000-0000-4000-8000-0000000000e8", "FLUX_DEV", "flux2-klein"),
    "qwen-image": ("0f0a0000-0000-4000-8000-0000000000e9", "v3", "qwen-image"),
    "qwen-image-edit-plus": ("0f0a0000-0000-4000-8000-0000000000ea", "v3", "qwen-image-edit-plus"),
}
# The tiny Lightning UNet, where a row's unet_repo/unet_file put it under the data dir's models.
LIGHTNING_UNET = ("sfumato-test/tiny-lightning", "tiny_lightning_4step_unet.safetensors")
LIGHTNING_STEPS = 4
# v2 slugs the test catalog re-points at tiny rows, so v2 requests run those families.
V2_SLUGS = {"ideogram-v4.0": "ideogram4", "flux-schnell": "z-image", "flux-pro-2.0": "flux2"}
# FLUX.2 Pro takes sides from 256 and off the 16-px grid (its own 16:9 is 1440x810): drawn on the
# grid and resized to exactly the size asked.
V2_SIZES = {"flux-pro-2.0": (264, 256)}
# Nano Banana 2 as the shipped row maps it (Qwen-Image for a prompt alone, Edit Plus for 1-3
# references, FLUX.2 [dev] beyond), on the tiny rows.
NANO_BANANA_ROW = (
    f'[[slug]]\nslug = "nano-banana-2"\nmodel = "{MODELS["qwen-image"][0]}"\n'
    f'reference_model = "{MODELS["qwen-image-edit-plus"][0]}"\nreference_limit = 3\n'
    f'overflow_model = "{MODELS["flux2"][0]}"\n\n'
)
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
    rows += [f'[[slug]]\nslug = "{slug}"\nmodel = "{MODELS[family][0]}"\n\n' for slug, family in V2_SLUGS.items()]
    rows.append(NANO_BANANA_ROW)
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
    request.update(num_images=2, seed=77)
    if family not in ("ideogram4", "flux2", "flux2-klein"):  # they take none (refused by name below)
        request["negative_prompt"] = "fog"
    if family == "sdxl-lightning":
        del request["num_inference_steps"]  # it runs the row's distilled step count
    if family == "qwen-image-edit-plus":  # it edits pictures: a prompt alone is refused
        request["image_prompts"] = [uploaded_init_image(sdk, picture((64, 48)))]
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


def test_a_side_off_the_patch_grid_is_drawn_at_the_size_asked(family_server: Server, carol: dict[str, Any]) -> None:
    """Leonardo takes multiples of 8; FLUX's grid is 16 px: 72 is drawn at 80 and resized to 72."""
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=MODELS["flux"][0], width=72, height=32))
        assert response.status_code == 200, response.text
        done = wait_for_generation(client, response.json()["sdGenerationJob"]["generationId"])
    assert done["status"] == "COMPLETE" and (done["imageWidth"], done["imageHeight"]) == (72, 32), done
    picture = Image.open(io.BytesIO(httpx.get(done["generated_images"][0]["url"], timeout=30).content))
    assert picture.size == (72, 32)


def test_an_unregistered_family_is_refused_naming_it(family_server: Server, carol: dict[str, Any]) -> None:
    with family_server.http(carol["apiKey"]) as client:
        response = client.post("/generations", json=wire(model_id=UNKNOWN_FAMILY_ID))
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.modelId"
    assert "'sd-cascade'" in error["error"] and "Tiny Cascade" in error["error"]


# --- Z-Image and Ideogram 4 (their rules on the tiny models: tests/unit/engine/test_zimage_ideogram.py) ---


def _sdk_picture(server: Server, key: str, family: str, seed: int, **fields: Any) -> np.ndarray:
    """One 32-px picture of `family`'s tiny model through the official SDK, with its defaults (and `fields`)."""
    request = tiny_request(model_id=MODELS[family][0], width=32, height=32, seed=seed, **fields)
    created = server.sdk(key).image.create_generation(request=request)
    assert created.status_code == 200
    with server.http(key) as client:
        done = wait_for_generation(client, str(created.object.sd_generation_job.generation_id))
    assert done["status"] == "COMPLETE", done
    [image] = done["generated_images"]
    return np.asarray(Image.open(io.BytesIO(httpx.get(image["url"], timeout=30).content)).convert("RGB"))


@pytest.mark.parametrize("family", ["z-image", "ideogram4"])
def test_z_image_and_ideogram_give_the_same_pixels_for_the_same_seed(
    family_server: Server, carol: dict[str, Any], family: str
) -> None:
    first, again, other = (_sdk_picture(family_server, carol["apiKey"], family, seed) for seed in (5, 5, 6))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_negative_prompts_they_cannot_honour_are_refused_by_name(family_server: Server, carol: dict[str, Any]) -> None:
    cases = [("ideogram4", {}, "Ideogram 4"), ("z-image", {"guidance_scale": 1}, "classifier-free guidance")]
    with family_server.http(carol["apiKey"]) as client:
        for family, extra, why in cases:
            body = wire(model_id=MODELS[family][0], negative_prompt="fog", **extra)
            response = client.post("/generations", json=body)
            assert response.status_code == 400, response.text
            error = response.json()
            assert error["path"] == "$.selectionSet.sdGenerationJob.args.arg1.negative_prompt"
            assert why in error["error"]


def test_models_add_recognises_z_image_and_ideogram_folders(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    added = {}
    for family in ("z-image", "ideogram4"):
        folder = ensure_tiny_family_model(family, tmp_path / "weights" / family)
        printed = run_cli(data_dir, "models", "add", str(folder), "--name", f"My {family}").stdout
        added[family] = printed.strip().splitlines()[-1]
    rows = {row["id"]: row for row in tomllib.loads(local_catalog_path(data_dir).read_text())["model"]}
    for family, model_id in added.items():
        defaults = FAMILIES[family].defaults
        assert (rows[model_id]["family"], rows[model_id]["default_steps"]) == (family, defaults.default_steps)
    assert all(model_id in run_cli(data_dir, "models", "list").stdout for model_id in added.values())


@pytest.mark.parametrize("slug", sorted(V2_SLUGS))
def test_new_families_serve_v2_slugs(family_server: Server, carol: dict[str, Any], slug: str) -> None:
    """A plain v2 client (Leonardo's guides: no SDK has v2), read back through v1."""
    headers = {"authorization": f"Bearer {carol['apiKey']}"}
    width, height = V2_SIZES.get(slug, (32, 32))

    def draw(seed: int) -> np.ndarray:
        parameters = {"prompt": "a poster that says hello", "width": width, "height": height, "seed": seed,
                      "quantity": 1}  # fmt: skip
        with httpx.Client(base_url=f"{family_server.base_url}/api/rest/v2", headers=headers, timeout=30) as v2:
            answer = v2.post("/generations", json={"model": slug, "public": False, "parameters": parameters})
        assert answer.status_code == 200, answer.text
        with family_server.http(carol["apiKey"]) as client:
            done = wait_for_generation(client, answer.json()["generate"]["generationId"])
        assert done["status"] == "COMPLETE" and done["modelId"] == MODELS[V2_SLUGS[slug]][0], done
        [image] = done["generated_images"]
        return np.asarray(Image.open(io.BytesIO(httpx.get(image["url"], timeout=30).content)).convert("RGB"))

    first, again, other = draw(3), draw(3), draw(4)
    assert first.shape == (height, width, 3) and np.array_equal(first, again)
    assert not np.array_equal(first, other)


# --- FLUX.2 [dev] and [klein] (their rules on the tiny models: tests/unit/engine/test_flux2.py) ---


@pytest.mark.parametrize("family", ["flux2", "flux2-klein"])
def test_flux2_draws_by_seed_and_from_an_uploaded_image_prompt(
    family_server: Server, carol: dict[str, Any], family: str
) -> None:
    """Through the official SDK with its defaults: the image prompt is one of the pipeline's own
    reference pictures (no IP-Adapter), and at `imagePromptWeight` 0 it is left out."""
    key = carol["apiKey"]
    first, again, other = (_sdk_picture(family_server, key, family, seed) for seed in (5, 5, 6))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    reference = uploaded_init_image(family_server.sdk(key), picture((80, 64)))
    prompted = _sdk_picture(family_server, key, family, 5, image_prompts=[reference])
    assert not np.array_equal(prompted, first)
    unweighted = _sdk_picture(family_server, key, family, 5, image_prompts=[reference], image_prompt_weight=0)
    assert np.array_equal(unweighted, first)


def test_flux2_refuses_a_negative_prompt_and_too_many_references_by_name(
    family_server: Server, carol: dict[str, Any]
) -> None:
    key = carol["apiKey"]
    reference = uploaded_init_image(family_server.sdk(key), picture((64, 64)))
    klein = wire(model_id=MODELS["flux2-klein"][0], imagePrompts=[reference] * 5)
    with family_server.http(key) as client:
        refused = client.post("/generations", json=wire(model_id=MODELS["flux2"][0], negative_prompt="fog"))
        too_many = client.post("/generations", json=klein)
    assert refused.status_code == 400, refused.text
    assert refused.json()["path"] == "$.selectionSet.sdGenerationJob.args.arg1.negative_prompt"
    assert "FLUX.2 models take no negative prompt" in refused.json()["error"]
    assert too_many.status_code == 400, too_many.text
    assert too_many.json()["path"] == "$.selectionSet.sdGenerationJob.args.arg1.imagePrompts"
    assert "at most 4 reference pictures" in too_many.json()["error"]


def test_models_add_recognises_flux2_folders(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for family in ("flux2", "flux2-klein"):
        folder = ensure_tiny_family_model(family, tmp_path / "weights" / family)
        added = run_cli(data_dir, "models", "add", str(folder), "--name", f"Tiny {family}")
        model_id = added.stdout.strip().splitlines()[-1]
        row = next(r for r in tomllib.loads(local_catalog_path(data_dir).read_text())["model"] if r["id"] == model_id)
        assert (row["family"], row["default_steps"]) == (family, FAMILIES[family].defaults.default_steps)


# --- Qwen-Image and Qwen-Image-Edit-Plus (their rules on the tiny models: tests/unit/engine/test_qwen_image.py) ---


def test_qwen_image_draws_by_seed_and_edit_plus_from_an_uploaded_image_prompt(
    family_server: Server, carol: dict[str, Any]
) -> None:
    """Through the official SDK with its defaults: Edit Plus's image prompt is one of its pipeline's
    own pictures (no IP-Adapter), so another picture gives other pixels (two at once: the unit tests,
    as each costs an attention over its 4096 latent tokens); a prompt alone is a 400 naming the init
    image it lacks."""
    key = carol["apiKey"]
    first, again, other = (_sdk_picture(family_server, key, "qwen-image", seed) for seed in (5, 5, 6))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    sdk = family_server.sdk(key)
    one = uploaded_init_image(sdk, picture((80, 64)))
    two = uploaded_init_image(sdk, Image.new("RGB", (64, 64), (30, 200, 90)))
    edits = [_sdk_picture(family_server, key, "qwen-image-edit-plus", 5, image_prompts=[ref]) for ref in (one, two)]
    assert not np.array_equal(*edits)
    with family_server.http(key) as client:
        alone = client.post("/generations", json=wire(model_id=MODELS["qwen-image-edit-plus"][0]))
    assert alone.status_code == 400, alone.text
    assert alone.json()["path"] == "$.selectionSet.sdGenerationJob.args.arg1.init_image_id"
    assert "Qwen-Image-Edit-Plus models edit pictures" in alone.json()["error"]


def test_models_add_recognises_qwen_image_and_edit_plus_folders(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for family in ("qwen-image", "qwen-image-edit-plus"):
        folder = ensure_tiny_family_model(family, tmp_path / "weights" / family)
        added = run_cli(data_dir, "models", "add", str(folder), "--name", f"Tiny {family}")
        model_id = added.stdout.strip().splitlines()[-1]
        row = next(r for r in tomllib.loads(local_catalog_path(data_dir).read_text())["model"] if r["id"] == model_id)
        assert (row["family"], row["default_steps"]) == (family, FAMILIES[family].defaults.default_steps)


def test_nano_banana_serves_qwen_image_for_a_prompt_and_edit_plus_for_its_references(
    family_server: Server, carol: dict[str, Any]
) -> None:
    """A plain v2 client (Leonardo's guides): the slug's prompt-only request draws with Qwen-Image,
    the same request with an uploaded image reference with Qwen-Image-Edit-Plus, read through v1."""
    key = carol["apiKey"]
    reference = uploaded_init_image(family_server.sdk(key), picture((80, 64)))

    def draw(**parameters: Any) -> tuple[str, np.ndarray]:
        body = {"model": "nano-banana-2", "public": False, "parameters": parameters}
        headers = {"authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"{family_server.base_url}/api/rest/v2", headers=headers, timeout=30) as v2:
            answer = v2.post("/generations", json=body)
        assert answer.status_code == 200, answer.text
        with family_server.http(key) as client:
            done = wait_for_generation(client, answer.json()["generate"]["generationId"])
        assert done["status"] == "COMPLETE", done
        [image] = done["generated_images"]
        return done["modelId"], np.asarray(Image.open(io.BytesIO(httpx.get(image["url"], timeout=30).content)))

    prompt = {"prompt": "a red bicycle", "width": 768, "height": 768, "seed": 3}  # Nano Banana 2's smallest side
    drawn_by, alone = draw(**prompt)
    guides = {"image_reference": [{"image": {"id": reference, "type": "UPLOADED"}, "strength": "MID"}]}
    edited_by, edited = draw(**prompt, guidances=guides)
    assert (drawn_by, edited_by) == (MODELS["qwen-image"][0], MODELS["qwen-image-edit-plus"][0])
    assert alone.shape == edited.shape == (768, 768, 3) and not np.array_equal(alone, edited)
