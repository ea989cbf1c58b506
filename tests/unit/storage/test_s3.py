"""`S3BlobStore` and `S3UploadTarget` against moto's S3 server on loopback: real HTTP and signing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import requests

from sfumato.storage.s3 import S3BlobStore, S3UploadTarget, s3_client
from tests.support.images import image_bytes
from tests.support.moto_s3 import CREDENTIALS, REGION, MotoS3, moto_s3


@pytest.fixture(scope="module")
def endpoint() -> Iterator[MotoS3]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        with moto_s3() as running:
            yield running


@pytest.fixture
def store(endpoint: MotoS3, monkeypatch: pytest.MonkeyPatch) -> S3BlobStore:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return S3BlobStore(s3_client(endpoint.endpoint_url, REGION), endpoint.bucket, url_expiry_s=60)


def test_put_get_size_and_delete_round_trip(store: S3BlobStore) -> None:
    store.put("users/u/generations/g1/a.png", b"png bytes")
    assert store.get("users/u/generations/g1/a.png") == b"png bytes"
    assert store.size("users/u/generations/g1/a.png") == len(b"png bytes")
    head = store.client.head_object(Bucket=store.bucket, Key="users/u/generations/g1/a.png")
    assert head["ContentType"] == "image/png"
    store.delete("users/u/generations/g1/a.png")
    store.delete("users/u/generations/g1/a.png")  # idempotent
    assert store.size("users/u/generations/g1/a.png") is None
    with pytest.raises(FileNotFoundError):
        store.get("users/u/generations/g1/a.png")


def test_delete_prefix_removes_the_folder_only(store: S3BlobStore, endpoint: MotoS3) -> None:
    for key in (
        "users/u/generations/g2/a.png",
        "users/u/generations/g2/variations/v/b.png",
        "users/u/generations/g22/c.png",
    ):
        store.put(key, b"x")
    store.delete_prefix("users/u/generations/g2")
    assert endpoint.object_keys("users/u/generations/") == ["users/u/generations/g22/c.png"]


def test_urls_are_presigned_gets_or_under_the_public_url(store: S3BlobStore, endpoint: MotoS3) -> None:
    store.put("users/u/generations/g3/a b.png", b"picture")
    signed = store.url("users/u/generations/g3/a b.png", "http://api.example")
    assert signed.startswith(endpoint.endpoint_url) and "X-Amz-Signature=" in signed and "X-Amz-Expires=60" in signed
    assert httpx.get(signed).content == b"picture"  # no credentials: the signature is the grant
    public = S3BlobStore(store.client, store.bucket, public_url="https://cdn.example/images/")
    assert public.url("users/u/a b.png", "http://api.example") == "https://cdn.example/images/users/u/a%20b.png"


def test_the_presigned_post_uploads_straight_to_the_bucket_under_a_policy(store: S3BlobStore) -> None:
    target = S3UploadTarget(store, expiry_s=120, max_bytes=4096)
    upload = target.presign("users/u/initImages/i.png", "i", "http://api.example")
    assert (upload.upload_id, upload.key, urlsplit(upload.url).path) == (
        "i",
        "users/u/initImages/i.png",
        f"/{store.bucket}",
    )
    assert upload.fields["key"] == upload.key and upload.fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(upload.fields["policy"]))
    assert {"Content-Type": "image/png"} in policy["conditions"]
    assert ["content-length-range", 1, 4096] in policy["conditions"]
    data = image_bytes("PNG", (8, 8))
    answer = requests.post(upload.url, data=upload.fields, files={"file": ("i.png", data, "image/png")}, timeout=30)
    assert answer.status_code == 204, answer.text
    assert store.get(upload.key) == data


def test_s3_storage_without_a_bucket_is_refused_naming_the_setting() -> None:
    from pydantic import ValidationError

    from sfumato.config import Settings

    with pytest.raises(ValidationError, match="SFUMATO_S3_BUCKET"):
        Settings(storage="s3")
    assert Settings(storage="s3", s3_bucket="images").storage.s3_bucket == "images"
