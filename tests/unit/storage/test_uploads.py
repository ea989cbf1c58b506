"""The local upload form: signed, expiring, bound to one key; and its secret, made once per data dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sfumato.errors import ClientError, Forbidden
from sfumato.storage.uploads import LocalUploadTarget, UploadGrant, UploadSigner

KEY = "users/u-1/initImages/i-1.png"


class Clock:
    """Seconds since the epoch that a test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def target(clock: Clock) -> LocalUploadTarget:
    return LocalUploadTarget(UploadSigner(b"s" * 32), expiry_s=120, clock=clock)


def test_a_form_grants_its_own_upload_at_the_servers_upload_url(target: LocalUploadTarget) -> None:
    upload = target.presign(KEY, "i-1", "http://h:9/")
    assert (upload.upload_id, upload.key, upload.url) == ("i-1", KEY, "http://h:9/uploads")
    assert list(upload.fields) == ["key", "policy", "x-sfumato-signature"]  # the order a client sends them
    assert upload.fields["key"] == KEY
    assert target.grant(upload.fields) == UploadGrant(upload_id="i-1", key=KEY)


def test_a_form_expires_after_its_time(target: LocalUploadTarget, clock: Clock) -> None:
    fields = target.presign(KEY, "i-1", "http://h").fields
    clock.now += 119
    assert target.grant(fields).upload_id == "i-1"
    clock.now += 1
    with pytest.raises(Forbidden, match="this upload URL expired at 2023-11-14T22:15:20\\+00:00"):
        target.grant(fields)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key", "users/u-2/initImages/i-9.png", "key is not the one its policy was signed for"),
        ("x-sfumato-signature", "0" * 64, "signature does not match"),
        ("x-sfumato-signature", "", "signature does not match"),
        ("x-sfumato-signature", "é", "signature does not match"),
        ("policy", "eyJpZCI6ImktOSJ9", "signature does not match"),  # another policy, same signature
        ("policy", "é", "signature does not match"),
    ],
)
def test_a_changed_field_grants_nothing(target: LocalUploadTarget, field: str, value: str, message: str) -> None:
    fields = dict(target.presign(KEY, "i-1", "http://h").fields)
    fields[field] = value
    with pytest.raises(Forbidden, match=message) as refused:
        target.grant(fields)
    assert refused.value.status == 403


@pytest.mark.parametrize("field", ["key", "policy", "x-sfumato-signature"])
def test_a_form_without_one_of_its_fields_is_a_400_naming_it(target: LocalUploadTarget, field: str) -> None:
    fields = dict(target.presign(KEY, "i-1", "http://h").fields)
    del fields[field]
    with pytest.raises(ClientError, match=f"lacks the field '{field}'") as refused:
        target.grant(fields)
    assert refused.value.status == 400


def test_a_form_signed_under_another_secret_grants_nothing(clock: Clock) -> None:
    fields = LocalUploadTarget(UploadSigner(b"a" * 32), 120, clock).presign(KEY, "i-1", "http://h").fields
    with pytest.raises(Forbidden, match="signature does not match"):
        LocalUploadTarget(UploadSigner(b"b" * 32), 120, clock).grant(fields)


def test_the_secret_is_made_once_private_and_then_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "upload-signing.key"
    first = UploadSigner.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert UploadSigner.from_file(path).sign("p") == first.sign("p")  # a restart keeps its forms valid
    assert [p.name for p in path.parent.iterdir()] == ["upload-signing.key"]  # no temporary file left


def test_a_damaged_secret_file_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "upload-signing.key"
    path.write_text("not hex")
    with pytest.raises(ValueError, match="delete it to make a new one"):
        UploadSigner.from_file(path)
