"""The page's Content-Security-Policy lets `fetch()` reach exactly where init images are POSTed: this
server with local storage, the bucket's origin that boto3's real presigned POST names with S3."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from sfumato.config import Settings
from sfumato.storage.s3 import s3_client
from sfumato.web.router import content_security_policy


def _connect_sources(settings: Settings) -> list[str]:
    match = re.search(r"connect-src ([^;]+);", content_security_policy(settings))
    assert match is not None
    return match.group(1).split()


def _allows(source: str, url: str) -> bool:
    """CSP host-source matching for the two shapes this policy uses: an origin, or `https://*.domain`."""
    parts = urlsplit(url)
    scheme, _, host = source.partition("://")
    if host.startswith("*."):
        return parts.scheme == scheme and (parts.hostname or "").endswith(host[1:])
    return f"{parts.scheme}://{parts.netloc}" == source


def _presigned_post_url(endpoint: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # signing needs a credential; nothing is sent
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = s3_client(endpoint, "eu-west-1")
    return str(client.generate_presigned_post("images", "users/u/initImages/i.png")["url"])


def test_local_storage_uploads_to_this_server_only() -> None:
    assert _connect_sources(Settings()) == ["'self'"]


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", "https://minio.example.org:8443", None])
def test_s3_uploads_may_reach_the_bucket_boto3_names(endpoint: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(storage="s3", s3_bucket="images", s3_endpoint_url=endpoint)
    sources = _connect_sources(settings)
    url = _presigned_post_url(endpoint, monkeypatch)
    assert sources[0] == "'self'" and any(_allows(source, url) for source in sources[1:]), (sources, url)


def test_no_inline_script_or_style_is_allowed() -> None:
    policy = content_security_policy(Settings())
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "'unsafe-" not in policy
