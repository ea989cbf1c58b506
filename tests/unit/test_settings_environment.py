"""`Settings.as_environment()`: the worker process `serve` supervises builds its settings from only
these variables, so they must round-trip to exactly the server's settings, whatever their source."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from sfumato.config import Settings
from sfumato.jobs.worker_process import child_environment

# A value other than the default in every group, of every kind a setting has: int, float, bool,
# Literal, optional str, optional int, Path, and a secret.
EXPLICIT: dict[str, Any] = {
    "port": 9123,
    "database_busy_timeout_s": 2.5,
    "worker_threads": 3,
    "job_lease_s": 45.0,
    "job_max_attempts": 7,
    "worker_process": False,
    "queue": "celery",
    "broker_url": "redis://127.0.0.1:6379/3",
    "key_queue_cap": 12,
    "upload_fetch_urls": True,
    "storage": "s3",
    "s3_bucket": "pictures",
    "webhook_backoff_scale": 0.01,
    "device": "cpu",
    "torch_threads": 2,
    "model_cache_host_bytes": 123456789,
    "dtype": "float32",
    "torch_compile": True,
    "allow_downloads": False,
    "price_alchemy_multiplier": 3.0,
    "llm_base_url": "http://127.0.0.1:11434/v1",
    "llm_model": "tiny",
    "llm_api_key": "sk-secret with spaces",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SFUMATO_"):
            monkeypatch.delenv(name)


def _from_environment(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> Settings:
    """A Settings built from nothing but `environment`, as the child builds its own."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_explicit_settings_round_trip_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = tmp_path / "my catalog.toml"
    original = Settings(data_dir=tmp_path / "data", **{**EXPLICIT, "catalog_file": catalog})
    environment = original.as_environment()
    assert all(name.startswith("SFUMATO_") for name in environment)
    rebuilt = _from_environment(monkeypatch, environment)
    assert rebuilt == original
    assert rebuilt.models.catalog_file == catalog and rebuilt.llm.api_key == "sk-secret with spaces"


def test_a_relative_data_dir_reaches_the_child_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child may run in another directory: it gets the data dir the server resolved."""
    monkeypatch.chdir(tmp_path)
    original = Settings(data_dir=Path("relative-data"))
    rebuilt = _from_environment(monkeypatch, original.as_environment())
    assert rebuilt.data_dir == tmp_path / "relative-data"
    assert rebuilt.model_copy(update={"data_dir": original.data_dir}) == original
    assert rebuilt.sqlalchemy_url == original.sqlalchemy_url


def test_a_config_file_s_values_reach_the_child_without_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file named by SFUMATO_CONFIG_FILE is read once, by the server; the child gets its values
    as variables (and no SFUMATO_CONFIG_FILE, so a file edited meanwhile cannot split the two)."""
    config = tmp_path / "sfumato.toml"
    config.write_text('[jobs]\nlease_s = 30\nmax_attempts = 5\n[engine]\ndtype = "float32"\n')
    monkeypatch.setenv("SFUMATO_CONFIG_FILE", str(config))
    monkeypatch.setenv("SFUMATO_WORKER_THREADS", "2")
    original = Settings(data_dir=tmp_path / "data")
    environment = child_environment(original)
    assert "SFUMATO_CONFIG_FILE" not in environment
    assert environment.get("PATH") == os.environ.get("PATH")  # the rest of the environment is inherited
    monkeypatch.delenv("SFUMATO_CONFIG_FILE")
    monkeypatch.delenv("SFUMATO_WORKER_THREADS")
    config.write_text("[jobs]\nlease_s = 1\n")
    rebuilt = _from_environment(monkeypatch, {k: v for k, v in environment.items() if k.startswith("SFUMATO_")})
    assert rebuilt == original
    assert rebuilt.jobs.lease_s == 30.0 and rebuilt.jobs.worker_threads == 2 and rebuilt.engine.dtype == "float32"


def test_defaults_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(data_dir=tmp_path)
    assert _from_environment(monkeypatch, original.as_environment()) == original
