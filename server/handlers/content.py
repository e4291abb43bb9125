"""Package content: `GET`/`HEAD /content/{package_id}/{path}`.

Files are streamed by Tornado's StaticFileHandler (ETag, Range, 304) from
`<data_dir>/content/<package_id>/`. Access needs an admin API token or a
launch token of an attempt on this package, sent as `Authorization: Launch
<token>`, the `token` query argument or the `scorm_launch` cookie.
"""

from __future__ import annotations

import codecs
import functools
import json
import logging
import mimetypes
import os
import re
from typing import Any

import tornado.web

from server.context import AppContext
from server.handlers.base import QueryFreeLogging, hash_token
from server.handlers.fields import parse_id
from server.importer import content_root
from server.launch import InvalidLaunchToken
from storage.models import PACKAGE_READY

log = logging.getLogger(__name__)

LAUNCH_COOKIE = "scorm_launch"
# Types that Python's mimetypes table lacks or gets wrong on some systems.
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".vtt": "text/vtt",
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".css": "text/css",
    ".wasm": "application/wasm",
    ".swf": "application/x-shockwave-flash",
    ".pdf": "application/pdf",
}


def find_case_insensitive(root: str, relative: str) -> str | None:
    """Return the path under `root` matching `relative` ignoring case, or None.

    Folders that differ only in case ("media" and "Media") are all searched.
    """
    parts = [part for part in relative.split("/") if part]
    if not parts:
        return root
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    for name in names:
        if name.lower() == parts[0].lower():
            found = find_case_insensitive(os.path.join(root, name), "/".join(parts[1:]))
            if found is not None:
                return found
    return None


class ContentHandler(QueryFreeLogging, tornado.web.StaticFileHandler):
    """Serve one package's files to its admins and to learners with a launch token."""

    ctx: AppContext

    def initialize(self, ctx: AppContext) -> None:  # type: ignore[override]
        self.ctx = ctx
        super().initialize(path=str(content_root(ctx.settings)))

    async def get(self, path: str, include_body: bool = True) -> None:
        package_id, _, relative = path.partition("/")
        record_id = parse_id(package_id)
        if record_id is None or "\\" in relative or "\x00" in relative or not relative:
            raise tornado.web.HTTPError(404)
        await self._check_access(record_id)
        self.package_id = package_id
        await super().get(path, include_body=include_body)

    async def _check_access(self, package_id: int) -> None:
        store = self.ctx.store
        package = await store.get_package(package_id)
        if package is None or package.deleted_at is not None or package.status != PACKAGE_READY:
            raise tornado.web.HTTPError(404)
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "token" and value.strip():
            user = await store.get_user_by_token(hash_token(value.strip()))
            if user is not None and user.is_staff:
                return
            raise tornado.web.HTTPError(403)
        token = value.strip() if scheme.lower() == "launch" else ""
        token = token or self.get_query_argument("token", "") or self.get_cookie(LAUNCH_COOKIE, "") or ""
        if not token:
            raise tornado.web.HTTPError(401)
        try:
            attempt_id = self.ctx.services["launch_tokens"].verify(token)
        except InvalidLaunchToken:
            raise tornado.web.HTTPError(401) from None
        attempt = await store.get_attempt(attempt_id)
        if attempt is None or attempt.package_id != package_id:
            raise tornado.web.HTTPError(403)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        package_root = os.path.join(os.path.abspath(root), self.package_id)
        if not (absolute_path + os.sep).startswith(package_root + os.sep) or absolute_path == package_root:
            raise tornado.web.HTTPError(404)
        if not os.path.exists(absolute_path):
            relative = os.path.relpath(absolute_path, package_root).replace(os.sep, "/")
            found = find_case_insensitive(package_root, relative)
            if found is None:
                raise tornado.web.HTTPError(404)
            absolute_path = found
        real = os.path.realpath(absolute_path)
        if not (real + os.sep).startswith(os.path.realpath(package_root) + os.sep):
            raise tornado.web.HTTPError(404)
        if not os.path.isfile(real):
            raise tornado.web.HTTPError(404)  # no directory listing
        return real

    def get_content_type(self) -> str:
        assert self.absolute_path is not None
        extension = os.path.splitext(self.absolute_path)[1].lower()
        content_type = CONTENT_TYPES.get(extension) or mimetypes.guess_type(self.absolute_path)[0]
        content_type = content_type or "application/octet-stream"
        if content_type == "text/html":
            stat = os.stat(self.absolute_path)
            charset = html_charset(self.absolute_path, stat.st_mtime_ns, stat.st_size)
            if charset:
                content_type += f"; charset={charset}"
        return content_type

    def set_extra_headers(self, path: str) -> None:
        # Revalidate with the ETag on every use, and keep content private.
        self.set_header("Cache-Control", "private, no-cache")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Errors have the API's JSON shape; the file headers set so far are dropped.
        self.clear()
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        messages = {
            401: "Authentication required; send a launch token or an admin token.",
            403: "This token gives no access to this package's content.",
            404: "File not found in this package.",
        }
        message = messages.get(status_code, self._reason)
        self.finish(json.dumps({"error": message}))


def routes(ctx: AppContext) -> list[Any]:
    """Return the Tornado URL rule of package content."""
    return [(r"/content/(\d+/.*)", ContentHandler, {"ctx": ctx})]


async def start(ctx: AppContext) -> None:
    """Content serving has no background service."""


async def stop(ctx: AppContext) -> None:
    """Content serving has no background service."""


# Bytes a browser scans for <meta charset> (the HTML standard's prescan).
META_PRESCAN_BYTES = 1024
SNIFF_BYTES = 64 * 1024
_META_CHARSET = re.compile(rb"<meta[^>]+charset", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def html_charset(path: str, mtime_ns: int, size: int) -> str | None:
    """Return the charset to declare for an HTML file, or None to leave it to the file.

    A frame without a declared encoding inherits the player page's UTF-8,
    which garbles pages that some authoring tools export in Windows-1252. A
    file with a byte-order mark or a <meta charset> is left alone. Otherwise
    it is UTF-8 when its first 64 KiB decode as UTF-8, and Windows-1252 when
    they do not. `mtime_ns` and `size` key the cache.
    """
    with open(path, "rb") as file:
        head = file.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    if _META_CHARSET.search(head[:META_PRESCAN_BYTES]):
        return None
    try:
        # final=False: a character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"
