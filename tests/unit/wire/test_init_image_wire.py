"""Init-image bodies in and out, in Leonardo's names and types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sfumato.domain.init_images import InitImageKind, UploadState
from sfumato.domain.views import InitImageView
from sfumato.errors import BadRequest, ClientError, ValidationFailed
from sfumato.storage.uploads import PresignedUpload
from sfumato.wire.init_image_request import parse_upload_canvas_init_image, parse_upload_init_image
from sfumato.wire.init_image_response import (
    deleted_init_image,
    init_image_by_pk,
    upload_canvas_init_image,
    upload_init_image,
)
from tests.unit.wire.samples import MOMENT, url_for

ARGS = "$.selectionSet.uploadInitImage.args.arg1"


@pytest.mark.parametrize(("given", "stored"), [("png", "png"), ("jpg", "jpg"), ("jpeg", "jpeg"), ("WEBP", "webp")])
def test_the_four_extensions_are_taken_in_any_case(given: str, stored: str) -> None:
    assert parse_upload_init_image({"extension": given}) == stored


@pytest.mark.parametrize("extension", ["gif", ".png", "photo.png", "data:image/png;base64,iVBORw0KGgo=", "", "x" * 500])
def test_anything_else_is_leonardos_invalid_file_extension(extension: str) -> None:
    with pytest.raises(ClientError, match=r"^invalid file extension") as refused:
        parse_upload_init_image({"extension": extension})
    assert refused.value.status == 400 and refused.value.path == f"{ARGS}.extension"
    assert len(refused.value.message) < 120  # a long value is not echoed whole


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({}, ValidationFailed, 'expecting a value for non-nullable variable: "extension"'),
        ({"extension": None}, ValidationFailed, 'expecting a value for non-nullable variable: "extension"'),
        ({"extension": 7}, ValidationFailed, "expected a string for type 'String', but found a number"),
        ({"extension": "png", "name": "a.png"}, BadRequest, "Unexpected variable name"),
        (["png"], ClientError, "the request body must be a JSON object"),
    ],
)
def test_a_wrong_body_is_refused_as_hasura_words_it(payload: Any, error: type[ClientError], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_upload_init_image(payload)


def test_a_canvas_takes_two_extensions_and_names_the_bad_one() -> None:
    assert parse_upload_canvas_init_image({"initExtension": "JPG", "maskExtension": "png"}) == ("jpg", "png")
    with pytest.raises(ClientError, match="invalid file extension") as refused:
        parse_upload_canvas_init_image({"initExtension": "png", "maskExtension": "bmp"})
    assert refused.value.path == "$.selectionSet.uploadCanvasInitImage.args.arg1.maskExtension"
    with pytest.raises(ValidationFailed, match='"maskExtension"'):
        parse_upload_canvas_init_image({"initExtension": "png"})


def upload(upload_id: str) -> PresignedUpload:
    key = f"users/u-1/initImages/{upload_id}.png"
    return PresignedUpload(
        upload_id, key, "http://h:1/uploads", {"key": key, "policy": "p", "x-sfumato-signature": "s"}
    )


def test_an_upload_answer_carries_its_fields_as_a_json_string() -> None:
    body = upload_init_image(upload("i-1"))
    assert list(body) == ["uploadInitImage"]
    answer = body["uploadInitImage"]
    assert set(answer) == {"id", "url", "fields", "key"}
    assert (answer["id"], answer["url"], answer["key"]) == ("i-1", "http://h:1/uploads", "users/u-1/initImages/i-1.png")
    assert isinstance(answer["fields"], str)
    assert json.loads(answer["fields"]) == {
        "key": "users/u-1/initImages/i-1.png",
        "policy": "p",
        "x-sfumato-signature": "s",
    }
    assert list(json.loads(answer["fields"])) == ["key", "policy", "x-sfumato-signature"]  # order kept


def test_a_canvas_answer_has_leonardos_eight_keys() -> None:
    answer = upload_canvas_init_image(upload("i-1"), upload("m-1"))["uploadCanvasInitImage"]
    assert answer["initImageId"] == "i-1" and answer["maskImageId"] == "m-1"
    assert answer["initKey"].endswith("i-1.png") and answer["maskKey"].endswith("m-1.png")
    assert answer["initUrl"] == answer["maskUrl"] == "http://h:1/uploads"
    assert json.loads(answer["initFields"])["key"] == answer["initKey"]
    assert json.loads(answer["maskFields"])["key"] == answer["maskKey"]
    assert len(answer) == 8


@pytest.mark.parametrize("state", list(UploadState))
def test_an_init_image_reads_with_its_file_url_before_and_after_upload(state: UploadState) -> None:
    image = InitImageView(
        id="i-1",
        user_id="u-1",
        kind=InitImageKind.INIT,
        extension="png",
        blob_key="users/u-1/initImages/i-1.png",
        state=state,
        created_at=MOMENT,
        uploaded_at=None,
    )
    assert init_image_by_pk(image, url_for) == {
        "init_images_by_pk": {
            "createdAt": "2023-11-09T00:42:22.707",
            "id": "i-1",
            "url": "http://h:1/files/users/u-1/initImages/i-1.png",
        }
    }
    assert init_image_by_pk(None, url_for) == {"init_images_by_pk": None}


def test_a_delete_answers_the_id_or_null() -> None:
    assert deleted_init_image("i-1") == {"delete_init_images_by_pk": {"id": "i-1"}}
    assert deleted_init_image(None) == {"delete_init_images_by_pk": None}
