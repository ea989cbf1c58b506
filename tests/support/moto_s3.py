"""An S3 endpoint for tests: moto's server mode on a free loopback port, with one empty bucket.
Real HTTP, real boto3 signing; nothing leaves the machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.server import ThreadedMotoServer

from sfumato.storage.s3 import s3_client
from tests.support.server import free_port

REGION = "us-east-1"
# moto takes any credentials; boto3 needs some to sign with.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@dataclass(frozen=True)
class MotoS3:
    endpoint_url: str
    bucket: str

    def client(self) -> Any:
        return s3_client(self.endpoint_url, REGION)

    def object_keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under `prefix`, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextmanager
def moto_s3(bucket: str = "sfumato-test") -> Iterator[MotoS3]:
    """A running moto S3 server with `bucket` made; stopped after the block. Needs `CREDENTIALS` in the
    environment of whoever signs (the test process, a server subprocess)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = MotoS3(f"http://127.0.0.1:{port}", bucket)
        endpoint.client().create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.stop()
