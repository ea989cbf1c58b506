"""`sfumato models add|remove|pull` end to end: real CLI processes, a real server, and a fake
Hugging Face hub on 127.0.0.1 (the edge of the world) serving the tiny model's files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest

from sfumato.engine.catalog import CatalogEntry, ModelCatalog, add_local_entry, local_catalog_path
from sfumato.engine.hub import pull_model
from sfumato.engine.tiny import ensure_tiny_model
from tests.conftest import Server, run_cli, tiny_request, wait_for_generation

REPO = "sfumato-test/tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
HUB_ENV = {"HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}


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
            created = client.post("/generations", json={**_wire(tiny_request(model_id=model_id))})
            assert created.status_code == 200, created.text
            job = created.json()["sdGenerationJob"]["generationId"]
            body = wait_for_generation(client, job)
            assert body["status"] == "COMPLETE" and body["modelId"] == model_id
    finally:
        server.stop()
    removed = run_cli(data_dir, "models", "remove", model_id)
    assert model_id not in run_cli(data_dir, "models", "list").stdout, removed.stderr


def _wire(request: dict[str, Any]) -> dict[str, Any]:
    """The SDK's snake_case names as they go on the wire (modelId and presetStyle are camelCase)."""
    wire = dict(request)
    wire["modelId"] = wire.pop("model_id")
    wire["presetStyle"] = wire.pop("preset_style")
    return wire


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


# --- a fake hub: just what snapshot_download calls ----------------------------------------------


@dataclass
class FakeHub:
    """Serves `folder` as repo REPO at commit COMMIT. `missing` files answer 404; the first GET
    of `drop_once` sends half its body and closes the connection. Every request is logged."""

    folder: Path
    missing: set[str] = field(default_factory=set)
    drop_once: str | None = None
    log: list[tuple[str, str, str | None]] = field(default_factory=list)

    def files(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.folder).as_posix(): p.read_bytes() for p in sorted(self.folder.rglob("*")) if p.is_file()
        }

    def handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _json(self, body: Any) -> None:
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _missing(self) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _serve(self, head: bool) -> None:
                path = self.path.split("?")[0]
                hub.log.append((self.command, path, self.headers.get("Range")))
                files = hub.files()
                if path == f"/api/models/{REPO}" or path.startswith(f"/api/models/{REPO}/revision/"):
                    return self._json({"id": REPO, "sha": COMMIT, "siblings": [{"rfilename": f} for f in files]})
                if path.startswith(f"/api/models/{REPO}/tree/"):
                    return self._json(
                        [
                            {"type": "file", "path": f, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                            for f, d in files.items()
                        ]
                    )
                prefix = f"/{REPO}/resolve/"
                name = path.removeprefix(prefix).partition("/")[2]
                if not path.startswith(prefix) or name not in files or name in hub.missing:
                    return self._missing()
                data = files[name]
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0]) if self.headers["Range"] else 0
                self.send_response(206 if start else 200)
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if head:
                    return None
                if name == hub.drop_once:
                    hub.drop_once = None
                    self.wfile.write(data[start : len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                self.wfile.write(data[start:])
                return None

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_HEAD(self) -> None:
                self._serve(head=True)

        return Handler


@pytest.fixture
def fake_hub(tiny_folder: Path) -> Iterator[tuple[FakeHub, str]]:
    hub = FakeHub(tiny_folder)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), hub.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield hub, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_pull_resumes_and_installs_only_when_complete(
    tmp_path: Path, tiny_folder: Path, fake_hub: tuple[FakeHub, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, url = fake_hub
    data_dir = tmp_path / "data"
    local = local_catalog_path(data_dir)
    entry = CatalogEntry(
        id="3d0f4a51-9c1e-4b7a-8e2d-5f6a7b8c9d0e",
        name="Hub Tiny",
        family="sd15",
        sd_version="v1_5",
        native_width=64,
        native_height=64,
        default_steps=10,
        default_guidance=7.0,
        repo=REPO,
    )
    add_local_entry(local, entry, ModelCatalog.load(None, local_file=local))
    models_dir = data_dir / "models"
    files = hub.files()
    largest = max(files, key=lambda name: len(files[name]))

    # First pull: the largest file's connection drops half way (huggingface_hub resumes it with a
    # Range request), and one small file is missing, so the pull fails and the model stays uninstalled.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    for name, value in HUB_ENV.items():
        monkeypatch.setenv(name, value)
    hub.drop_once, hub.missing = largest, {"scheduler/scheduler_config.json"}
    with pytest.raises(Exception, match="scheduler_config"):
        pull_model(entry, models_dir, endpoint=url)
    assert not entry.is_installed(models_dir)
    resumed = [r for m, p, r in hub.log if m == "GET" and p.endswith(largest) and r and r != "bytes=0-"]
    assert resumed, hub.log
    assert (entry.weights_dir(models_dir) / largest).read_bytes() == files[largest]

    # Second pull, through the CLI and HF_ENDPOINT: fetches only what is missing, then the marker.
    hub.missing, hub.log = set(), []
    run_cli(data_dir, "models", "pull", str(entry.id), env={**HUB_ENV, "HF_ENDPOINT": url})
    assert not [p for m, p, _ in hub.log if m == "GET" and p.endswith(largest)]
    assert entry.is_installed(models_dir)
    target = entry.weights_dir(models_dir)
    for name, data in files.items():
        assert (target / name).read_bytes() == data, name


def test_single_file_checkpoint_is_refused_with_the_way_forward(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    checkpoint = tmp_path / "model.safetensors"
    save_file({"cond_stage_model.transformer.text_model.embeddings.position_ids": torch.zeros(1)}, checkpoint)
    result = subprocess.run(
        [sys.executable, "-m", "sfumato", "models", "add", str(checkpoint), "--name", "One File",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "sd15 single-file checkpoint" in result.stderr and "diffusers folder" in result.stderr
    assert not local_catalog_path(tmp_path / "data").exists()
