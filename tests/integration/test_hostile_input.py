"""Hostile input against the real server: each case gets Leonardo's 4xx body (naming the field
where there is one), never a 500, and the same keep-alive connection serves the next request."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_MODEL_ID, Server, tiny_request, wait_for_generation
from tests.support.polling import poll_until
from tests.support.raw_http import KeepAliveConnection

ARGS = "$.selectionSet.sdGenerationJob.args.arg1"
API = "/api/rest/v1"
TINY = f'"modelId": "{TINY_MODEL_ID}"'
IDLE_TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def api_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No worker (nothing renders), a short body timeout, and room under the rate limit."""
    server = Server(
        tmp_path_factory.mktemp("hostile"),
        env={
            "SFUMATO_WORKER_THREADS": "0",
            "SFUMATO_BODY_READ_TIMEOUT_S": str(IDLE_TIMEOUT_S),
            "SFUMATO_KEY_RATE_PER_MINUTE": "100000",
            "SFUMATO_KEY_QUEUE_CAP": "100000",
        },
    )
    with server.running():
        yield server


@pytest.fixture(scope="module")
def key(api_only: Server) -> dict[str, Any]:
    return api_only.create_key("hostile")


def _json(status: int, body: bytes) -> dict[str, Any]:
    parsed = json.loads(body)
    assert isinstance(parsed, dict), body
    if status >= 400:
        assert set(parsed) == {"error", "path", "code"}, parsed
    return parsed


