"""Shared fixtures: a real Sfumato server on a free port, keys made by the real CLI, and
the official Leonardo Python SDK pointed at it. No mocks of our own code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from tests.support.server import TINY_MODEL_ID, Server, run_cli, wait_for_generation

__all__ = ["TINY_MODEL_ID", "Server", "run_cli", "tiny_request", "to_wire", "wait_for_generation"]

# One torch thread in the test process, as the test servers get (SFUMATO_TORCH_THREADS=1): on a
# busy 2-core machine two threads per process contend and run several times slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the read-mostly tests; tests that restart servers make their own."""
    with Server(tmp_path_factory.mktemp("sfumato-data")).running() as instance:
        yield instance


@pytest.fixture(scope="session")
def alice(server: Server) -> dict[str, Any]:
    return server.create_key("alice")


@pytest.fixture(scope="session")
def bob(server: Server) -> dict[str, Any]:
    return server.create_key("bob")


def tiny_request(**overrides: Any) -> dict[str, Any]:
    """A small, fast request for the built-in model, in the SDK's snake_case names.

    No presetStyle: the SDK fills its default (DYNAMIC) as it does for every real user.
    """
    request: dict[str, Any] = {
        "prompt": "a lighthouse at dusk",
        "model_id": TINY_MODEL_ID,
        "width": 64,
        "height": 64,
        "num_images": 1,
        "num_inference_steps": 10,
        "alchemy": False,
    }
    request.update(overrides)
    return request


# The SDK fields whose wire name is camelCase; the others go out in snake_case (behaviour doc §10).
_CAMEL_ON_THE_WIRE = {"model_id": "modelId", "preset_style": "presetStyle", "photo_real": "photoReal"}


def to_wire(request: dict[str, Any]) -> dict[str, Any]:
    """A request in the SDK's names as a raw HTTP body: the names the SDK puts on the wire."""
    return {_CAMEL_ON_THE_WIRE.get(name, name): value for name, value in request.items()}
