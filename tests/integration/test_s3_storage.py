"""`SFUMATO_STORAGE=s3` end to end, on moto's S3 server: the official SDK's init-image upload goes straight
to the bucket (S3's presigned POST), the server checks the object before using it, a generation's images
land in the bucket under its id and download from their presigned URLs, and DELETE removes them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from leonardo_ai_sdk import LeonardoAiSDK
from PIL import Image

from sfumato.domain.init_images import checked_image_key
from tests.conftest import Server, tiny_request, to_wire, wait_for_generation
from tests.support.images import image_bytes
from tests.support.moto_s3 import CREDENTIALS, MotoS3, moto_s3


@pytest.fixture(scope="module")
def bucket() -> Iterator[MotoS3]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        with moto_s3() as running:
            yield running


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory, bucket: MotoS3) -> Iterator[Server]:
    env = {
        **CREDENTIALS,
        "SFUMATO_STORAGE": "s3",
        "SFUMATO_S3_BUCKET": bucket.bucket,
        "SFUMATO_S3_ENDPOINT_URL": bucket.endpoint_url,
    }
    with Server(tmp_path_factory.mktemp("sfumato-s3"), env=env).running() as instance:
        yield instance


@pytest.fixture(scope="module")
def owner(s3_server: Server) -> dict[str, Any]:
    return s3_server.create_key("s3-user")


def presigned_upload(sdk: LeonardoAiSDK) -> dict[str, Any]:
    answer = sdk.init_images.upload_init_image(request={"extension": "png"}).object
    assert answer is not None and answer.upload_init_image is not None
    form = answer.upload_init_image
    assert form.id and form.url and form.key and isinstance(form.fields, str)
    return {"id": form.id, "url": form.url, "key": form.key, "fields": json.loads(form.fields)}


def post_to_bucket(upload: dict[str, Any], data: bytes) -> None:
    """The client's multipart POST to the presigned URL, with no credentials: the policy is the grant."""
    answer = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("i.png", data, "image/png")}, timeout=30
    )
    assert answer.status_code == 204, answer.text


def test_an_init_image_uploaded_to_the_bucket_feeds_a_generation_whose_images_live_there(
    s3_server: Server, owner: dict[str, Any], bucket: MotoS3
) -> None:
    sdk = s3_server.sdk(owner["apiKey"])
    upload = presigned_upload(sdk)
    assert upload["url"] == f"{bucket.endpoint_url}/{bucket.bucket}"  # the bucket's, not the API's
    assert upload["key"].endswith(f"/initImages/{upload['id']}.png") and upload["fields"]["key"] == upload["key"]
    raw = image_bytes("PNG", (64, 64)) + b"trailing bytes a re-encode drops"
    post_to_bucket(upload, raw)
    assert bucket.client().get_object(Bucket=bucket.bucket, Key=upload["key"])["Body"].read() == raw

    created = sdk.image.create_generation(request=tiny_request(init_image_id=upload["id"]))
    assert created.object is not None and created.object.sd_generation_job is not None
    generation_id = created.object.sd_generation_job.generation_id
    assert generation_id
    # Checked before use: the server's re-encoding, the same pixels without the tail, at a key the form
    # cannot overwrite; the form's own object is gone.
    checked = bucket.client().get_object(Bucket=bucket.bucket, Key=checked_image_key(upload["key"]))["Body"].read()
    assert upload["key"] not in bucket.object_keys(upload["key"].rpartition("/")[0])
    assert checked != raw and Image.open(io.BytesIO(checked)).tobytes() == Image.open(io.BytesIO(raw)).tobytes()

    with s3_server.http(owner["apiKey"]) as client:
        finished = wait_for_generation(client, generation_id, timeout_s=180)
    assert finished["status"] == "COMPLETE", finished
    stored = bucket.object_keys()
    [image] = finished["generated_images"]
    [image_key] = [key for key in stored if generation_id in key]
    assert image_key.endswith(".png") and image["url"].startswith(f"{bucket.endpoint_url}/{bucket.bucket}/")
    downloaded = requests.get(image["url"], timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == bucket.client().get_object(Bucket=bucket.bucket, Key=image_key)["Body"].read()
    assert Image.open(io.BytesIO(downloaded.content)).size == (64, 64)

    deleted = sdk.image.delete_generation_by_id(id=generation_id).object
    assert deleted is not None
    assert [key for key in bucket.object_keys() if generation_id in key] == []
    assert checked_image_key(upload["key"]) in bucket.object_keys()  # the init image is the user's own, kept


def test_a_bad_file_in_the_bucket_is_refused_at_use_and_removed(
    s3_server: Server, owner: dict[str, Any], bucket: MotoS3
) -> None:
    sdk = s3_server.sdk(owner["apiKey"])
    upload = presigned_upload(sdk)
    post_to_bucket(upload, b"<html>not a picture</html>")
    with s3_server.http(owner["apiKey"]) as client:
        refused = client.post("/generations", json=to_wire(tiny_request(init_image_id=upload["id"])))
    assert refused.status_code == 400, refused.text
    assert refused.json()["path"].endswith(".init_image_id") and "not a PNG" in refused.json()["error"]
    assert upload["key"] not in bucket.object_keys()
    post_to_bucket(upload, image_bytes("PNG", (32, 32)))  # the form still works for a good file
    with s3_server.http(owner["apiKey"]) as client:
        answer = client.get(f"/init-image/{upload['id']}")
    assert answer.status_code == 200 and answer.json()["init_images_by_pk"]["url"].startswith(bucket.endpoint_url)
