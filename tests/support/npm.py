"""The official npm SDK (`@leonardo-ai/sdk`, pinned by tests/npm/package-lock.json) for tests:
find Node.js, install the pinned SDK, run a script of tests/npm against a server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


def run_script(script: str, env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `tests/npm/<script>` with the pinned SDK installed; skips where Node.js is missing."""
    node, npm = require_tools()
    install_sdk(npm)
    return subprocess.run(
        [node, str(NPM_DIR / script)],
        cwd=NPM_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
