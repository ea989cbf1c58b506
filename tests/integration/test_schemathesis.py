"""Schemathesis drives Leonardo's seed spec against the real server: no 5xx, responses match
the spec's schemas and content types, and auth is never ignored.

Examples per operation: SFUMATO_SCHEMATHESIS_EXAMPLES (default 25). The server runs with no
worker, so the many generations the fuzzer creates only queue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Server

SPECS = Path(__file__).resolve().parents[3] / "shared" / "spec"
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,ignored_auth"
# (spec file, the operations of it that Sfumato serves today)
TARGETS = [
    ("leonardo-image-generation.openapi.json", r"^/generations"),
    ("leonardo-user.openapi.json", r"^/me$"),
    ("leonardo-models.openapi.json", r"^/(platformModels|models/\{id\})$"),
    ("leonardo-variation.openapi.json", r"^/variations/(upscale|nobg|unzoom|universal-upscaler|\{id\})$"),
    ("leonardo-pricing-calculator.openapi.json", r"^/pricing-calculator$"),
    ("leonardo-elements.openapi.json", r"^/elements"),
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("fuzz"), env={"SFUMATO_WORKER_THREADS": "0"}).running() as server:
        yield server


@pytest.mark.parametrize(("spec", "paths"), TARGETS, ids=[t[0] for t in TARGETS])
def test_spec_conformance(fuzz_server: Server, spec: str, paths: str) -> None:
    if not (SPECS / spec).is_file():
        pytest.skip(f"seed spec not found beside the checkout: {SPECS / spec}")
    key = fuzz_server.create_key("fuzzer")["apiKey"]
    examples = os.environ.get("SFUMATO_SCHEMATHESIS_EXAMPLES", "25")
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(SPECS / spec), "--url", fuzz_server.api_url,
        "--header", f"Authorization: Bearer {key}", "--checks", CHECKS, "--max-examples", examples,
        "--include-path-regex", paths, "--generation-deterministic", "--no-color",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
