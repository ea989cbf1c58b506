"""The two ways the integration suite runs the Leonardo contract (issue #14): the embedded default
(one `sfumato serve` on SQLite and local files) and a scale-out deployment (an API-only server on
PostgreSQL with S3 images, and a Celery worker process on RabbitMQ, Celery's recommended broker).

Each is started once, on first use, and kept for the session: the scale-out pass costs one
deployment, not one per module. Without its services the scale-out mode skips (fails in CI,
`SFUMATO_REQUIRE_SERVICES=1`), as every service-backed test does.

Modules about the contract carry `pytestmark = pytest.mark.both_modes`. Embedded-only on purpose:
init_images and npm_upload (the local store's /uploads form and /files URLs; S3: test_s3_storage),
catalog_cli, durability, workers, hostile_input (CLI on the data dir, restarts, in-process workers,
the embedded server's socket handling); sdk_defaults, webhooks, families_api and schemathesis make
servers of their own.
"""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import Any

import pytest

from tests.support.scaleout import Deployment, scaleout_environment
from tests.support.server import Server

MODES = ["embedded", "scaleout"]
SCALEOUT_BROKER = "rabbitmq"  # Redis is covered by the Celery and chaos tests


class Deployments:
    """The session's servers by mode, and the keys made on each (one `alice` per mode)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._stack = ExitStack()
        self._servers: dict[str, Server] = {}
        self._keys: dict[tuple[str, str], dict[str, Any]] = {}
        self._failed: dict[str, BaseException] = {}

    def __enter__(self) -> Deployments:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stack.close()

    def server(self, mode: str) -> Server:
        """The mode's API server, started the first time a test asks for it."""
        if mode in self._failed:  # one failed start, not one per module
            raise self._failed[mode]
        if mode not in self._servers:
            try:
                self._servers[mode] = self._start(mode)
            except Exception as error:  # a skip or fail (no services) is no Exception: asked again, cheaply
                self._failed[mode] = error
                raise
        return self._servers[mode]

    def key(self, mode: str, name: str) -> dict[str, Any]:
        """A key made once per mode by the real CLI (against the mode's database)."""
        if (mode, name) not in self._keys:
            self._keys[(mode, name)] = self.server(mode).create_key(name)
        return self._keys[(mode, name)]

    def _start(self, mode: str) -> Server:
        if mode == "embedded":
            return self._stack.enter_context(Server(self._tmp.mktemp("sfumato-data")).running())
        if mode != "scaleout":
            raise ValueError(f"unknown deployment mode {mode!r}")
        env, bucket = self._stack.enter_context(scaleout_environment(SCALEOUT_BROKER))
        deployment = Deployment(self._tmp.mktemp("sfumato-scaleout"), env, bucket, workers=1)
        self._stack.callback(deployment.stop)
        deployment.start()
        return deployment.server
