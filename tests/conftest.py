"""Shared fixtures: a real Sfumato server on a free port, keys made by the real CLI, and
the official Leonardo Python SDK pointed at it. No mocks of our own code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from tests.support.modes import MODES, Deployments
from tests.support.server import TINY_MODEL_ID, Server, run_cli, wait_for_generation

__all__ = ["TINY_MODEL_ID", "Server", "run_cli", "tiny_request", "to_wire", "wait_for_generation"]

# One torch thread in the test process, as the test servers get (SFUMATO_TORCH_THREADS=1): on a
# busy 2-core machine two threads per process contend and run several times slower.
torch.set_num_threads(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_modes` run against the embedded server and against a scale-out deployment
    (ids `test_x[embedded]`, `test_x[scaleout]`); the others get the embedded server only."""
    if "deployment_mode" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_modes"):
        metafunc.parametrize("deployment_mode", MODES, scope="module")


@pytest.fixture(scope="module")
def deployment_mode() -> str:
    """The unmarked tests' mode; `pytest_generate_tests` parametrizes it for `both_modes` tests."""
    return "embedded"


@pytest.fixture(scope="session")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployments]:
    """The session's servers, each started on first use and kept for the session."""
    with Deployments(tmp_path_factory) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(deployments: Deployments, deployment_mode: str) -> Server:
    """One server for the read-mostly tests; tests that restart servers make their own."""
    return deployments.server(deployment_mode)


@pytest.fixture(scope="module")
def alice(deployments: Deployments, deployment_mode: str) -> dict[str, Any]:
    return deployments.key(deployment_mode, "alice")


@pytest.fixture(scope="module")
def bob(deployments: Deployments, deployment_mode: str) -> dict[str, Any]:
    return deployments.key(deployment_mode, "bob")


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
