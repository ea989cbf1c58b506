"""Absent weights: refused at POST when they cannot be downloaded (downloads off, hub unreachable),
downloaded once by the worker while the generation stays PENDING when they can, and a model with
a replacement UNet pulled whole. The hub is a fake on 127.0.0.1 (tests/support/fake_hub.py)."""

from __future__ import annotations

import shutil
import socket
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest

from sfumato.catalog import DIFFUSERS_MARKER, LEONARDO_DEFAULT_MODEL_ID, CatalogEntry
from sfumato.config import EngineSettings
from sfumato.engine import DownloadFailed, Engine, HubAccess, pull_model
from sfumato.engine.weights.tiny import ensure_tiny_model
from tests.conftest import Server, run_cli, tiny_request, to_wire, wait_for_generation
from tests.support.fake_hub import CLOSED_HUB_URL, HUB_ENV, FakeHub
from tests.support.polling import poll_until
from tests.support.tiny_families import ensure_tiny_family_model

TINY_REPO = "sfumato-test/tiny"
ABSENT_REPO = "sfumato-test/absent"  # a row naming a repo the hub does not have
HUB_TINY_ID = "3b1f8a52-7c2d-4e6f-9a0b-1c2d3e4f5a6b"
HUB_ABSENT_ID = "4c2a9b63-8d3e-4f70-8b1c-2d3e4f5a6b7c"
SDXL_REPO = "sfumato-test/tiny-sdxl"
UNET_REPO = "sfumato-test/lightning"
UNET_FILE = "sdxl_lightning_8step_unet.safetensors"


def _row(model_id: str, name: str, repo: str) -> str:
    return (
        f'[[model]]\nid = "{model_id}"\nname = "{name}"\nfamily = "sd15"\nrepo = "{repo}"\nsd_version = "v1_5"\n'
        "native_width = 64\nnative_height = 64\ndefault_steps = 10\ndefault_guidance = 7.0\n\n"
    )


def _sd15_entry(repo: str) -> CatalogEntry:
    return CatalogEntry.from_row({
        "id": HUB_TINY_ID, "name": "Hub Tiny", "family": "sd15", "sd_version": "v1_5", "native_width": 64,
        "native_height": 64, "default_steps": 10, "default_guidance": 7.0, "repo": repo,
    })  # fmt: skip


def _post_default_model(server: Server) -> tuple[int, dict[str, Any]]:
    """POST what the SDKs send for a bare prompt (Lightning XL, not installed here)."""
    with server.http(server.create_key("operator")["apiKey"]) as client:
        response = client.post("/generations", json={"prompt": "a cat", "width": 1024, "height": 1024})
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(tmp_path_factory.mktemp("weights") / "tiny")


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process downloads: whatever the test runner's environment says, the hub library is online."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


# --- refused at POST -------------------------------------------------------------------------------


def test_absent_model_is_refused_when_downloads_are_disabled(tmp_path: Path) -> None:
    server = Server(tmp_path, env={**HUB_ENV, "SFUMATO_ALLOW_DOWNLOADS": "false"})
    server.start()
    try:
        status, body = _post_default_model(server)
    finally:
        server.stop()
    assert status == 400 and body["path"].endswith(".modelId"), body
    assert "Leonardo Lightning XL" in body["error"] and "downloads are disabled" in body["error"]
    assert f"`sfumato models pull {LEONARDO_DEFAULT_MODEL_ID}`" in body["error"]


def test_absent_model_is_refused_at_once_when_the_hub_is_unreachable(tmp_path: Path) -> None:
    server = Server(tmp_path, env={**HUB_ENV, "SFUMATO_HUB_ENDPOINT": CLOSED_HUB_URL})
    server.start()
    try:
        status, body = _post_default_model(server)
    finally:
        server.stop()
    assert status == 400, body
    assert f"the model hub at {CLOSED_HUB_URL} is unreachable" in body["error"]
    assert (
        "Leonardo Lightning XL" in body["error"] and f"sfumato models pull {LEONARDO_DEFAULT_MODEL_ID}" in body["error"]
    )
    # Answered at once: the probe ended on the refused connection, not on its timeout.
    assert server.log_path is not None
    probe_log = [line for line in server.log_path.read_text().splitlines() if "is unreachable:" in line]
    assert probe_log and all("Connection refused" in line for line in probe_log), probe_log


def _connections_made(listener: socket.socket) -> int:
    """How many connections reached `listener` since last asked (it never answers them)."""
    count = 0
    listener.setblocking(False)
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


