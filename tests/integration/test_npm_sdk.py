"""The Leonardo lifecycle through the official npm SDK (`@leonardo-ai/sdk@4.21.3`), against the real server.

The npm SDK validates every response with zod and is strict where the Python SDK is lenient: closed
enums, integers, non-null fields. `tests/npm/lifecycle.mjs` drives it; any response the SDK refuses
makes the script exit non-zero with the zod error and the raw JSON, and this test fails with that output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_MODEL_ID, Server

NPM_DIR = Path(__file__).resolve().parents[1] / "npm"
SDK_PACKAGE = NPM_DIR / "node_modules" / "@leonardo-ai" / "sdk" / "package.json"
SDK_VERSION = "4.21.3"


def require_tools() -> tuple[str, str]:
    """`node` and `npm`, or skip; CI (SFUMATO_REQUIRE_SERVICES=1) fails instead of skipping."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = ", ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        reason = f"{missing} not found on PATH: the npm SDK check needs Node.js >= 18 and npm"
        if os.environ.get("SFUMATO_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (SFUMATO_REQUIRE_SERVICES=1, so this is not skipped)")
        pytest.skip(reason)
    return node, npm


def install_sdk(npm: str) -> None:
    """`npm ci` from the committed lockfile, unless the pinned SDK is already installed."""
    if SDK_PACKAGE.exists() and json.loads(SDK_PACKAGE.read_text())["version"] == SDK_VERSION:
        return
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=NPM_DIR, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    assert json.loads(SDK_PACKAGE.read_text())["version"] == SDK_VERSION


def test_npm_sdk_accepts_the_whole_lifecycle(server: Server) -> None:
    node, npm = require_tools()
    install_sdk(npm)
    key: dict[str, Any] = server.create_key("npm-sdk")
    env = {
        **os.environ,
        "SFUMATO_API_URL": server.api_url,
        "SFUMATO_API_KEY": key["apiKey"],
        "SFUMATO_USER_ID": key["userId"],
        "SFUMATO_MODEL_ID": TINY_MODEL_ID,
    }
    result = subprocess.run(
        [node, str(NPM_DIR / "lifecycle.mjs")], cwd=NPM_DIR, env=env, capture_output=True, text=True, timeout=300
    )
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
