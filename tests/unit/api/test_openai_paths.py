"""Unknown paths and methods under the OpenAI door's `/v1` answer OpenAI's error body; Leonardo's
paths keep Leonardo's."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from sfumato.api.app import create_app
from sfumato.config import Settings


def test_unknown_v1_paths_and_methods_get_openai_errors_and_leonardos_keep_theirs(tmp_path: Path) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path, worker_threads=0)))
    missing = client.get("/v1/images/variations")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (GET /v1/images/variations)"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    wrong_method = client.delete("/v1/models")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    assert isinstance(wrong_method.json()["error"], dict)
    leonardo = client.get("/api/rest/v1/nothing-here")
    assert leonardo.status_code == 404 and leonardo.json() == {
        "error": "Endpoint not found", "path": "$", "code": "not-found",
    }  # fmt: skip
