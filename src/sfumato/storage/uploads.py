"""Presigned uploads: where a client sends an init image's bytes, behind one small protocol.

`POST /init-image` answers a `url` and its `fields`; the client POSTs a multipart form of those
fields, then the part `file`, to `url` with no auth header and expects 204. That is S3's presigned
POST, so an S3 target can hand out the bucket's URL with its policy and signature in `fields`, and
the client does not change. `LocalUploadTarget` is the same contract served by Sfumato itself
(`POST /uploads`): its `fields` carry the blob key and a policy (which upload, until when) signed
with HMAC-SHA256 under a secret kept in the data dir.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sfumato.errors import ClientError, Forbidden

# The form fields of a local upload, in the order they are handed out (then `file`).
KEY_FIELD, POLICY_FIELD, SIGNATURE_FIELD = "key", "policy", "x-sfumato-signature"
# Signed with the policy, so a signature made for anything else never verifies here.
_SIGNING_CONTEXT = b"sfumato-upload-policy-v1\n"
_SECRET_BYTES = 32


@dataclass(frozen=True)
class PresignedUpload:
    """What a client needs to upload one file: the upload's id (the init image's), the file's key,
    where to POST the form and the fields it must carry (in this order, before `file`)."""

    upload_id: str
    key: str
    url: str
    fields: dict[str, str]


class UploadTarget(Protocol):
    def presign(self, key: str, upload_id: str, base_url: str) -> PresignedUpload:
        """A form that lets its holder store one file at `key` for a short while. `base_url` is the
        server's own (where the client reached it); a bucket ignores it."""
        ...


@dataclass(frozen=True)
class UploadGrant:
    """What a verified form permits: the file of init image `upload_id`, at `key`."""

    upload_id: str
    key: str


class UploadSigner:
    """HMAC-SHA256 over a policy string with the server's upload secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("an upload signing secret needs at least 16 bytes")
        self._secret = secret

    @classmethod
    def from_file(cls, path: Path) -> UploadSigner:
        """The secret in `path`, made there (random, mode 0600) on first use. Published by a hard
        link, which never replaces: processes starting together on one data dir share one secret."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-upload-key-")  # mode 0600
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(secrets.token_hex(_SECRET_BYTES))
                with contextlib.suppress(FileExistsError):  # another process published first: use its secret
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        text = path.read_text(encoding="ascii").strip()
        try:
            return cls(bytes.fromhex(text))
        except ValueError:
            raise ValueError(f"{path} does not hold a hex upload signing secret; delete it to make a new one") from None

    def sign(self, policy: str) -> str:
        return hmac.new(self._secret, _SIGNING_CONTEXT + policy.encode("ascii"), hashlib.sha256).hexdigest()

    def verify(self, policy: str, signature: str) -> bool:
        try:
            expected = self.sign(policy)
        except UnicodeEncodeError:  # a policy we made is ASCII
            return False
        # As bytes: `compare_digest` refuses a str with non-ASCII characters rather than saying False.
        return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", errors="replace"))


def _encode_policy(policy: dict[str, str | int]) -> str:
    raw = json.dumps(policy, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_policy(text: str) -> dict[str, object]:
    """A policy this server signed; anything else is refused like a bad signature."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise Forbidden("the upload form's policy is not one this server made") from None
    if not isinstance(decoded, dict):
        raise Forbidden("the upload form's policy is not one this server made")
    return decoded


class LocalUploadTarget:
    """Uploads served by Sfumato at `<base_url>/uploads`, granted by a signed, expiring policy.

    Single use is not the form's business: the init image's row moves from pending to uploaded
    once, and a form whose row is no longer pending is refused by the service."""

    def __init__(self, signer: UploadSigner, expiry_s: int, clock: Callable[[], float] = time.time) -> None:
        self.signer = signer
        self.expiry_s = expiry_s
        self.clock = clock

    def presign(self, key: str, upload_id: str, base_url: str) -> PresignedUpload:
        policy = _encode_policy({"id": upload_id, "key": key, "exp": int(self.clock()) + self.expiry_s})
        fields = {KEY_FIELD: key, POLICY_FIELD: policy, SIGNATURE_FIELD: self.signer.sign(policy)}
        return PresignedUpload(upload_id, key, f"{base_url.rstrip('/')}/uploads", fields)

    def grant(self, fields: Mapping[str, str]) -> UploadGrant:
        """What the form's fields permit, or the 4xx that says why they permit nothing."""
        missing = [name for name in (KEY_FIELD, POLICY_FIELD, SIGNATURE_FIELD) if name not in fields]
        if missing:
            raise ClientError(
                f"the upload form lacks the field {missing[0]!r}: send every entry of `fields` as "
                "POST /init-image gave them, then the image as part 'file'"
            )
        policy_text = fields[POLICY_FIELD]
        if not self.signer.verify(policy_text, fields[SIGNATURE_FIELD]):
            raise Forbidden("the upload form's signature does not match its policy (were its fields changed?)")
        policy = _decode_policy(policy_text)
        upload_id, key, expires = policy.get("id"), policy.get("key"), policy.get("exp")
        if not isinstance(upload_id, str) or not isinstance(key, str) or not isinstance(expires, int):
            raise Forbidden("the upload form's policy is not one this server made")
        if fields[KEY_FIELD] != key:
            raise Forbidden("the upload form's key is not the one its policy was signed for")
        if self.clock() >= expires:
            at = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
            raise Forbidden(f"this upload URL expired at {at}: ask POST /init-image for a new one")
        return UploadGrant(upload_id=upload_id, key=key)
