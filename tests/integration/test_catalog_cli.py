"""The v2 catalog end to end: `models list` shows licences, gating and slugs; `models pull <slug>`
fetches a slug's models from a fake hub on loopback (commercial-only: the stand-in); a model whose
weights are absent is refused at POST with the pull command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leonardo_ai_sdk.models import errors

from sfumato.catalog import CatalogEntry, ModelCatalog, local_catalog_path
from sfumato.engine.weights.tiny import ensure_tiny_model
from tests.conftest import Server, run_cli, tiny_request
from tests.support.fake_hub import HUB_ENV, FakeHub

REPO = "sfumato-test/tiny-apache"
SD_TURBO = "865a9620-40a6-4ad7-8be4-726f6bc4fe8e"

# An operator's catalog: a commercial row on the fake hub, a non-commercial one (on no hub) standing
# in for it under commercial-only, and a slug served by the non-commercial one.
LOCAL_ROWS = f"""
[[model]]
id = "3d0f4a51-9c1e-4b7a-8e2d-5f6a7b8c9d0e"
name = "Hub Tiny"
family = "sd15"
repo = "{REPO}"
license = "apache-2.0"
gated = false
sd_version = "v1_5"
native_width = 64
native_height = 64
default_steps = 10
default_guidance = 7.0

[[model]]
id = "6c1e3b1a-2f4d-4e5a-9b6c-7d8e9f0a1b2c"
name = "Research Tiny"
family = "sd15"
repo = "sfumato-test/not-on-the-hub"
license = "flux-non-commercial-license"
gated = true
commercial_model = "3d0f4a51-9c1e-4b7a-8e2d-5f6a7b8c9d0e"
sd_version = "v1_5"
native_width = 64
native_height = 64
default_steps = 10
default_guidance = 7.0

[[slug]]
slug = "operator-slug"
model = "6c1e3b1a-2f4d-4e5a-9b6c-7d8e9f0a1b2c"
"""


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("weights") / "tiny")


@pytest.fixture
def fake_hub(tiny_folder: Path) -> Iterator[tuple[FakeHub, str]]:
    hub = FakeHub({REPO: tiny_folder})
    url = hub.start()
    yield hub, url
    hub.stop()


def test_models_list_shows_licences_gating_and_the_slugs(tmp_path: Path, tiny_folder: Path) -> None:
    run_cli(tmp_path / "data", "models", "add", str(tiny_folder), "--name", "Licensed Tiny", "--license", "mit")
    listed = run_cli(tmp_path / "data", "models", "list").stdout
    added = next(line for line in listed.splitlines() if "Licensed Tiny" in line)
    assert " mit " in added and "non-commercial" not in added
    flux2 = next(line for line in listed.splitlines() if "black-forest-labs/FLUX.2-dev" in line)
    assert "flux-non-commercial-license (non-commercial)" in flux2 and "gated" in flux2
    klein = next(line for line in listed.splitlines() if "FLUX.2-klein-4B" in line)
    assert "apache-2.0" in klein and "gated" not in klein and "non-commercial" not in klein
    pro = next(line for line in listed.splitlines() if "flux-pro-2.0" in line)
    assert "FLUX.2 [dev]" in pro
    # Commercial-only: the same slug is listed with what would serve it, SD-Turbo as refused.
    commercial = run_cli(tmp_path / "data", "models", "list", env={"SFUMATO_COMMERCIAL_ONLY": "true"}).stdout
    assert "FLUX.2 [klein] 4B" in next(line for line in commercial.splitlines() if "flux-pro-2.0" in line)
    assert "refused" in next(line for line in commercial.splitlines() if line.startswith("│ sd-turbo"))


def test_pull_by_slug_fetches_its_model_and_under_commercial_only_the_stand_in(
    tmp_path: Path, fake_hub: tuple[FakeHub, str]
) -> None:
    hub, url = fake_hub
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    local_catalog_path(data_dir).write_text(LOCAL_ROWS, encoding="utf-8")
    catalog = ModelCatalog.load(local_file=local_catalog_path(data_dir))
    stand_in: CatalogEntry | None = catalog.get("3d0f4a51-9c1e-4b7a-8e2d-5f6a7b8c9d0e")
    assert stand_in is not None and not stand_in.weights.is_installed(data_dir / "models")

    # Plainly the slug's own (gated, not on this hub) model is fetched: the pull fails naming it.
    plain = run_cli(data_dir, "models", "pull", "operator-slug", "--endpoint", url, env=HUB_ENV, check=False)
    assert plain.returncode == 1 and "is gated" in plain.stdout + plain.stderr
    assert "pull of Research Tiny failed" in plain.stdout + plain.stderr

    # Commercial-only: the stand-in is what would serve, so it is what is fetched.
    env = {**HUB_ENV, "SFUMATO_COMMERCIAL_ONLY": "true"}
    pulled = run_cli(data_dir, "models", "pull", "operator-slug", "--endpoint", url, env=env)
    assert "Research Tiny is served by Hub Tiny" in pulled.stdout + pulled.stderr
    assert stand_in.weights.is_installed(data_dir / "models")
    assert any(path.startswith(f"/api/models/{REPO}") for _, path, _ in hub.log), hub.log

    # A shipped slug with no commercial stand-in is refused by name, before any download.
    refused = run_cli(data_dir, "models", "pull", "sd-turbo", "--endpoint", url, env=env, check=False)
    assert refused.returncode == 2
    assert "cannot pull sd-turbo" in refused.stderr + refused.stdout and "SD-Turbo" in refused.stderr + refused.stdout


def test_a_new_row_without_weights_is_refused_at_post_naming_the_pull_command(
    server: Server, alice: dict[str, Any]
) -> None:
    """The test server cannot reach a hub: SD-Turbo (a shipped row, weights absent) is a clear 400."""
    with pytest.raises(errors.SDKError) as raised:
        server.sdk(alice["apiKey"]).image.create_generation(request=tiny_request(model_id=SD_TURBO))
    assert raised.value.status_code == 400
    assert f"sfumato models pull {SD_TURBO}" in raised.value.body and "stabilityai/sd-turbo" in raised.value.body
