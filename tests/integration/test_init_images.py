"""Init-image uploads against the real server, as Leonardo's clients do them: the official Python SDK
asks for the presigned form, then a plain multipart POST (no auth header) sends the file and gets 204.
Every hostile upload is a clear 4xx that stores nothing and leaves the form usable for a good file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from leonardo_ai_sdk import LeonardoAiSDK

from tests.conftest import Server
from tests.support.images import bomb_png, complete_bomb_png, decoded, image_bytes, picture
from tests.support.polling import poll_until

# Embedded-only: about the local store's own upload form (/uploads, its signature, files under the data dir,
# /files URLs); the S3 presigned POST is tested in test_s3_storage.
UPLOAD_MAX_BYTES = 512 * 1024


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, Any]:
    return server.create_key("uploader")


@pytest.fixture(scope="module")
def sdk(server: Server, owner: dict[str, Any]) -> LeonardoAiSDK:
    return server.sdk(owner["apiKey"])


def presigned(sdk: LeonardoAiSDK, extension: str = "png") -> dict[str, Any]:
    """`POST /init-image` through the SDK, with `fields` decoded as clients do."""
    answer = sdk.init_images.upload_init_image(request={"extension": extension}).object
    assert answer is not None and answer.upload_init_image is not None
    upload = answer.upload_init_image
    assert isinstance(upload.fields, str)  # a JSON-encoded string, as Leonardo sends it
    return {"id": upload.id, "url": upload.url, "key": upload.key, "fields": json.loads(upload.fields)}


def post_form(upload: dict[str, Any], data: bytes, part: str = "file", **fields: str) -> httpx.Response:
    """The multipart POST a client makes to the presigned URL: no Authorization header."""
    form = {**upload["fields"], **fields}
    return httpx.post(upload["url"], data=form, files={part: ("image", data, "application/octet-stream")}, timeout=30)


def stored_file(server: Server, upload: dict[str, Any]) -> Path:
    return server.data_dir / "images" / upload["key"]


def served_url(sdk: LeonardoAiSDK, image_id: str) -> str:
    answer = sdk.init_images.get_init_image_by_id(id=image_id).object
    assert answer is not None and answer.init_images_by_pk is not None
    assert answer.init_images_by_pk.id == image_id and answer.init_images_by_pk.created_at
    url = answer.init_images_by_pk.url
    assert isinstance(url, str)
    return url


def sdk_user(sdk: LeonardoAiSDK) -> str:
    me = sdk.user.get_user_self().object
    assert me is not None and me.user_details
    user = me.user_details[0].user
    assert user is not None and user.id
    return user.id


@pytest.mark.parametrize(
    ("extension", "image_format"), [("png", "PNG"), ("jpg", "JPEG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_the_sdk_flow_uploads_an_image_that_is_then_served(
    server: Server, sdk: LeonardoAiSDK, extension: str, image_format: str
) -> None:
    upload = presigned(sdk, extension)
    assert upload["url"] == f"{server.base_url}/uploads"
    assert upload["key"] == f"users/{sdk_user(sdk)}/initImages/{upload['id']}.{extension}"
    url = served_url(sdk, upload["id"])  # the file's URL is known before the upload, as on Leonardo's CDN
    assert httpx.get(url).status_code == 404

    sent = post_form(upload, image_bytes(image_format))
    assert sent.status_code == 204 and sent.content == b"", sent.text

    assert served_url(sdk, upload["id"]) == url == f"{server.base_url}/files/{upload['key']}"
    served = httpx.get(url)
    assert served.status_code == 200
    assert (
        served.headers["content-type"] == {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[image_format]
    )
    image = decoded(served.content)
    assert image.format == image_format and image.size == picture().size


def test_requests_as_leonardos_guide_uses_it_uploads_too(sdk: LeonardoAiSDK) -> None:
    upload = presigned(sdk)
    sent = requests.post(upload["url"], data=upload["fields"], files={"file": image_bytes()}, timeout=30)
    assert sent.status_code == 204, sent.text
    assert decoded(httpx.get(served_url(sdk, upload["id"])).content).size == picture().size


def test_a_canvas_uploads_an_init_image_and_a_mask(sdk: LeonardoAiSDK) -> None:
    answer = sdk.init_images.upload_canvas_init_image(request={"init_extension": "jpg", "mask_extension": "png"}).object
    assert answer is not None and answer.upload_canvas_init_image is not None
    canvas = answer.upload_canvas_init_image
    init = {"id": canvas.init_image_id, "url": canvas.init_url, "key": canvas.init_key}
    mask = {"id": canvas.mask_image_id, "url": canvas.mask_url, "key": canvas.mask_key}
    assert isinstance(canvas.init_fields, str) and isinstance(canvas.mask_fields, str)
    init["fields"], mask["fields"] = json.loads(canvas.init_fields), json.loads(canvas.mask_fields)
    assert post_form(init, image_bytes("JPEG")).status_code == 204
    assert post_form(mask, image_bytes("PNG", mode="L")).status_code == 204
    assert decoded(httpx.get(served_url(sdk, init["id"])).content).format == "JPEG"
    assert decoded(httpx.get(served_url(sdk, mask["id"])).content).mode == "L"  # a mask stays grey


def test_a_delete_removes_the_file_and_the_form(server: Server, sdk: LeonardoAiSDK) -> None:
    uploaded, pending = presigned(sdk), presigned(sdk)
    assert post_form(uploaded, image_bytes()).status_code == 204
    url = served_url(sdk, uploaded["id"])
    for upload in (uploaded, pending):
        deleted = sdk.init_images.delete_init_image_by_id(id=upload["id"]).object
        assert deleted is not None and deleted.delete_init_images_by_pk is not None
        assert deleted.delete_init_images_by_pk.id == upload["id"]
    assert httpx.get(url).status_code == 404 and not stored_file(server, uploaded).exists()
    gone = sdk.init_images.get_init_image_by_id(id=uploaded["id"]).object
    assert gone is not None and gone.init_images_by_pk is None
    late = post_form(pending, image_bytes())
    assert late.status_code == 404 and "deleted" in late.json()["error"]
    again = sdk.init_images.delete_init_image_by_id(id=uploaded["id"]).object
    assert again is not None and again.delete_init_images_by_pk is None


def test_a_used_url_is_refused_and_the_first_file_kept(sdk: LeonardoAiSDK) -> None:
    upload = presigned(sdk)
    assert post_form(upload, image_bytes(size=(40, 24))).status_code == 204
    reused = post_form(upload, image_bytes(size=(8, 8)))
    assert reused.status_code == 403, reused.text
    assert reused.json() == {
        "error": "this upload URL was already used: ask POST /init-image for a new one",
        "path": "$",
        "code": "access-denied",
    }
    assert decoded(httpx.get(served_url(sdk, upload["id"])).content).size == (40, 24)


# (case, extension asked, bytes sent, part name, fields changed, status, words in the error)
HOSTILE: list[tuple[str, str, bytes, str, dict[str, str], int, str]] = [
    ("decompression bomb", "png", bomb_png(100_000, 100_000), "file", {}, 400, "more pixels than the"),
    ("bomb under Pillow's ceiling", "png", bomb_png(5000, 5000), "file", {}, 400, "5000x5000 (25000000 pixels)"),
    ("PNG named .jpg", "jpg", image_bytes("PNG"), "file", {}, 400, "a PNG image, but the upload was asked for as .jpg"),
    ("truncated", "png", image_bytes("PNG", size=(256, 256))[:400], "file", {}, 400, "truncated"),
    ("not an image", "png", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "file", {}, 400, "not a PNG, JPEG or WebP"),
    ("empty file", "png", b"", "file", {}, 400, "not a PNG, JPEG or WebP"),
    ("file in another part", "png", image_bytes(), "image", {}, 400, "sends a file as part 'image'"),
    ("tampered key", "png", image_bytes(), "file", {"key": "users/x/initImages/y.png"}, 403, "key is not the one"),
    ("tampered signature", "png", image_bytes(), "file", {"x-sfumato-signature": "0" * 64}, 403, "does not match"),
    ("tampered policy", "png", image_bytes(), "file", {"policy": "eyJleHAiOjk5OTk5OTk5OTl9"}, 403, "does not match"),
]


def assert_refused_and_still_usable(server: Server, upload: dict[str, Any], refused: httpx.Response) -> None:
    """Nothing stored for the refusal, and the same form then takes a good file of the asked type."""
    assert not stored_file(server, upload).exists()
    assert httpx.get(f"{server.base_url}/files/{upload['key']}").status_code == 404
    good = image_bytes("JPEG" if upload["key"].endswith(".jpg") else "PNG")
    assert post_form(upload, good).status_code == 204, f"after {refused.text}"
    assert stored_file(server, upload).exists()


@pytest.mark.parametrize(
    ("extension", "data", "part", "changed", "status", "words"), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE]
)
def test_a_hostile_upload_is_a_clear_4xx_that_stores_nothing(
    server: Server,
    sdk: LeonardoAiSDK,
    extension: str,
    data: bytes,
    part: str,
    changed: dict[str, str],
    status: int,
    words: str,
) -> None:
    upload = presigned(sdk, extension)
    refused = post_form(upload, data, part, **changed)
    assert refused.status_code == status, refused.text
    body = refused.json()
    assert set(body) == {"error", "path", "code"} and words in body["error"], body
    assert_refused_and_still_usable(server, upload, refused)


def test_another_forms_valid_policy_does_not_open_this_one(server: Server, sdk: LeonardoAiSDK) -> None:
    upload, other = presigned(sdk), presigned(sdk)
    swapped = {name: other["fields"][name] for name in ("policy", "x-sfumato-signature")}
    refused = post_form(upload, image_bytes(), **swapped)
    assert refused.status_code == 403 and "key is not the one its policy was signed for" in refused.json()["error"]
    assert not stored_file(server, other).exists()
    assert_refused_and_still_usable(server, upload, refused)


def test_a_form_without_a_file_or_its_signature_or_sent_urlencoded_is_refused(
    server: Server, sdk: LeonardoAiSDK
) -> None:
    upload = presigned(sdk)
    no_file = httpx.post(upload["url"], data=upload["fields"], files={"note": (None, b"the file is elsewhere")})
    assert no_file.status_code == 400 and "no part named 'file'" in no_file.json()["error"]
    unsigned = {name: value for name, value in upload["fields"].items() if name != "x-sfumato-signature"}
    missing = httpx.post(upload["url"], data=unsigned, files={"file": ("a.png", image_bytes())})
    assert missing.status_code == 400 and "lacks the field 'x-sfumato-signature'" in missing.json()["error"]
    urlencoded = httpx.post(upload["url"], data=upload["fields"])
    assert urlencoded.status_code == 415 and "multipart/form-data" in urlencoded.json()["error"]
    assert_refused_and_still_usable(server, upload, urlencoded)


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """API only (no torch, so its memory is the upload path's), with a 512 KiB upload limit."""
    server = Server(
        tmp_path_factory.mktemp("uploads-tight"),
        env={"SFUMATO_WORKER_THREADS": "0", "SFUMATO_UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES)},
    )
    with server.running():
        yield server


def peak_memory_bytes(server: Server) -> int:
    """The server process' peak resident memory so far (Linux' VmHWM)."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_a_bomb_that_would_fill_256_mib_costs_the_server_nothing(tight: Server) -> None:
    """A 250 KB PNG whose rows are all there: decoding it would take 256 MiB. Refused from its header,
    the server's peak memory grows by nothing like that."""
    sdk = tight.sdk(tight.create_key("bomber")["apiKey"])
    bomb = complete_bomb_png(8000, 8000)
    assert len(bomb) < 300_000
    upload = presigned(sdk)
    assert post_form(upload, b"warm-up: the upload path's imports and buffers").status_code == 400
    before = peak_memory_bytes(tight)
    refused = post_form(upload, bomb)
    assert refused.status_code == 400 and "8000x8000 (64000000 pixels)" in refused.json()["error"]
    assert peak_memory_bytes(tight) - before < 64 * 1024 * 1024
    assert_refused_and_still_usable(tight, upload, refused)


def test_a_file_over_the_limit_is_a_413_and_the_form_stays_usable(tight: Server) -> None:
    sdk = tight.sdk(tight.create_key("big")["apiKey"])
    upload = presigned(sdk)
    just_over = post_form(upload, b"\x89PNG" + b"\x00" * (UPLOAD_MAX_BYTES - 3))
    assert just_over.status_code == 413
    assert just_over.json()["error"] == f"the file is larger than the {UPLOAD_MAX_BYTES}-byte upload limit"
    far_over = post_form(upload, b"\x00" * (4 * UPLOAD_MAX_BYTES))  # refused by its Content-Length, unread
    assert far_over.status_code == 413
    assert_refused_and_still_usable(tight, upload, far_over)


def test_an_expired_url_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    with Server(tmp_path, env={"SFUMATO_WORKER_THREADS": "0", "SFUMATO_UPLOAD_EXPIRY_S": "1"}).running() as short:
        sdk = short.sdk(short.create_key("slow")["apiKey"])
        upload = presigned(sdk)

        # A bad file is refused for what it is until the form expires, then for the expiry (checked first).
        def expired() -> httpx.Response | None:
            answer = post_form(upload, b"not an image")
            return answer if answer.status_code == 403 else None

        refused = poll_until(expired, timeout_s=10, interval_s=0.2, message="the upload form never expired")
        assert "this upload URL expired at" in refused.json()["error"]
        late = post_form(upload, image_bytes())
        assert late.status_code == 403 and "expired" in late.json()["error"]
        assert not stored_file(short, upload).exists()
