"""A strict `multipart/form-data` reader for the upload form, over a body already read under its limit.

Written here rather than taken from python-multipart (not a dependency) because the form is small
and fixed: text fields, then one part `file`. As S3 does, parts after `file` are ignored. Anything
malformed (no boundary, a part without a name, a body cut before its closing boundary) is a 400
that says so; the number of parts and the size of their headers are bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sfumato.errors import ClientError, UnsupportedMediaType

FILE_PART = "file"
MAX_FIELDS = 32
MAX_PART_HEADER_BYTES = 8 * 1024
MAX_FIELD_BYTES = 8 * 1024

_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,70})"|([^";\s]{1,70}))', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


@dataclass(frozen=True)
class UploadForm:
    fields: dict[str, str]
    file: bytes | None


def form_boundary(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; 415 for any other type."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        shown = content_type if len(content_type) <= 100 else f"{content_type[:100]}..."
        raise UnsupportedMediaType(f"an upload is multipart/form-data (the fields, then part 'file'), got {shown!r}")
    found = _BOUNDARY.search(content_type)
    if found is None:
        raise ClientError("the multipart/form-data Content-Type names no boundary")
    return (found.group(1) or found.group(2)).encode("latin-1")


def parse_upload_form(body: bytes, boundary: bytes) -> UploadForm:
    """The form's text fields up to part `file`, and that part's bytes (None when absent)."""
    delimiter = b"--" + boundary
    separator = b"\r\n" + delimiter
    if body.startswith(delimiter):
        rest = body[len(delimiter) :]
    else:  # a preamble before the first boundary is allowed, and ignored
        start = body.find(separator)
        if start < 0:
            raise ClientError("the upload body is not multipart/form-data: its boundary never appears")
        rest = body[start + len(separator) :]
    fields: dict[str, str] = {}
    while not rest.startswith(b"--"):  # until the closing boundary
        if len(fields) >= MAX_FIELDS:
            raise ClientError(f"the upload form has more than {MAX_FIELDS} fields")
        line_end = rest.find(b"\r\n")
        if line_end < 0 or rest[:line_end].strip(b" \t"):
            raise ClientError("the upload form is malformed: a boundary line is followed by other text")
        end = rest.find(separator, line_end + 2)
        if end < 0:
            raise ClientError("the upload form ends before its closing boundary (was it cut short?)")
        name, is_file, content = _part(rest[line_end + 2 : end])
        rest = rest[end + len(separator) :]
        if name == FILE_PART:
            return UploadForm(fields, content)  # S3 ignores whatever follows the file
        if is_file:
            raise ClientError(f"the upload form sends a file as part {name!r}: the image goes in part 'file'")
        if name in fields:
            raise ClientError(f"the upload form has the field {name!r} twice")
        if len(content) > MAX_FIELD_BYTES:
            raise ClientError(f"the upload form's field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
        try:
            fields[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientError(f"the upload form's field {name!r} is not UTF-8 text") from None
    return UploadForm(fields, None)


def _part(part: bytes) -> tuple[str, bool, bytes]:
    """A part's field name, whether it is a file (has a filename), and its content."""
    if part.startswith(b"\r\n"):
        raise ClientError("an upload form part has no headers (Content-Disposition names each field)")
    headers_end = part.find(b"\r\n\r\n")
    if headers_end < 0 or headers_end > MAX_PART_HEADER_BYTES:
        raise ClientError("an upload form part's headers are malformed or too long")
    params: dict[str, str] | None = None
    for line in part[:headers_end].decode("latin-1").split("\r\n"):
        header, colon, value = line.partition(":")
        if not colon:
            raise ClientError("an upload form part has a header line without a colon")
        if header.strip().lower() == "content-disposition":
            params = _disposition_params(value)
    if params is None or "name" not in params:
        raise ClientError("an upload form part has no Content-Disposition: form-data; name=...")
    return params["name"], "filename" in params, part[headers_end + 4 :]


def _disposition_params(disposition: str) -> dict[str, str] | None:
    """`form-data; name="key"` -> `{"name": "key"}` (a backslash escapes the next character, RFC 7578);
    None unless it is form-data."""
    kind, _, params = disposition.partition(";")
    if kind.strip().lower() != "form-data":
        return None
    found: dict[str, str] = {}
    for param in _DISPOSITION_PARAM.finditer(";" + params):
        quoted, bare = param.group(2), param.group(3)
        found.setdefault(param.group(1).lower(), re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
    return found
