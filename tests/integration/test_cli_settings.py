"""Settings a machine cannot honour stop `sfumato serve` with one clear line and exit 2, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import free_port


def serve(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # A free port: `serve` binds it before it checks the engine settings.
        [sys.executable, "-m", "sfumato", "serve", "--data-dir", str(data_dir), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SFUMATO_DEVICE": "cpu", **env},
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SFUMATO_FAST_MODE": "fp8"}, "SFUMATO_FAST_MODE=off"),
        ({"SFUMATO_MEMORY_PLAN": "model_offload"}, "SFUMATO_MEMORY_PLAN=auto or none"),
        ({"SFUMATO_MEMORY_PLAN": "bogus"}, "invalid setting SFUMATO_MEMORY_PLAN"),
        ({"SFUMATO_DTYPE": "int8"}, "invalid setting SFUMATO_DTYPE"),
    ],
)
def test_unusable_engine_settings_are_refused_at_start(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    result = serve(tmp_path, **env)
    assert result.returncode == 2, result.stderr
    stderr = " ".join(result.stderr.split())  # rich wraps long lines
    assert expected in stderr
    assert "Traceback" not in result.stderr and "╭" not in result.stderr
