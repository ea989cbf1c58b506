"""An API-only process (`SFUMATO_WORKER_THREADS=0`) never loads torch or diffusers: it checks,
prices and queues generations with the engine's torch-free door, and leaves rendering to workers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Server, tiny_request

# Run in a fresh interpreter: this test process has torch loaded already.
_API_ONLY_SESSION = textwrap.dedent(
    """
    import json, sys
    from fastapi.testclient import TestClient
    from sfumato.api.app import create_app
    from sfumato.config import Settings

    app = create_app(Settings(data_dir=sys.argv[1], worker_threads=0))
    with TestClient(app) as client:
        key = app.state.container.keys.create("api-only", 1).api_key
        auth = {"Authorization": f"Bearer {key}"}
        body = json.loads(sys.argv[2])
        created = client.post("/api/rest/v1/generations", json=body, headers=auth)
        refused = client.post("/api/rest/v1/generations", json={**body, "scheduler": "KLMS", "modelId": sys.argv[3]},
                              headers=auth)
        generation_id = created.json()["sdGenerationJob"]["generationId"]
        fetched = client.get(f"/api/rest/v1/generations/{generation_id}", headers=auth)
        models = client.get("/api/rest/v1/platformModels", headers=auth)
        health = client.get("/healthz")
    print(json.dumps({
        "created": created.status_code, "refused": refused.status_code, "refused_body": refused.json(),
        "status": fetched.json()["generations_by_pk"]["status"], "models": models.status_code,
        "health": health.status_code,
        "loaded": sorted(name for name in ("torch", "diffusers", "transformers") if name in sys.modules),
    }))
    """
)


def test_an_api_only_process_checks_and_queues_without_torch(tmp_path: Path) -> None:
    from sfumato.catalog import ModelCatalog

    flux = next(entry for entry in ModelCatalog.load().listed() if entry.family == "flux")
    # Its folder counts as installed once its marker is there: enough for POST, which loads nothing.
    marker = flux.weights.weights_dir(tmp_path / "models") / "model_index.json"
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    body = {"modelId": tiny_request()["model_id"], "prompt": "a lighthouse", "width": 64, "height": 64}
    ran = subprocess.run(
        [sys.executable, "-c", _API_ONLY_SESSION, str(tmp_path), json.dumps(body), str(flux.id)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout.strip().splitlines()[-1])
    assert (seen["created"], seen["status"], seen["models"], seen["health"]) == (200, "PENDING", 200, 200)
    # A family rule is still checked at POST, with torch absent: FLUX takes only EULER_DISCRETE.
    assert seen["refused"] == 400 and "scheduler" in json.dumps(seen["refused_body"]), seen
    assert seen["loaded"] == [], f"an API-only process imported {seen['loaded']}"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the server's memory map from /proc (Linux)")
def test_an_api_only_server_maps_no_torch_library(tmp_path: Path) -> None:
    """The real `sfumato serve`: after answering, its memory holds no libtorch (torch never imported)."""
    with Server(tmp_path / "data", env={"SFUMATO_WORKER_THREADS": "0"}).running() as server:
        key = server.create_key("api-only")["apiKey"]
        with server.http(key) as client:
            created = client.post("/generations", json={"modelId": tiny_request()["model_id"], "prompt": "a fox"})
        assert created.status_code == 200, created.text
        assert server.process is not None
        maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "libtorch" not in maps and "torch/lib" not in maps