# (name, raw body, expected status, expected path or None, words in the message)
BODIES = [
    ("deep nesting", b"[" * 1000 + b"]" * 1000, 400, "$", "nests deeper"),
    ("deep object", b'{"prompt": ' + b'{"a": ' * 900 + b"1" + b"}" * 900 + b"}", 400, "$", "nests deeper"),
    (
        "5000-digit integer",
        f'{{"prompt": "x", {TINY}, "seed": {"9" * 5000}}}'.encode(),
        400,
        f"{ARGS}.seed",
        "out of range",
    ),
    ("seed 10**400", f'{{"prompt": "x", {TINY}, "seed": 1{"0" * 400}}}'.encode(), 400, f"{ARGS}.seed", "out of range"),
    (
        "steps 10**400",
        f'{{"prompt": "x", {TINY}, "num_inference_steps": 1{"0" * 400}}}'.encode(),
        400,
        f"{ARGS}.num_inference_steps",
        "out of range",
    ),
    ("width 2**64", f'{{"prompt": "x", {TINY}, "width": {2**64}}}'.encode(), 400, f"{ARGS}.width", "out of range"),
    (
        "guidance 1e400",
        f'{{"prompt": "x", {TINY}, "guidance_scale": 1e400}}'.encode(),
        400,
        f"{ARGS}.guidance_scale",
        "out of range",
    ),
    ("NaN", f'{{"prompt": "x", {TINY}, "guidance_scale": NaN}}'.encode(), 400, "$", "NaN"),
    ("surrogate in prompt", f'{{"prompt": "a \\ud800 b", {TINY}}}'.encode(), 400, f"{ARGS}.prompt", "surrogate"),
    (
        "surrogate in negative_prompt",
        f'{{"prompt": "a", "negative_prompt": "\\udfff", {TINY}}}'.encode(),
        400,
        f"{ARGS}.negative_prompt",
        "surrogate",
    ),
    ("surrogate in a key", b'{"prompt": "a", "\\ud800": 1}', 400, ARGS, "surrogate"),
    ("NUL in prompt", f'{{"prompt": "a\\u0000b", {TINY}}}'.encode(), 400, f"{ARGS}.prompt", "NUL"),
    ("invalid UTF-8", b'{"prompt": "\xed\xa0\x80"}', 400, "$", "UTF-8"),
    (
        "negative_prompt 1501",
        json.dumps({"prompt": "a", "negative_prompt": "n" * 1501, "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.negative_prompt",
        "1500 characters",
    ),
    (
        "prompt 1501",
        json.dumps({"prompt": "p" * 1501, "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.prompt",
        "1500 characters",
    ),
    (
        "zero-width prompt",
        json.dumps({"prompt": "\u200b\u200c\u2060\ufeff", "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.prompt",
        "empty",
    ),
    (
        "control-character prompt",
        json.dumps({"prompt": "\x01\x02\x1f\x7f", "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.prompt",
        "empty",
    ),
    (
        "negative seed",
        json.dumps({"prompt": "a", "seed": -1, "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.seed",
        "between 0 and 4294967295",
    ),
    (
        "seed 2**32",
        json.dumps({"prompt": "a", "seed": 2**32, "modelId": TINY_MODEL_ID}).encode(),
        400,
        f"{ARGS}.seed",
        "between 0 and 4294967295",
    ),
    ("not JSON", b"{prompt: a}", 400, "$", "not valid JSON"),
    ("a JSON array", b"[1, 2]", 400, "$", "JSON object"),
]


@pytest.mark.parametrize(("name", "body", "status", "path", "words"), BODIES, ids=[case[0] for case in BODIES])
def test_hostile_bodies_get_a_leonardo_4xx_and_the_connection_stays_open(
    api_only: Server, key: dict[str, Any], name: str, body: bytes, status: int, path: str, words: str
) -> None:
    headers = {"Authorization": f"Bearer {key['apiKey']}", "Content-Type": "application/json"}
    with KeepAliveConnection("127.0.0.1", api_only.port) as connection:
        answer = connection.request("POST", f"{API}/generations", headers, body)
        error = _json(answer.status, answer.body)
        assert (answer.status, error["path"]) == (status, path), error
        assert words in error["error"], error
        assert "connection" not in answer.headers or answer.headers["connection"] != "close"
        # The same connection answers the next request.
        again = connection.request("GET", f"{API}/me", {"Authorization": f"Bearer {key['apiKey']}"})
        assert again.status == 200, again.body


def test_the_sdk_traffic_still_works_next_to_it(api_only: Server, key: dict[str, Any]) -> None:
    """The cases above are refused for what they are, not because creates are broken."""
    created = api_only.sdk(key["apiKey"]).image.create_generation(request=tiny_request())
    assert created.object is not None and created.object.sd_generation_job is not None


@pytest.mark.parametrize(
    ("target", "status", "words"),
    [
        ("/generations/user/{user}?offset=" + str(2**63), 400, "offset"),
        ("/generations/user/{user}?offset=" + "9" * 5000, 400, "offset"),
        ("/generations/user/{user}?offset=-1", 400, "offset"),
        ("/generations/user/{user}?limit=" + str(2**64), 400, "limit"),
        ("/generations/user/{user}?offset=" + str(2**63 - 1), 200, ""),
        ("/generations/" + "a" * 5000, 400, "uuid"),
    ],
)
def test_hostile_queries_and_paths(api_only: Server, key: dict[str, Any], target: str, status: int, words: str) -> None:
    with KeepAliveConnection("127.0.0.1", api_only.port) as connection:
        answer = connection.request(
            "GET", API + target.format(user=key["userId"]), {"Authorization": f"Bearer {key['apiKey']}"}
        )
        body = _json(answer.status, answer.body)
        assert answer.status == status, body
        assert words in body.get("error", ""), body
        assert connection.request("GET", "/healthz").status == 200


def test_files_refuse_long_names_and_symlinks_out_of_the_store(api_only: Server, tmp_path: Path) -> None:
    images = api_only.data_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not yours")
    (images / "link.png").symlink_to(secret)
    (images / "linkdir").symlink_to(tmp_path, target_is_directory=True)
    with KeepAliveConnection("127.0.0.1", api_only.port) as connection:
        for target in (
            "/files/" + "a" * 5000,
            "/files/" + "/".join(["b" * 255] * 30),
            "/files/link.png",
            "/files/linkdir/secret.png",
            "/files/%2e%2e/sfumato.db",
            "/files/users/../../sfumato.db",
        ):
            for method in ("GET", "HEAD"):
                answer = connection.request(method, target)
                assert answer.status == 404, (method, target[:80], answer.status)
                assert secret.read_bytes() not in answer.body
                if method == "GET":
                    assert _json(answer.status, answer.body)["code"] == "not-found"


def test_head_works_where_get_does_and_allow_lists_every_method(server: Server, alice: dict[str, Any]) -> None:
    auth = {"Authorization": f"Bearer {alice['apiKey']}"}
    created = server.sdk(alice["apiKey"]).image.create_generation(request=tiny_request())
    assert created.object is not None and created.object.sd_generation_job is not None
    generation_id = created.object.sd_generation_job.generation_id
    assert generation_id is not None
    with server.http(alice["apiKey"]) as client:
        done = wait_for_generation(client, generation_id)
    assert done["status"] == "COMPLETE", done
    image_path = "/" + done["generated_images"][0]["url"].split("/", 3)[3]
    with KeepAliveConnection("127.0.0.1", server.port) as connection:
        for target, headers in (
            (image_path, {}),
            (f"{API}/generations/{generation_id}", auth),
            (f"{API}/me", auth),
            ("/healthz", {}),
        ):
            got = connection.request("GET", target, headers)
            head = connection.request("HEAD", target, headers)
            assert (got.status, head.status) == (200, 200), target
            assert head.body == b"" and head.headers["content-length"] == str(len(got.body))
            assert head.headers["content-type"] == got.headers["content-type"]
        wrong = connection.request("PUT", f"{API}/generations/{generation_id}", auth)
        assert wrong.status == 405
        assert wrong.headers["allow"] == "DELETE, GET, HEAD"
        assert _json(wrong.status, wrong.body)["error"] == "Allowed methods: DELETE, GET, HEAD"
        assert connection.request("PATCH", f"{API}/generations", auth).headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("multipart/form-data; boundary=x", 415),
        ("application/json; charset=utf-8", 200),
        ("application/vnd.api+json", 200),
        (None, 200),
    ],
)
def test_content_types(api_only: Server, key: dict[str, Any], content_type: str | None, status: int) -> None:
    headers = {"Authorization": f"Bearer {key['apiKey']}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = json.dumps({"prompt": "a lighthouse", "modelId": TINY_MODEL_ID, "width": 64, "height": 64}).encode()
    with KeepAliveConnection("127.0.0.1", api_only.port) as connection:
        answer = connection.request("POST", f"{API}/generations", headers, body)
        assert answer.status == status, answer.body
        if status == 415:
            assert "application/json" in _json(answer.status, answer.body)["error"]
        assert connection.request("GET", "/healthz").status == 200


def test_errors_before_the_body_is_read_keep_the_connection(api_only: Server, key: dict[str, Any]) -> None:
    """401 (auth before body) and 413 (declared too large) answer without reading the body; the
    connection must still serve the next request once the client has sent it."""
    with KeepAliveConnection("127.0.0.1", api_only.port) as connection:
        body = json.dumps({"prompt": "x" * 5000}).encode()
        assert connection.request("POST", f"{API}/generations", {"Authorization": "Bearer nope"}, body).status == 401
        assert connection.request("GET", "/healthz").status == 200
        big = b'{"prompt": "' + b"x" * (1024 * 1024 + 10) + b'"}'
        headers = {"Authorization": f"Bearer {key['apiKey']}", "Content-Type": "application/json"}
        assert connection.request("POST", f"{API}/generations", headers, big).status == 413
        assert connection.request("GET", "/healthz").status == 200


def test_a_stalled_body_gets_408_and_the_connection_is_closed(api_only: Server, key: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {key['apiKey']}", "Content-Type": "application/json"}
    with KeepAliveConnection("127.0.0.1", api_only.port, timeout_s=IDLE_TIMEOUT_S * 20) as connection:
        connection.send_head("POST", f"{API}/generations", headers, content_length=100)
        connection.send_raw(b'{"prompt": ')  # ...and nothing more
        answer = connection.read_response()
        assert answer.status == 408
        assert "stopped arriving" in _json(answer.status, answer.body)["error"]
        assert answer.headers.get("connection") == "close"
        assert connection.server_closed()


def test_a_client_that_hangs_up_mid_body_is_not_an_error(api_only: Server, key: dict[str, Any]) -> None:
    assert api_only.log_path is not None
    before = api_only.log_path.read_text()
    headers = {"Authorization": f"Bearer {key['apiKey']}", "Content-Type": "application/json"}
    connection = KeepAliveConnection("127.0.0.1", api_only.port)
    connection.send_head("POST", f"{API}/generations", headers, content_length=1000)
    connection.send_raw(b'{"prompt": "half')
    time.sleep(0.2)
    connection.close()
    log_path = api_only.log_path

    def noticed() -> bool:
        return "client disconnected" in log_path.read_text()[len(before) :]

    poll_until(noticed, timeout_s=30, interval_s=0.1, message="the server never noticed the hang-up")
    added = api_only.log_path.read_text()[len(before) :]
    assert " ERROR " not in added and "Traceback" not in added, added


def test_no_case_above_left_a_traceback_in_the_log(api_only: Server) -> None:
    """Runs last in this module: every refusal above is a 4xx, so the server logged no error."""
    assert api_only.log_path is not None
    log = api_only.log_path.read_text()
    assert "Traceback" not in log and " ERROR " not in log, log[-5000:]
    assert os.path.getsize(api_only.log_path) > 0
