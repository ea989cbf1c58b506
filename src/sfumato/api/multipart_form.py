"""The upload form's reader, over a body already read under its limit: python-multipart frames it, the
form's rules are ours.

python-multipart's `MultipartParser` splits the body into parts and their headers (bounding a part's
header count and line size), and its `parse_options_header` reads Content-Type and Content-Disposition;
a framing error it finds is a 400 that carries its words. On top of it, the form S3's presigned POST
takes: text fields, then one part `file`. A preamble before the first boundary is skipped (the parser
takes none); a part without a name, a file under another part name, a duplicate, long, non-UTF-8 or
33rd field, and a body cut before its closing boundary are each a 400 that says so. As S3 does, the
parts after `file` are not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from sfumato.errors import ClientError, UnsupportedMediaType

FILE_PART = "file"
MAX_FIELDS = 32
MAX_FIELD_BYTES = 8 * 1024
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 8 * 1024  # one header line
MAX_BOUNDARY_CHARS = 70  # RFC 2046


@dataclass(frozen=True)
class UploadForm:
    fields: dict[str, str]
    file: bytes | None


def form_boundary(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; 415 for any other type."""
    media_type, params = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        shown = content_type if len(content_type) <= 100 else f"{content_type[:100]}..."
        raise UnsupportedMediaType(f"an upload is multipart/form-data (the fields, then part 'file'), got {shown!r}")
    boundary = params.get(b"boundary")
    if not boundary:
        raise ClientError("the multipart/form-data Content-Type names no boundary")
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise ClientError(f"the multipart/form-data boundary is longer than {MAX_BOUNDARY_CHARS} characters")
    return boundary


def parse_upload_form(body: bytes, boundary: bytes) -> UploadForm:
    """The form's text fields up to part `file`, and that part's bytes (None when absent)."""
    form = _FormReader()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": form.part_begin,
            "on_header_field": form.header_field,
            "on_header_value": form.header_value,
            "on_header_end": form.header_end,
            "on_headers_finished": form.headers_finished,
            "on_part_data": form.part_data,
            "on_part_end": form.part_end,
            "on_end": form.end,
        },
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    try:
        parser.write(_from_first_boundary(body, boundary))
    except _FileRead:
        return UploadForm(form.fields, form.file)
    except MultipartParseError as error:
        raise ClientError(f"the upload form is malformed: {error}") from None
    if not form.ended:
        raise ClientError("the upload form ends before its closing boundary (was it cut short?)")
    return UploadForm(form.fields, None)


def _from_first_boundary(body: bytes, boundary: bytes) -> bytes:
    """The body from its first boundary: RFC 2046 allows a preamble before it, which the parser refuses."""
    delimiter = b"--" + boundary
    if body.startswith(delimiter):
        return body
    start = body.find(b"\r\n" + delimiter)  # the parser skips the CRLF that begins it
    if start < 0:
        raise ClientError("the upload body is not multipart/form-data: its boundary never appears")
    return body[start:]


class _FileRead(Exception):
    """Raised at the end of part `file` to stop the parser there: S3 ignores whatever follows."""


class _FormReader:
    """The parser's callbacks: gathers each part's headers and content, and checks them as it goes."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.file: bytes | None = None
        self.ended = False
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name = ""
        self._content: list[bytes] = []
        self._size = 0

    def part_begin(self) -> None:
        self._headers = {}
        self._content = []
        self._size = 0

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_field.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        """The part's name, refused unless it is `file` or a new text field while there is room for one."""
        if not self._headers:
            raise ClientError("an upload form part has no headers (Content-Disposition names each field)")
        kind, params = parse_options_header(self._headers.get("content-disposition"))
        if kind != b"form-data" or b"name" not in params:
            raise ClientError("an upload form part has no Content-Disposition: form-data; name=...")
        self._name = params[b"name"].decode("latin-1")
        if self._name == FILE_PART:
            return
        if b"filename" in params:
            raise ClientError(f"the upload form sends a file as part {self._name!r}: the image goes in part 'file'")
        if self._name in self.fields:
            raise ClientError(f"the upload form has the field {self._name!r} twice")
        if len(self.fields) >= MAX_FIELDS:
            raise ClientError(f"the upload form has more than {MAX_FIELDS} fields")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._name != FILE_PART and self._size > MAX_FIELD_BYTES:
            raise ClientError(f"the upload form's field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")
        self._content.append(data[start:end])

    def part_end(self) -> None:
        content = b"".join(self._content)
        if self._name == FILE_PART:
            self.file = content
            raise _FileRead
        try:
            self.fields[self._name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientError(f"the upload form's field {self._name!r} is not UTF-8 text") from None

    def end(self) -> None:
        self.ended = True
