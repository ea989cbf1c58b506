"""The Leonardo lifecycle through the official npm SDK (`@leonardo-ai/sdk@4.21.3`), against the real server.

The npm SDK validates every response with zod and is strict where the Python SDK is lenient: closed
enums, integers, non-null fields. `tests/npm/lifecycle.mjs` drives it; any response the SDK refuses
makes the script exit non-zero with the zod error and the raw JSON, and this test fails with that output.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TINY_MODEL_ID, Server
from tests.support.npm import run_script

pytestmark = pytest.mark.both_modes


def test_npm_sdk_accepts_the_whole_lifecycle(server: Server) -> None:
    key: dict[str, Any] = server.create_key("npm-sdk")
    env = {
        "SFUMATO_API_URL": server.api_url,
        "SFUMATO_API_KEY": key["apiKey"],
        "SFUMATO_USER_ID": key["userId"],
        "SFUMATO_MODEL_ID": TINY_MODEL_ID,
    }
    result = run_script("lifecycle.mjs", env)
    assert result.returncode == 0, (
        f"the npm SDK rejected the lifecycle (exit {result.returncode}):\n{result.stderr}\n{result.stdout}"
    )

    lines = result.stdout.strip().splitlines()
    assert lines, f"lifecycle.mjs printed no summary:\n{result.stderr}"
    summary = json.loads(lines[-1])
    assert summary["ok"] is True
    assert summary["status"] == "COMPLETE"
    assert summary["imageCount"] == 1
    assert summary["imageWidth"] == 64 and summary["imageHeight"] == 64
    assert summary["userId"] == key["userId"]
    assert summary["modelListed"] is True and summary["models"] >= 1
    assert summary["deletedId"] == summary["generationId"]
    assert summary["afterDelete"] is None
    assert summary["steps"] == [
        "createGeneration",
        "getGenerationById",
        "getGenerationsByUserId",
        "getUserSelf",
        "listPlatformModels",
        "deleteGenerationById",
        "getGenerationById(deleted)",
    ]