def test_hub_probe_is_bounded_and_its_answer_cached(hub_online: None, caplog: pytest.LogCaptureFixture) -> None:
    """A hub that accepts connections but never answers costs one probe, ended by its timeout;
    the next refusal reuses that answer without connecting again."""
    with socket.socket() as silent, ThreadPoolExecutor(1) as pool:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        access = HubAccess(
            allow_downloads=True, endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", probe_timeout_s=0.5
        )
        # The deadline is far past the probe's timeout: an unbounded probe fails here instead of hanging.
        assert "is unreachable" in (pool.submit(access.refusal).result(timeout=60) or "")
        assert _connections_made(silent) == 1
        assert "timed out" in caplog.text  # the probe gave up by its timeout, not for another reason
        assert "is unreachable" in (pool.submit(access.refusal).result(timeout=60) or "")
        assert _connections_made(silent) == 0  # cached: no second probe


def test_probe_is_skipped_when_downloads_are_disabled_or_the_library_is_offline(
    tiny_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub({TINY_REPO: tiny_folder})
    url = hub.start()
    try:
        assert "disabled" in (HubAccess(allow_downloads=False, endpoint=url).refusal() or "")
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        assert "HF_HUB_OFFLINE" in (HubAccess(allow_downloads=True, endpoint=url).refusal() or "")
        assert hub.log == []
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        assert HubAccess(allow_downloads=True, endpoint=url).refusal() is None
        assert len(hub.log) == 1
    finally:
        hub.stop()


# --- downloaded by the worker ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def online(tiny_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, FakeHub, str]]:
    """A server with two worker threads, whose hub is the fake, and two hub rows in its catalog."""
    root = tmp_path_factory.mktemp("online")
    hub = FakeHub({TINY_REPO: tiny_folder}, delay_s=1.0)  # slow enough for two jobs to meet in one download
    url = hub.start()
    catalog = root / "catalog.toml"
    catalog.write_text(_row(HUB_TINY_ID, "Hub Tiny", TINY_REPO) + _row(HUB_ABSENT_ID, "Hub Absent", ABSENT_REPO))
    env = {
        **HUB_ENV, "SFUMATO_HUB_ENDPOINT": url, "SFUMATO_CATALOG_FILE": str(catalog),
        "SFUMATO_WORKER_THREADS": "2", "SFUMATO_JOB_MAX_ATTEMPTS": "2",
    }  # fmt: skip
    server = Server(root / "data", env=env)
    server.start()
    yield server, hub, url
    server.stop()
    hub.stop()


def test_first_requests_download_once_while_pending(online: tuple[Server, FakeHub, str], tiny_folder: Path) -> None:
    server, hub, _url = online
    with server.http(server.create_key("alice")["apiKey"]) as client:
        ids = []
        for _ in range(2):
            created = client.post("/generations", json=to_wire(tiny_request(model_id=HUB_TINY_ID)))
            assert created.status_code == 200, created.text
            ids.append(created.json()["sdGenerationJob"]["generationId"])
        # On the wire a downloading generation is PENDING, as any queued or rendering one.
        assert client.get(f"/generations/{ids[0]}").json()["generations_by_pk"]["status"] == "PENDING"
        bodies = [wait_for_generation(client, generation_id) for generation_id in ids]
    for body in bodies:
        assert body["status"] == "COMPLETE" and len(body["generated_images"]) == 1, body
    fetched = Counter(path for method, path, _ in hub.log if method == "GET" and path.startswith(f"/{TINY_REPO}/"))
    served = {name for name in FakeHub({TINY_REPO: tiny_folder}).files(TINY_REPO)}
    assert {path.rsplit("/resolve/", 1)[1].split("/", 1)[1] for path in fetched} == served
    assert set(fetched.values()) == {1}, fetched  # each file once, for both generations
    assert server.log_path is not None
    assert f"waiting for the download of {TINY_REPO} already running" in server.log_path.read_text()


def test_failed_download_fails_the_generation_with_the_reason(online: tuple[Server, FakeHub, str]) -> None:
    server, hub, url = online
    with server.http(server.create_key("bob")["apiKey"]) as client:
        created = client.post("/generations", json=to_wire(tiny_request(model_id=HUB_ABSENT_ID)))
        assert created.status_code == 200, created.text  # the hub answers: accepted, the worker tries
        body = wait_for_generation(client, created.json()["sdGenerationJob"]["generationId"])
    assert body["status"] == "FAILED"
    assert body["failureReason"].startswith(f"DownloadFailed: downloading {ABSENT_REPO} from {url}: "), body
    assert "RepositoryNotFoundError" in body["failureReason"]
    attempts = [path for method, path, _ in hub.log if path.startswith(f"/api/models/{ABSENT_REPO}")]
    assert len(attempts) == 2, attempts  # SFUMATO_JOB_MAX_ATTEMPTS=2: retried once, then FAILED


def test_a_download_does_not_hold_the_only_worker_thread(tiny_folder: Path, tmp_path: Path) -> None:
    """With one worker thread, a generation of another (installed) model completes while a slow
    download runs: the downloading job is parked in the queue, not waited on by the thread."""
    hub = FakeHub({TINY_REPO: tiny_folder}, delay_s=4.0)  # 4 s per file GET (8 in parallel): >= 12 s in all
    url = hub.start()
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(_row(HUB_TINY_ID, "Hub Tiny", TINY_REPO))
    env = {**HUB_ENV, "SFUMATO_HUB_ENDPOINT": url, "SFUMATO_CATALOG_FILE": str(catalog), "SFUMATO_WORKER_THREADS": "1"}
    server = Server(tmp_path / "data", env=env)
    server.start()
    try:
        with server.http(server.create_key("carol")["apiKey"]) as client:
            downloading = client.post("/generations", json=to_wire(tiny_request(model_id=HUB_TINY_ID)))
            assert downloading.status_code == 200, downloading.text
            downloading_id = downloading.json()["sdGenerationJob"]["generationId"]
            poll_until(
                lambda: [m for m, path, _ in hub.log if m == "GET" and "/resolve/" in path],
                timeout_s=30,
                interval_s=0.1,
                message="the download never started",
            )
            other = client.post("/generations", json=to_wire(tiny_request()))  # Sfumato Tiny, installed
            done = wait_for_generation(client, other.json()["sdGenerationJob"]["generationId"])
            assert done["status"] == "COMPLETE", done
            waiting = client.get(f"/generations/{downloading_id}").json()["generations_by_pk"]
            assert waiting["status"] == "PENDING"  # still downloading: the tiny job did not wait for it
            assert wait_for_generation(client, downloading_id)["status"] == "COMPLETE"
        assert server.log_path is not None
        assert f"while {TINY_REPO} downloads" in server.log_path.read_text()  # it was parked, then rendered
    finally:
        server.stop()
        hub.stop()


def _engine(models_dir: Path, hub_url: str) -> Engine:
    """The engine a worker gets: one that may fetch absent weights from `hub_url`."""
    return Engine(EngineSettings(), models_dir, HubAccess(allow_downloads=True, endpoint=hub_url))


def _file_gets(hub: FakeHub) -> Counter[str]:
    return Counter(path for method, path, _ in hub.log if method == "GET" and "/resolve/" in path)


def test_a_download_goes_on_without_its_waiting_jobs(tiny_folder: Path, tmp_path: Path, hub_online: None) -> None:
    """`weights_ready` starts the download and answers at once; a job that asks again joins the same
    download, and one that stops asking (deleted, shut down) does not stop it: it lands, once."""
    hub = FakeHub({TINY_REPO: tiny_folder}, delay_s=0.5)
    url = hub.start()
    try:
        engine, entry = _engine(tmp_path, url), _sd15_entry(TINY_REPO)
        assert not engine.weights_ready(entry)  # started: the job would be parked now
        assert not engine.weights_ready(entry)  # a second job joins the running download
        assert not entry.weights.is_installed(tmp_path)
        # Nobody asks meanwhile; the download finishes on its own and the next job finds the weights.
        poll_until(
            lambda: entry.weights.is_installed(tmp_path), timeout_s=60, interval_s=0.05, message="the download stopped"
        )
        assert engine.weights_ready(entry)
        assert set(_file_gets(hub).values()) == {1}  # each file fetched once
    finally:
        hub.stop()


def test_jobs_share_one_failed_download_and_the_next_one_starts_afresh(
    tiny_folder: Path, tmp_path: Path, hub_online: None
) -> None:
    hub = FakeHub({TINY_REPO: tiny_folder}, missing={"vae/config.json"})
    url = hub.start()
    try:
        engine, entry = _engine(tmp_path, url), _sd15_entry(TINY_REPO)

        def download_failure() -> DownloadFailed | None:
            """None while the download runs; its failure once it ended, which `weights_ready` raises."""
            try:
                assert not engine.weights_ready(entry)
            except DownloadFailed as error:
                return error
            return None

        failure = poll_until(download_failure, timeout_s=60, interval_s=0.05, message="the download never ended")
        assert str(failure).startswith(f"downloading {TINY_REPO} from {url}: "), failure
        assert len([p for m, p, _ in hub.log if p == f"/api/models/{TINY_REPO}"]) == 1  # every ask, one download

        hub.missing = set()
        # A failed download is not remembered: the next job starts a fresh one, which lands.
        poll_until(lambda: engine.weights_ready(entry), timeout_s=60, interval_s=0.05, message="no fresh download")
        assert entry.weights.is_installed(tmp_path)
        assert len([p for m, p, _ in hub.log if p == f"/api/models/{TINY_REPO}"]) == 2
    finally:
        hub.stop()


# --- a base pipeline plus a replacement UNet file (SDXL-Lightning's shape) -------------------------


def test_lightning_style_row_pulls_base_and_unet_file(tmp_path: Path, hub_online: None) -> None:
    base = ensure_tiny_family_model("sdxl", tmp_path / "served" / "sdxl")
    unets = tmp_path / "served" / "lightning"
    unets.mkdir()
    shutil.copyfile(base / "unet" / "diffusion_pytorch_model.safetensors", unets / UNET_FILE)
    (unets / "sdxl_lightning_4step_lora.safetensors").write_bytes(b"another variant: not ours to fetch")
    hub = FakeHub({SDXL_REPO: base, UNET_REPO: unets}, missing={UNET_FILE})
    url = hub.start()
    data_dir = tmp_path / "data"
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        f'[[model]]\nid = "{HUB_TINY_ID}"\nname = "Hub Lightning"\nfamily = "sdxl-lightning"\nrepo = "{SDXL_REPO}"\n'
        f'unet_repo = "{UNET_REPO}"\nunet_file = "{UNET_FILE}"\nsd_version = "SDXL_LIGHTNING"\n'
        "native_width = 64\nnative_height = 64\ndefault_steps = 8\ndefault_guidance = 0.0\n"
    )
    entry = CatalogEntry.from_row({
        "id": HUB_TINY_ID, "name": "Hub Lightning", "family": "sdxl-lightning", "sd_version": "SDXL_LIGHTNING",
        "native_width": 64, "native_height": 64, "default_steps": 8, "default_guidance": 0.0, "repo": SDXL_REPO,
        "unet_repo": UNET_REPO, "unet_file": UNET_FILE,
    })  # fmt: skip
    models_dir = data_dir / "models"
    weights = entry.weights
    unet_path = weights.unet_path(models_dir)
    assert unet_path is not None
    try:
        # The UNet file is fetched first: while it is missing, nothing of the base counts.
        with pytest.raises(Exception, match=UNET_FILE):
            pull_model(entry, models_dir, endpoint=url)
        assert not weights.is_installed(models_dir)
        assert not (weights.weights_dir(models_dir) / DIFFUSERS_MARKER).exists()

        hub.missing, hub.log = set(), []
        env = {**HUB_ENV, "SFUMATO_CATALOG_FILE": str(catalog), "SFUMATO_HUB_ENDPOINT": url}
        run_cli(data_dir, "models", "pull", HUB_TINY_ID, env=env)
        assert weights.is_installed(models_dir)
        assert unet_path.read_bytes() == (unets / UNET_FILE).read_bytes()
        for name, data in hub.files(SDXL_REPO).items():
            assert (weights.weights_dir(models_dir) / name).read_bytes() == data, name
        assert hub.gets(UNET_FILE) == [None] and hub.gets("sdxl_lightning_4step_lora.safetensors") == []

        # A server filling a gap fetches only what is missing: here the UNet file, not the base.
        unet_path.unlink()
        hub.log = []
        pull_model(entry, models_dir, endpoint=url, only_missing=True)
        assert weights.is_installed(models_dir)
        gets = [path for method, path, _ in hub.log if method == "GET"]
        assert len(gets) == 1 and gets[0].startswith(f"/{UNET_REPO}/resolve/") and gets[0].endswith(UNET_FILE), gets

        # A re-pull whose UNet file fails leaves the base, which other rows may share, installed.
        unet_path.unlink()
        hub.missing = {UNET_FILE}
        with pytest.raises(Exception, match=UNET_FILE):
            pull_model(entry, models_dir, endpoint=url)
        assert (weights.weights_dir(models_dir) / DIFFUSERS_MARKER).is_file() and not weights.is_installed(models_dir)
    finally:
        hub.stop()
