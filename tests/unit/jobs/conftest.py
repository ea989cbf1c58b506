"""The jobs tests' container: an API-only one on a fresh data dir (nothing renders unless a test runs a job)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sfumato.config import Settings
from sfumato.container import Container, build_container


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    container = build_container(Settings(data_dir=tmp_path, worker_threads=0), with_worker=False)
    yield container
    container.close()
