"""`sfumato worker` refuses options it cannot honour with one line and exit 2, before it loads
anything: a model not in the catalog, or no threads to run jobs on."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sfumato.cli import app


def test_unknown_models_are_refused_by_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["worker", "--data-dir", str(tmp_path), "--models", "no-such-model"])
    assert result.exit_code == 2
    assert "no-such-model" in result.output and "sfumato models list" in result.output


def test_a_worker_without_threads_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["worker", "--data-dir", str(tmp_path), "--concurrency", "0"])
    assert result.exit_code == 2
    assert "--concurrency" in result.output
