"""Images in an S3-compatible bucket (AWS, MinIO, R2, moto): the `BlobStore` protocol on boto3, and the
presigned POST that lets a client upload an init image straight to the bucket (Leonardo's own flow).

Keys are the store's keys unchanged, so a bucket holds the layout the local store keeps on disk
(`users/<userId>/generations/<genId>/<name>.png`). Credentials come from boto3's standard chain
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, a profile, an instance role): never from Sfumato's settings.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError as BotoClientError

from sfumato.storage.uploads import PresignedUpload

# What a stored object is served as, by its extension (generated images are PNG).
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys


def s3_client(endpoint_url: str | None, region: str | None) -> Any:
    """A boto3 S3 client. A custom endpoint (MinIO, moto, R2) gets path-style addressing, which every
    S3-compatible server takes, where virtual-host style needs DNS per bucket."""
    addressing = "path" if endpoint_url else "auto"
    config = Config(signature_version="s3v4", s3={"addressing_style": addressing}, retries={"mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def _missing(error: BotoClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING_CODES


class S3BlobStore:
    """Objects in `bucket`. Image URLs are `public_url/<key>` when the bucket (or a CDN before it) is
    public, else presigned GET URLs valid for `url_expiry_s`."""

    def __init__(self, client: Any, bucket: str, public_url: str | None = None, url_expiry_s: int = 3600) -> None:
        self.client = client
        self.bucket = bucket
        self.public_url = public_url.rstrip("/") if public_url else None
        self.url_expiry_s = url_expiry_s

    def put(self, key: str, data: bytes) -> None:
        """One PUT: S3 makes an object visible only once whole, so readers never see half an image."""
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type(key))

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except BotoClientError as error:
            if _missing(error):
                raise FileNotFoundError(key) from None
            raise
        return bytes(answer["Body"].read())

    def size(self, key: str) -> int | None:
        """The object's size from a HEAD (nothing downloaded), None when there is none."""
        try:
            answer = self.client.head_object(Bucket=self.bucket, Key=key)
        except BotoClientError as error:
            if _missing(error):
                return None
            raise
        return int(answer["ContentLength"])

    def delete(self, key: str) -> None:
        """Idempotent, as S3's DELETE is: an absent key is fine."""
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> None:
        """Every object under the folder `prefix` (`<prefix>/...`, never a sibling that merely starts alike)."""
        folder = prefix.rstrip("/") + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=folder)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": key} for key in keys[start : start + _DELETE_BATCH]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def url(self, key: str, base_url: str) -> str:
        """Where a client downloads `key`; `base_url` (the API's own) is not where a bucket serves."""
        if self.public_url is not None:
            return f"{self.public_url}/{quote(key)}"
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.url_expiry_s
            )
        )


class S3UploadTarget:
    """`POST /init-image`'s form as S3's own presigned POST: the client uploads straight to the bucket, the
    policy allows one key, the extension's content type and at most `max_bytes`, for `expiry_s`. The
    server checks the object (type, size, pixels) the first time the image is read or used."""

    def __init__(self, store: S3BlobStore, expiry_s: int, max_bytes: int) -> None:
        self.store = store
        self.expiry_s = expiry_s
        self.max_bytes = max_bytes

    def presign(self, key: str, upload_id: str, base_url: str) -> PresignedUpload:
        kind = content_type(key)
        form = self.store.client.generate_presigned_post(
            Bucket=self.store.bucket,
            Key=key,
            Fields={"Content-Type": kind},
            Conditions=[{"Content-Type": kind}, ["content-length-range", 1, self.max_bytes]],
            ExpiresIn=self.expiry_s,
        )
        fields = {name: str(value) for name, value in form["fields"].items()}
        return PresignedUpload(upload_id, key, str(form["url"]), fields)
