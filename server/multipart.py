"""A streaming multipart/form-data parser (RFC 7578) that never keeps a whole file part in memory.

Feed it the body chunk by chunk. Form fields are kept in memory up to a small
limit; file parts go to a sink the caller opens for each part, so memory stays
bounded by the chunk size whatever the upload size.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import BinaryIO, Callable

MAX_HEADER_SIZE = 16 * 1024
MAX_FIELD_SIZE = 64 * 1024
MAX_PARTS = 100

_BOUNDARY = re.compile(r'boundary=(?:"([^"]{1,200})"|([^\s;]{1,200}))', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not valid multipart/form-data."""


def parse_boundary(content_type: str) -> bytes:
    """Return the boundary of a multipart/form-data Content-Type or raise MultipartError."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "multipart/form-data":
        raise MultipartError(f"expected multipart/form-data, got {media_type or '(none)'!r}")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise MultipartError("the multipart/form-data Content-Type has no boundary")
    return (match.group(1) or match.group(2)).encode("latin-1")


def _parse_disposition(raw_headers: bytes) -> tuple[str, str | None]:
    message = Message()
    for line in raw_headers.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            message[name.strip()] = value.strip()
    if message.get("Content-Disposition") is None:
        raise MultipartError("a part has no Content-Disposition header")
    name = message.get_param("name", header="Content-Disposition")
    filename = message.get_param("filename", header="Content-Disposition")
    if not isinstance(name, str) or not name:
        raise MultipartError("a part has no field name")
    return name, filename if isinstance(filename, str) else None


class MultipartParser:
    """Parse a multipart/form-data body fed in chunks.

    `open_file(field_name, filename)` returns a writable binary file for a
    file part, or None to discard the part. Form fields end up in `fields`.
    """

    def __init__(self, boundary: bytes, open_file: Callable[[str, str], BinaryIO | None]):
        self.delimiter = b"\r\n--" + boundary
        self.open_file = open_file
        self.fields: dict[str, str] = {}
        self.files: dict[str, str] = {}
        self.buffer = b"\r\n"  # so the first boundary matches the delimiter
        self.state = "preamble"
        self.parts = 0
        self.field_name = ""
        self.field_value = bytearray()
        self.sink: BinaryIO | None = None
        self.is_file = False

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while self._step():
            pass

    def _step(self) -> bool:
        if self.state == "preamble":
            index = self.buffer.find(self.delimiter)
            if index < 0:
                self.buffer = self.buffer[-len(self.delimiter):]
                return False
            self.buffer = self.buffer[index + len(self.delimiter):]
            self.state = "after_boundary"
            return True
        if self.state == "after_boundary":
            if len(self.buffer) < 2:
                return False
            if self.buffer.startswith(b"--"):
                self.state = "done"
                self.buffer = b""
                return False
            if not self.buffer.startswith(b"\r\n"):
                raise MultipartError("a boundary is not followed by a line break")
            self.buffer = self.buffer[2:]
            self.state = "headers"
            return True
        if self.state == "headers":
            index = self.buffer.find(b"\r\n\r\n")
            if index < 0:
                if len(self.buffer) > MAX_HEADER_SIZE:
                    raise MultipartError("the headers of a part are too large")
                return False
            self._begin_part(self.buffer[:index])
            self.buffer = self.buffer[index + 4:]
            self.state = "body"
            return True
        if self.state == "body":
            index = self.buffer.find(self.delimiter)
            if index < 0:
                # Keep a tail that could be the start of the delimiter.
                keep = len(self.delimiter) - 1
                if len(self.buffer) > keep:
                    self._write(self.buffer[:-keep])
                    self.buffer = self.buffer[-keep:]
                return False
            self._write(self.buffer[:index])
            self._end_part()
            self.buffer = self.buffer[index + len(self.delimiter):]
            self.state = "after_boundary"
            return True
        if self.state == "done":
            self.buffer = b""  # the epilogue is ignored
        return False

    def _begin_part(self, raw_headers: bytes) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MultipartError(f"the body has more than {MAX_PARTS} parts")
        name, filename = _parse_disposition(raw_headers)
        self.field_name = name
        self.is_file = filename is not None
        self.field_value = bytearray()
        self.sink = self.open_file(name, filename) if filename is not None else None
        if filename is not None:
            self.files[name] = filename

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self.is_file:
            if self.sink is not None:
                self.sink.write(data)
            return
        self.field_value += data
        if len(self.field_value) > MAX_FIELD_SIZE:
            raise MultipartError(f"form field {self.field_name!r} is larger than {MAX_FIELD_SIZE} bytes")

    def _end_part(self) -> None:
        if not self.is_file:
            self.fields[self.field_name] = self.field_value.decode("utf-8", "replace")
        self.sink = None

    def finish(self) -> None:
        """Raise MultipartError unless the closing boundary was read."""
        if self.state != "done":
            raise MultipartError("the body ended before the closing boundary")
