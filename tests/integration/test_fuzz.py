"""Property: whatever a client sends to whichever route, the real server answers below 500 with
a JSON body (Leonardo's `{"error","path","code"}` for every 4xx; OpenAI's `{"error": {...}}` under
`/v1`), and keeps the connection.

Bounded for CI (`SFUMATO_FUZZ_EXAMPLES`, default 200 bodies and 200 requests), derandomized so a
failure reproduces. The reproduced crash cases of issue #9 are explicit examples.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import TINY_MODEL_ID, Server
from tests.support.raw_http import KeepAliveConnection

API = "/api/rest/v1"
EXAMPLES = int(os.environ.get("SFUMATO_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Names the generation body knows (so cases reach the validators, not only "Unexpected variable").
FIELDS = [
    "prompt",
    "negative_prompt",
    "modelId",
    "sd_version",
    "width",
    "height",
    "num_images",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "scheduler",
    "presetStyle",
    "styleUUID",
    "alchemy",
    "public",
    "photoReal",
    "controlnets",
    "elements",
    "init_strength",
    "contrast",
    "transparency",
    "canvasRequestType",
    "imagePrompts",
    "userElements",
]
AWKWARD_TEXT = [
    "",
    " ",
    "\x00",
    "\ud800",
    "\udfff",
    "a\ud83e",
    "\u200b",
    "\ufeff",
    "\x7f",
    "x" * 1501,
    "DYNAMIC",
    TINY_MODEL_ID,
    "../../etc/passwd",
    "%00",
    "💥" * 10,
]
AWKWARD_NUMBERS = [0, -1, 2**31, 2**32, 2**63, -(2**63) - 1, 2**64, 10**400, 1e308, -1e308, 0.5, 7.0, 1e-320]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(AWKWARD_NUMBERS),
    st.text(max_size=40),
    st.sampled_from(AWKWARD_TEXT),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.fixed_dictionaries({"prompt": scalars}, optional={name: values for name in FIELDS[1:]}),
    st.fixed_dictionaries(
        {"prompt": st.just("a fox"), "modelId": st.just(TINY_MODEL_ID)},
        optional={name: values for name in FIELDS if name not in ("prompt", "modelId")},
    ),
    values,
)
# Bytes no JSON encoder would write.
RAW_BODIES = [
    b"[" * 1000 + b"]" * 1000,
    b'{"prompt": "x", "seed": ' + b"9" * 5000 + b"}",
    b'{"prompt": "x", "seed": 1' + b"0" * 400 + b"}",
    b'{"prompt": "x", "num_inference_steps": 1' + b"0" * 400 + b"}",
    b'{"prompt": "x", "guidance_scale": Infinity}',
    b'{"prompt": "x", "guidance_scale": 1e999}',
    b'{"prompt": "\xff\xfe"}',
    b'{"prompt": "x"',
    b"\x00\x00\x00",
    b'{"prompt": "a", "prompt": "b"}',
]


def encode(value: Any) -> bytes:
    """ASCII JSON: lone surrogates travel as `\\ud800` escapes, as a JavaScript client sends them."""
    return json.dumps(value, ensure_ascii=True).encode()


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("fuzz"),
        # The web page off: `/{0}` with a segment such as `?x` is GET /, the page's HTML (test_web_ui.py), not JSON.
        env={
            "SFUMATO_WORKER_THREADS": "0",
            "SFUMATO_KEY_RATE_PER_MINUTE": "100000",
            "SFUMATO_KEY_QUEUE_CAP": "100000",
            "SFUMATO_WEB_UI": "false",
        },
    )
    with server.running():
        yield server


@pytest.fixture(scope="module")
def connection(fuzzed: Server) -> Iterator[KeepAliveConnection]:
    """One connection for the whole module: a server that dropped it after any answer fails the run."""
    with KeepAliveConnection("127.0.0.1", fuzzed.port) as held:
        yield held


@pytest.fixture(scope="module")
def auth(fuzzed: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzzed.create_key('fuzz')['apiKey']}"}


def check(status: int, body: bytes, method: str, path: str = "") -> None:
    assert status < 500, (status, body[:300])
    if method == "HEAD":
        return
    parsed = json.loads(body)
    assert isinstance(parsed, dict), body[:300]
    if status >= 400 and path.startswith("/v1/"):  # the OpenAI door answers OpenAI's error body
        assert set(parsed) == {"error"} and set(parsed["error"]) == {"message", "type", "param", "code"}, parsed
        assert isinstance(parsed["error"]["message"], str) and parsed["error"]["message"], parsed
    elif status >= 400:
        assert set(parsed) == {"error", "path", "code"}, parsed
        assert isinstance(parsed["error"], str) and parsed["error"], parsed


@FUZZ
@given(body=st.one_of(bodies.map(encode), st.sampled_from(RAW_BODIES), st.binary(max_size=64)))
@example(body=b'{"prompt": "x\\ud800"}')
@example(body=b'{"prompt": "ok", "negative_prompt": "\\udc00"}')
@example(body=b'{"prompt": "\\u0000"}')
@example(body=b'{"prompt": "x", "transparency": 1' + b"0" * 400 + b"}")  # an enum given a huge number
@example(body=encode({"prompt": "a", "negative_prompt": "n" * 100_000}))
@example(body=encode({"prompt": "a", "modelId": TINY_MODEL_ID, "seed": 10**400}))
def test_any_generation_body_gets_a_json_answer_below_500(
    connection: KeepAliveConnection, auth: dict[str, str], body: bytes
) -> None:
    answer = connection.request("POST", f"{API}/generations", {**auth, "Content-Type": "application/json"}, body)
    check(answer.status, answer.body, "POST")


segments = st.one_of(
    st.uuids().map(str),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.sampled_from(["a" * 5000, "%00", "%ed%a0%80", "..", "%2e%2e", "null", "-1", str(2**64)]),
)
ROUTES = ["/generations", "/generations/{0}", "/generations/user/{0}", "/me", "/platformModels", "/models/{0}",
          "/generations/{0}/events"]  # fmt: skip
# The OpenAI door's routes (its own JSON error shape, still JSON and below 500).
OPENAI_ROUTES = ["/v1/images/generations", "/v1/images/edits", "/v1/models", "/v1/models/{0}"]


@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]),
    route=st.sampled_from(
        [API + route for route in ROUTES]
        + OPENAI_ROUTES
        + ["/files/{0}", "/files/users/{0}/x.png", "/healthz", "/{0}"]
    ),
    segment=segments,
    query=st.dictionaries(
        st.sampled_from(["offset", "limit", "x"]),
        st.sampled_from(["0", "-1", "abc", str(2**63), "9" * 5000, ""]),
        max_size=2,
    ),
    body=st.one_of(st.just(b""), bodies.map(encode), st.sampled_from(RAW_BODIES)),
    with_key=st.booleans(),
)
def test_any_request_to_any_route_gets_a_json_answer_below_500(
    connection: KeepAliveConnection, auth: dict[str, str], method: str, route: str, segment: str,
    query: dict[str, str], body: bytes, with_key: bool,
) -> None:  # fmt: skip
    target = route.format(segment) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    headers = {**(auth if with_key else {}), "Content-Type": "application/json"}
    answer = connection.request(method, target, headers, body)
    check(answer.status, answer.body, method, target)


def test_the_fuzzing_left_no_traceback(fuzzed: Server, connection: KeepAliveConnection) -> None:
    assert connection.request("GET", "/healthz").status == 200
    assert fuzzed.log_path is not None
    log = fuzzed.log_path.read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-5000:]
