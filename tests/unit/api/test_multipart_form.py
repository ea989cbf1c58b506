"""The upload form reader: what HTTP clients send parses; anything malformed is a clear 400 (a framing error
carries python-multipart's words after ours)."""

from __future__ import annotations

import httpx
import pytest
import requests

from sfumato.api.multipart_form import (
    MAX_FIELDS,
    MAX_PART_HEADER_BYTES,
    UploadForm,
    form_boundary,
    parse_upload_form,
)
from sfumato.errors import ClientError, UnsupportedMediaType

FIELDS = {"key": "users/u/initImages/i.png", "policy": "eyJ9", "x-sfumato-signature": "ab" * 32}
IMAGE = b"\x89PNG\r\n\x1a\n\r\n--not-the-boundary\r\n\x00\xff"  # CRLFs and dashes inside the file


def parsed(content_type: str, body: bytes) -> UploadForm:
    return parse_upload_form(body, form_boundary(content_type))


def test_an_httpx_form_parses_with_the_file_bytes_intact() -> None:
    request = httpx.Request("POST", "http://h/uploads", data=FIELDS, files={"file": ("a.png", IMAGE, "image/png")})
    assert parsed(request.headers["content-type"], request.read()) == UploadForm(FIELDS, IMAGE)


def test_a_requests_form_parses_as_leonardos_guide_sends_it() -> None:
    prepared = requests.Request("POST", "http://h/uploads", data=FIELDS, files={"file": IMAGE}).prepare()
    assert isinstance(prepared.body, bytes)
    assert parsed(str(prepared.headers["Content-Type"]), prepared.body) == UploadForm(FIELDS, IMAGE)


def form(*parts: bytes, boundary: bytes = b"XyZ", close: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary + b"--\r\n" if close else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def test_a_preamble_a_quoted_boundary_and_parts_after_the_file_are_taken_as_s3_takes_them() -> None:
    body = b"preamble\r\n" + form(field("key", b"k"), field("file", b"img"), field("policy", b"late"))
    assert parsed('multipart/form-data; boundary="XyZ"', body) == UploadForm({"key": "k"}, b"img")


def test_a_form_without_a_file_has_none() -> None:
    assert parsed("multipart/form-data; boundary=XyZ", form(field("key", b"k"))) == UploadForm({"key": "k"}, None)


def test_a_form_with_as_many_fields_as_allowed_and_the_file_parses() -> None:
    fields = {f"f{i}": "v" for i in range(MAX_FIELDS)}
    body = form(*(field(name, value.encode()) for name, value in fields.items()), field("file", b"img"))
    assert parsed("multipart/form-data; boundary=XyZ", body) == UploadForm(fields, b"img")


def test_a_malformed_part_after_the_file_is_not_read() -> None:
    body = form(field("file", b"img"), b"Content-Disposition form-data\r\n\r\nv", close=False)
    assert parsed("multipart/form-data; boundary=XyZ", body) == UploadForm({}, b"img")


def test_quoted_parameters_are_read_whole_and_unescaped() -> None:
    """A `name=` inside another quoted parameter is not the part's name; a backslash escapes a quote."""
    part = b'Content-Disposition: form-data; x="y\\"; name=\\"file"; name="k\\"ey"\r\n\r\nv'
    assert parsed("multipart/form-data; boundary=XyZ", form(part)).fields == {'k"ey': "v"}


def test_a_file_under_another_part_name_is_refused_naming_it() -> None:
    part = b'Content-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG'
    with pytest.raises(ClientError, match="sends a file as part 'image': the image goes in part 'file'"):
        parsed("multipart/form-data; boundary=XyZ", form(field("key", b"k"), part))


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "", "application/x-www-form-urlencoded", "multipart/mixed"]
)
def test_any_other_content_type_is_a_415(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType, match="an upload is multipart/form-data"):
        form_boundary(content_type)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"no boundary at all", "its boundary never appears"),
        (form(field("key", b"k"), field("file", b"img"), close=False), "ends before its closing boundary"),
        (form(field("key", b"k"))[:-12], "ends before its closing boundary"),
        (b"--XyZjunk\r\n" + field("key", b"k") + b"\r\n--XyZ--", "is malformed: .*boundary"),
        (form(b"\r\nvalue"), "has no headers"),
        (form(b"Content-Type: text/plain\r\n\r\nvalue"), "no Content-Disposition"),
        (form(b'Content-Disposition: attachment; name="key"\r\n\r\nv'), "no Content-Disposition"),
        (form(b"Content-Disposition form-data\r\n\r\nv"), "is malformed: .*header"),
        (form(b'Content-Disposition: form-data; name="key"'), "is malformed: .*header"),
        (form(b"X-Long: " + b"x" * MAX_PART_HEADER_BYTES + b"\r\n" + field("key", b"v")), "is malformed: .*header"),
        (form(field("key", b"a"), field("key", b"b")), "the field 'key' twice"),
        (form(field("key", b"\xff\xfe")), "field 'key' is not UTF-8 text"),
        (form(field("key", b"k" * 9000)), "field 'key' is longer than 8192 bytes"),
        (form(*(field(f"f{i}", b"v") for i in range(MAX_FIELDS + 1))), f"more than {MAX_FIELDS} fields"),
    ],
)
def test_a_malformed_form_is_a_400_saying_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(ClientError, match=message) as refused:
        parsed("multipart/form-data; boundary=XyZ", body)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("multipart/form-data", "names no boundary"),
        ('multipart/form-data; boundary=""', "names no boundary"),
        (f"multipart/form-data; boundary={'b' * 71}", "longer than 70 characters"),
    ],
)
def test_a_content_type_without_a_usable_boundary_is_a_400(content_type: str, message: str) -> None:
    with pytest.raises(ClientError, match=message) as refused:
        form_boundary(content_type)
    assert refused.value.status == 400
