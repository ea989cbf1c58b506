"""An S3 endpoint for tests: moto's server mode on a free loopback port, with one empty bucket.
Real HTTP, real boto3 signing; nothing leaves the machine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from moto.server import ThreadedMotoServer

from sfumato.storage.s3 import s3_client
from tests.support.polling import poll_until
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
def moto_s3_process(bucket: str = "sfumato-test") -> Iterator[MotoS3]:
    """moto's server in a process of its own (`moto_server`), for benchmarks: in the measuring process
    it would take the GIL from the clients being timed."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        endpoint = MotoS3(f"http://127.0.0.1:{port}", bucket)
        poll_until(lambda: _answers(endpoint.endpoint_url), 60, 0.1, "moto_server did not start")
        endpoint.client().create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        server.terminate()
        server.wait(30)


def _answers(url: str) -> bool | None:
    try:
        httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return None
    return True


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
