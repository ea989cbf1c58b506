"""Bad input gets Leonardo's error body with a clear message — never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TINY_MODEL_ID, Server

pytestmark = pytest.mark.both_modes

ARGS = "$.selectionSet.sdGenerationJob.args.arg1"
OK = {"prompt": "a fox", "modelId": TINY_MODEL_ID, "width": 64, "height": 64, "num_images": 1}

# (case, body, expected code, expected path, words the message must contain)
BAD_BODIES: list[tuple[str, Any, str, str, str]] = [
    ("wrong type bool", {**OK, "photoReal": "true"}, "validation-failed", f"{ARGS}.photoReal",
     "expected a boolean for type 'Boolean', but found a string"),
    ("missing prompt", {"modelId": TINY_MODEL_ID}, "validation-failed", f"{ARGS}.prompt",
     'expecting a value for non-nullable variable: "prompt"'),
    ("null prompt", {**OK, "prompt": None}, "validation-failed", f"{ARGS}.prompt", "non-nullable"),
    ("unknown key", {**OK, "sd_Version": "v2"}, "bad-request", "$", "Unexpected variable sd_Version"),
    ("width not multiple of 8", {**OK, "width": 100}, "unexpected", f"{ARGS}.width", "invalid dimensions"),
    ("width too small", {**OK, "width": 16}, "unexpected", f"{ARGS}.width", "invalid dimensions"),
    ("height too large", {**OK, "height": 2048, "alchemy": False}, "unexpected", f"{ARGS}.height", "1536"),
    ("alchemy over 1024", {**OK, "width": 1536, "alchemy": True}, "unexpected", f"{ARGS}.width", "with alchemy"),
    ("too many images", {**OK, "num_images": 9}, "unexpected", f"{ARGS}.num_images", "Too many images"),
    ("too many large images", {**OK, "width": 1024, "num_images": 5}, "unexpected", f"{ARGS}.num_images",
     "between 1 and 4"),
    ("steps out of range", {**OK, "num_inference_steps": 61}, "unexpected", f"{ARGS}.num_inference_steps",
     "between 10 and 60"),
    ("guidance out of range", {**OK, "guidance_scale": 25}, "unexpected", f"{ARGS}.guidance_scale",
     "between 1 and 20"),
    ("negative seed", {**OK, "seed": -1}, "unexpected", f"{ARGS}.seed", "seed must be between"),
    ("fractional int", {**OK, "width": 64.5}, "validation-failed", f"{ARGS}.width", "expected an integer"),
    ("unknown scheduler", {**OK, "scheduler": "FAST"}, "validation-failed", f"{ARGS}.scheduler",
     "sd_generation_schedulers"),
    ("unknown preset", {**OK, "presetStyle": "WATERCOLOR"}, "validation-failed", f"{ARGS}.presetStyle",
     "sd_generation_style"),
    ("unknown sd_version", {"prompt": "x", "sd_version": "v9"}, "validation-failed", f"{ARGS}.sd_version",
     "sd_versions"),
    ("prompt too long", {**OK, "prompt": "x" * 1501}, "unexpected", f"{ARGS}.prompt", "1500"),
    ("empty prompt", {**OK, "prompt": "   "}, "unexpected", f"{ARGS}.prompt", "must not be empty"),
    ("unknown modelId", {**OK, "modelId": "LEONARDO"}, "unexpected", f"{ARGS}.modelId", "not a model"),
    ("unknown init image", {**OK, "init_image_id": "0b7a1c1e-3c1f-4f5e-9d7e-1a2b3c4d5e6f"}, "unexpected",
     f"{ARGS}.init_image_id", "invalid init image id"),
    ("no open technique", {**OK, "expandedDomain": True}, "unexpected", f"{ARGS}.expandedDomain",
     "not supported"),
    ("unknown styleUUID", {**OK, "styleUUID": "00000000-0000-4000-8000-000000000000"}, "unexpected",
     f"{ARGS}.styleUUID", "not a style"),
    ("nested wrong type", {**OK, "controlnets": [{"initImageId": "a", "initImageType": "UPLOADED",
     "preprocessorId": 1, "weight": "high"}]}, "validation-failed", f"{ARGS}.controlnets[0].weight", "Float"),
    ("body is a list", [OK], "unexpected", "$", "JSON object"),
]  # fmt: skip


def assert_leonardo_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert list(body) == ["error", "path", "code"]
    assert body["code"] == code
    assert "Traceback" not in body["error"] and "/work" not in body["error"] and "site-packages" not in body["error"]
    return dict(body)


@pytest.mark.parametrize(("case", "body", "code", "path", "words"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_gets_400(server: Server, alice: dict[str, Any], case: str, body: Any, code: str, path: str,
                           words: str) -> None:  # fmt: skip
    with server.http(alice["apiKey"]) as client:
        error = assert_leonardo_error(client.post("/generations", json=body), 400, code)
    assert error["path"] == path
    assert words in error["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"prompt": "x",}'])
def test_malformed_json_gets_400(server: Server, alice: dict[str, Any], raw: bytes) -> None:
    with server.http(alice["apiKey"]) as client:
        response = client.post("/generations", content=raw, headers={"Content-Type": "application/json"})
    assert_leonardo_error(response, 400, "validation-failed")


def test_null_fields_mean_absent(server: Server, alice: dict[str, Any]) -> None:
    """The SDKs send unset fields as null: every known field set to null is accepted."""
    body = {**OK, "tiling": None, "controlnets": None, "photoReal": False, "transparency": "disabled",
            "elements": [], "seed": None, "guidance_scale": 7.0, "num_inference_steps": 10.0}  # fmt: skip
    with server.http(alice["apiKey"]) as client:
        response = client.post("/generations", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("bad_id", ["abc", "1234", "not-a-uuid-at-all"])
def test_malformed_path_id_is_data_exception(server: Server, alice: dict[str, Any], bad_id: str) -> None:
    with server.http(alice["apiKey"]) as client:
        for response in (client.get(f"/generations/{bad_id}"), client.delete(f"/generations/{bad_id}"),
                         client.get(f"/generations/user/{bad_id}")):  # fmt: skip
            error = assert_leonardo_error(response, 400, "data-exception")
            assert error["error"] == f'invalid input syntax for type uuid: "{bad_id}"'


def test_bad_query_parameters(server: Server, alice: dict[str, Any]) -> None:
    with server.http(alice["apiKey"]) as client:
        for params in ({"offset": "x"}, {"limit": -1}, {"offset": -5}):
            response = client.get(f"/generations/user/{alice['userId']}", params=params)
            assert_leonardo_error(response, 400, "unexpected")


def test_unknown_route_and_wrong_method(server: Server, alice: dict[str, Any]) -> None:
    with server.http(alice["apiKey"]) as client:
        error = assert_leonardo_error(client.get("/no-such-thing"), 404, "not-found")
        assert error["error"] == "Endpoint not found"
        wrong = client.put("/generations")
        error = assert_leonardo_error(wrong, 405, "method-not-allowed")
        assert "POST" in error["error"]


def test_auth_failures_all_look_the_same(server: Server) -> None:
    revoked = server.create_key("soon-revoked")
    from tests.conftest import run_cli

    run_cli(server.data_dir, "keys", "revoke", revoked["apiKey"][:8], env=server.env)
    bodies = []
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer 1f0e5b7a-1111-4222-8333-444455556666"},
                    {"Authorization": f"Bearer {revoked['apiKey']}"}):  # fmt: skip
        for method, path in (("GET", "/me"), ("POST", "/generations"), ("GET", "/platformModels")):
            response = httpx.request(method, f"{server.api_url}{path}", headers=headers, json=OK)
            bodies.append(assert_leonardo_error(response, 401, "access-denied"))
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["error"] == "Authentication hook unauthorized this request"


def test_healthz_needs_no_key(server: Server) -> None:
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_oversized_body_gets_413_unread(server: Server, alice: dict[str, Any]) -> None:
    big = b'{"prompt": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    def chunked() -> Any:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    with server.http(alice["apiKey"]) as client:
        declared = client.post("/generations", content=big, headers={"Content-Type": "application/json"})
        streamed = client.post("/generations", content=chunked(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        error = assert_leonardo_error(response, 413, "bad-request")
        assert "limit" in error["error"]


def test_auth_is_checked_before_the_body(server: Server) -> None:
    response = httpx.post(f"{server.api_url}/generations", content=b"{not json")
    assert_leonardo_error(response, 401, "access-denied")
