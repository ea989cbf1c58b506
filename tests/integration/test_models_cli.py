"""`sfumato models add|remove|pull` end to end: real CLI processes, a real server, and a fake
Hugging Face hub on 127.0.0.1 (the edge of the world) serving the tiny model's files."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import pytest

from sfumato.catalog import CatalogEntry, ModelCatalog, add_local_entry, local_catalog_path
from sfumato.engine.weights.hub import HF_DOWNLOAD_STATE, pull_model
from sfumato.engine.weights.tiny import ensure_tiny_model
from tests.conftest import Server, run_cli, tiny_request, to_wire, wait_for_generation
from tests.support.fake_hub import HUB_ENV, FakeHub
from tests.support.polling import poll_until

REPO = "sfumato-test/tiny"


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("weights") / "tiny")


def _add(data_dir: Path, *args: str) -> str:
    """Run `models add` and return the id it prints on its last stdout line."""
    return run_cli(data_dir, "models", "add", *args).stdout.strip().splitlines()[-1]


def test_added_folder_is_listed_and_generates(tmp_path: Path, tiny_folder: Path) -> None:
    data_dir = tmp_path / "data"
    model_id = _add(data_dir, str(tiny_folder), "--name", "My Tiny")
    assert model_id in run_cli(data_dir, "models", "list").stdout
    server = Server(data_dir)
    server.start()
    try:
        key = server.create_key("operator")["apiKey"]
        with server.http(key) as client:
            listed = client.get("/platformModels").json()["custom_models"]
            assert any(m["id"] == model_id and m["name"] == "My Tiny" for m in listed)
            by_pk = client.get(f"/models/{model_id}").json()["custom_models_by_pk"]
            assert (by_pk["modelWidth"], by_pk["sdVersion"], by_pk["status"]) == (64, "v1_5", "COMPLETE")
            assert client.get("/models/9b0c7d7e-1111-4222-8333-444455556666").json() == {"custom_models_by_pk": None}
            assert client.get("/models/not-a-uuid").status_code == 400
            created = client.post("/generations", json=to_wire(tiny_request(model_id=model_id)))
            assert created.status_code == 200, created.text
            job = created.json()["sdGenerationJob"]["generationId"]
            body = wait_for_generation(client, job)
            assert body["status"] == "COMPLETE" and body["modelId"] == model_id
    finally:
        server.stop()
    removed = run_cli(data_dir, "models", "remove", model_id)
    assert model_id not in run_cli(data_dir, "models", "list").stdout, removed.stderr


def test_server_reads_the_local_catalog_without_settings(tmp_path: Path, tiny_folder: Path) -> None:
    data_dir = tmp_path / "data"
    model_id = _add(data_dir, str(tiny_folder), "--name", "Plain")
    server = Server(data_dir)
    server.start()
    try:
        with server.http(server.create_key("operator")["apiKey"]) as client:
            assert model_id in {m["id"] for m in client.get("/platformModels").json()["custom_models"]}
    finally:
        server.stop()


def test_remove_refuses_shipped_ids_and_add_refuses_non_models(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "sfumato", "models"]
    shipped = subprocess.run(
        [*command, "remove", "b24e16ff-06e3-43eb-8d33-4416c2d75876", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert shipped.returncode == 2 and "shipped catalog model" in shipped.stderr
    (tmp_path / "empty").mkdir()
    refused = subprocess.run(
        [*command, "add", str(tmp_path / "empty"), "--name", "x", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "model_index.json" in refused.stderr


# --- `models pull` against a fake hub on loopback (tests/support/fake_hub.py) -------------------


@pytest.fixture
def fake_hub(tiny_folder: Path) -> Iterator[tuple[FakeHub, str]]:
    hub = FakeHub({REPO: tiny_folder})
    url = hub.start()
    yield hub, url
    hub.stop()


def test_pull_resumes_and_installs_only_when_complete(
    tmp_path: Path, tiny_folder: Path, fake_hub: tuple[FakeHub, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, url = fake_hub
    data_dir = tmp_path / "data"
    entry = _hub_entry(data_dir)
    models_dir = data_dir / "models"
    files = hub.files(REPO)
    largest = max(files, key=lambda name: len(files[name]))

    # First pull: the largest file's connection drops half way (huggingface_hub resumes it with a
    # Range request), and one small file is missing, so the pull fails and the model stays uninstalled.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    for name, value in HUB_ENV.items():
        monkeypatch.setenv(name, value)
    hub.drop_once, hub.missing = largest, {"scheduler/scheduler_config.json"}
    with pytest.raises(Exception, match="scheduler_config"):
        pull_model(entry, models_dir, endpoint=url)
    assert not entry.weights.is_installed(models_dir)
    resumed = [r for m, p, r in hub.log if m == "GET" and p.endswith(largest) and r and r != "bytes=0-"]
    assert resumed, hub.log
    assert (entry.weights.weights_dir(models_dir) / largest).read_bytes() == files[largest]

    # Second pull, through the CLI and HF_ENDPOINT: fetches only what is missing, then the marker.
    hub.missing, hub.log = set(), []
    run_cli(data_dir, "models", "pull", str(entry.id), env={**HUB_ENV, "HF_ENDPOINT": url})
    assert not [p for m, p, _ in hub.log if m == "GET" and p.endswith(largest)]
    assert entry.weights.is_installed(models_dir)
    target = entry.weights.weights_dir(models_dir)
    for name, data in files.items():
        assert (target / name).read_bytes() == data, name


BIG = "unet/extra.safetensors"
BIG_BYTES = 14 * 1024 * 1024  # over huggingface_hub's 10 MiB write chunk, so a killed pull leaves bytes on disk


def test_pull_killed_mid_file_starts_that_file_over_and_clears_the_leftover(tmp_path: Path, tiny_folder: Path) -> None:
    """Resumption across processes, as huggingface_hub 2.x does it: files finished before a kill
    are kept, but the file being fetched starts over from byte 0 (no Range request): each transfer
    goes to a temporary name unique to its process. The killed process's partial file is deleted
    by the next pull instead of staying on disk for ever."""
    served = tmp_path / "served"
    shutil.copytree(tiny_folder, served)
    (served / BIG).write_bytes(os.urandom(BIG_BYTES))
    hub = FakeHub({REPO: served}, slow=BIG, slow_after=12 * 1024 * 1024, slow_bytes_per_s=256 * 1024)
    url = hub.start()
    data_dir = tmp_path / "data"
    entry = _hub_entry(data_dir)
    target = entry.weights.weights_dir(data_dir / "models")
    command = [sys.executable, "-m", "sfumato", "models", "pull", str(entry.id), "--endpoint", url]
    try:
        first = subprocess.Popen(
            [*command, "--data-dir", str(data_dir)],
            env={**os.environ, **HUB_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        partial = _wait_for_partial(target / HF_DOWNLOAD_STATE, first)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        assert 0 < partial.stat().st_size < BIG_BYTES  # killed mid-file, with bytes on disk
        finished = {name for name in hub.files(REPO) if (target / name).is_file()}
        assert finished and BIG not in finished and not entry.weights.is_installed(data_dir / "models")

        hub.slow, hub.log = None, []
        run_cli(data_dir, "models", "pull", str(entry.id), "--endpoint", url, env=HUB_ENV)
        # If this fails, huggingface_hub has learned to resume: update docs/models.md "Downloads".
        assert hub.gets(BIG) == [None]
        assert not [name for name in finished if hub.gets(name)]  # finished files are not fetched again
        assert not partial.exists() and not list((target / HF_DOWNLOAD_STATE).rglob("*.incomplete"))
        assert entry.weights.is_installed(data_dir / "models")
        for name, data in hub.files(REPO).items():
            assert (target / name).read_bytes() == data, name
    finally:
        hub.stop()


def _hub_entry(data_dir: Path) -> CatalogEntry:
    """A `models add`-style row for REPO in the data dir's local catalog."""
    local = local_catalog_path(data_dir)
    entry = CatalogEntry.from_row({
        "id": "3d0f4a51-9c1e-4b7a-8e2d-5f6a7b8c9d0e", "name": "Hub Tiny", "family": "sd15", "sd_version": "v1_5",
        "native_width": 64, "native_height": 64, "default_steps": 10, "default_guidance": 7.0, "repo": REPO,
    })  # fmt: skip
    add_local_entry(local, entry, ModelCatalog.load(None, local_file=local))
    return entry


def _wait_for_partial(state: Path, process: subprocess.Popen[bytes], timeout_s: float = 90) -> Path:
    """The temporary file of a transfer in progress, once it holds bytes."""

    def partial_with_bytes() -> Path | None:
        assert process.poll() is None, "the pull ended before it could be interrupted"
        for partial in state.rglob("*.incomplete") if state.is_dir() else []:
            with contextlib.suppress(FileNotFoundError):  # a small file's, moved into place meanwhile
                if partial.stat().st_size > 0:
                    return partial
        return None

    return poll_until(partial_with_bytes, timeout_s, 0.05, f"no partial download under {state}")


def _ldm_checkpoint(path: Path) -> Path:
    """Sfumato Tiny's weights as one original-format (LDM) single-file checkpoint."""
    from sfumato.engine.weights.tiny import build_tiny_pipeline
    from tests.support.single_file import write_ldm_checkpoint

    return write_ldm_checkpoint(build_tiny_pipeline(), path)


def test_single_file_checkpoint_is_added_and_generates(tmp_path: Path, tiny_folder: Path) -> None:
    import io
    import shutil
    import tomllib

    import httpx
    import numpy as np
    from PIL import Image

    checkpoint = _ldm_checkpoint(tmp_path / "tiny-ldm.safetensors")
    # Configs, scheduler and tokenizer only: every weight of the added model must come from the file.
    config = Path(shutil.copytree(tiny_folder, tmp_path / "config", ignore=shutil.ignore_patterns("*.safetensors")))
    data_dir = tmp_path / "data"
    folder_id = _add(data_dir, str(tiny_folder), "--name", "Folder")
    file_id = _add(data_dir, str(checkpoint), "--name", "One File", "--config", str(config))
    # Without --config, an installed model of the checkpoint's family lends its configs (here: the folder).
    picked_id = _add(data_dir, str(checkpoint), "--name", "Picked Config")
    rows = {row["id"]: row for row in tomllib.loads(local_catalog_path(data_dir).read_text())["model"]}
    assert (rows[file_id]["file"], rows[file_id]["config"]) == (str(checkpoint), str(config))
    assert (rows[file_id]["family"], rows[file_id]["native_width"], "path" in rows[file_id]) == ("sd15", 64, False)
    assert rows[picked_id]["config"] == str(tiny_folder.resolve())

    server = Server(data_dir)
    server.start()
    try:
        with server.http(server.create_key("operator")["apiKey"]) as client:
            pictures = []
            for model_id in (file_id, folder_id):
                created = client.post("/generations", json=to_wire(tiny_request(model_id=model_id, seed=42)))
                assert created.status_code == 200, created.text
                body = wait_for_generation(client, created.json()["sdGenerationJob"]["generationId"])
                assert body["status"] == "COMPLETE" and body["modelId"] == model_id, body
                image = httpx.get(body["generated_images"][0]["url"], timeout=30).content
                pictures.append(np.asarray(Image.open(io.BytesIO(image))))
    finally:
        server.stop()
    # The checkpoint holds the folder's weights, so it draws the very same pixels.
    assert np.array_equal(pictures[0], pictures[1])


def test_single_file_without_a_usable_config_is_refused_with_the_way_forward(tmp_path: Path) -> None:
    import os

    from tests.support.tiny_families import ensure_tiny_family_model

    checkpoint = _ldm_checkpoint(tmp_path / "model.safetensors")
    data_dir = tmp_path / "data"
    sdxl_folder = ensure_tiny_family_model("sdxl", tmp_path / "sdxl")
    for extra, message in [
        # No --config and no sd15 model installed (the built-in tiny model is not a real SD 1.5).
        ((), "no sd15 model is installed (e.g. `sfumato models pull v1_5`): pass --config DIR"),
        (("--config", str(tmp_path)), "is not a diffusers folder"),
        (("--config", str(sdxl_folder)), f"the checkpoint is sd15 but --config {sdxl_folder} is sdxl"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "sfumato", "models", "add", str(checkpoint), "--name", "One File", *extra,
             "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "1000"},  # no wrapping
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert message in result.stderr, result.stderr
    assert not local_catalog_path(data_dir).exists()
