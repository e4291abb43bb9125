"""The player page that learners open, and the static files it loads.

`GET /player/{attempt_id}?token=...` checks the launch token, sets the
`scorm_launch` cookie that the content handler accepts for the package's
files, and serves an HTML page with a table of contents, navigation buttons
and a frame for the current SCO. The page's JavaScript (server/static/)
provides the SCORM API and sends the SCO's calls to the run-time endpoints.
`GET /player/{attempt_id}/summary?token=...` returns the attempt's summary
for the page's closing screen.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import tornado.web

from server.context import AppContext
from server.handlers.base import QueryFreeLogging
from server.handlers.fields import parse_id, shown_id
from server.launch import InvalidLaunchToken
from storage.models import PACKAGE_READY, Attempt, Package

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
LAUNCH_COOKIE = "scorm_launch"

# The player's static files in the order the page loads its scripts.
SCRIPTS = ("datamodel.js", "adapter.js", "player.js")
STYLESHEET = "player.css"


def standard_key(scorm_standard: str) -> str:
    """Return "1.2" or "2004" for a package's `scorm_standard` label."""
    return "1.2" if "1.2" in scorm_standard else "2004"


def static_versions() -> dict[str, str]:
    """Return a content hash per static file, used as its `?v=` query."""
    versions = {}
    for path in STATIC_DIR.iterdir():
        if path.is_file():
            versions[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions


def toc_nodes(
    node: dict[str, Any], launchable: set[str], hidden: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Convert the organization tree of a manifest into table-of-contents nodes.

    Each node is `{"identifier", "title", "launchable", "children"}`. The
    manifest lists children under `children` or `items`. An item in `hidden`
    (isvisible="false" in the manifest) is left out and its children take its
    place. The player still reaches it with Next and Previous.
    """
    nodes = []
    for child in node.get("children") or node.get("items") or []:
        if not isinstance(child, dict):
            continue
        identifier = str(child.get("identifier", ""))
        children = toc_nodes(child, launchable, hidden)
        if identifier in hidden:
            nodes.extend(children)
            continue
        nodes.append({
            "identifier": identifier,
            "title": str(child.get("title") or identifier),
            "launchable": identifier in launchable,
            "children": children,
        })
    return nodes


def hidden_items(item_details: dict[str, Any]) -> frozenset[str]:
    """Return the identifiers of the items that the manifest marks isvisible="false"."""
    return frozenset(
        identifier
        for identifier, details in item_details.items()
        if isinstance(details, dict) and details.get("is_visible") is False
    )


def build_config(ctx: AppContext, attempt: Attempt, package: Package, token: str) -> dict[str, Any]:
    """Build the JSON configuration that the page's script reads."""
    manifest = package.manifest or {}
    items = [
        {
            "identifier": item.get("identifier"),
            "title": item.get("title") or item.get("identifier"),
            "scorm_type": item.get("scorm_type", "sco"),
            "launch_path": item.get("launch_path", ""),
        }
        for item in package.items
    ]
    launchable = {str(item["identifier"]) for item in items}

    item_details = manifest.get("items") if isinstance(manifest.get("items"), dict) else {}
    organization = manifest.get("organization")
    has_tree = isinstance(organization, dict) and bool(
        organization.get("children") or organization.get("items")
    )
    if has_tree:
        toc = toc_nodes(organization, launchable, hidden_items(item_details))
    else:
        toc = [{**item, "launchable": True, "children": []} for item in items]

    prerequisites = {
        identifier: details.get("prerequisites")
        for identifier, details in item_details.items()
        if isinstance(details, dict) and details.get("prerequisites")
    }
    control_mode = manifest.get("control_mode")
    if control_mode is None and isinstance(organization, dict):
        control_mode = organization.get("control_mode")

    return {
        "attemptId": attempt.id,
        "token": token,
        "standard": standard_key(manifest.get("standard") or package.scorm_standard),
        "title": package.title,
        "packageId": package.id,
        "contentBase": f"/content/{package.id}/",
        "apiBase": "/api",
        "items": items,
        "toc": toc,
        "prerequisites": prerequisites,
        "controlMode": control_mode if isinstance(control_mode, dict) else {},
        "suspendDataMax": ctx.settings.scorm12_suspend_data_max,
        "summaryUrl": f"/player/{attempt.id}/summary",
    }


class PlayerError(Exception):
    """A launch that cannot be served; `status` and `message` go to the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LaunchHandler(QueryFreeLogging):
    """Shared checks of the player's routes: the token and the attempt."""

    ctx: AppContext

    def initialize(self, ctx: AppContext, versions: dict[str, str]) -> None:
        self.ctx = ctx
        self.versions = versions

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def get_template_path(self) -> str:
        return str(TEMPLATE_DIR)

    def launch_token(self) -> str:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "launch" and value.strip():
            return value.strip()
        return self.get_query_argument("token", "")

    async def load_launch(self, attempt_text: str) -> tuple[str, Attempt, Package]:
        """Return the token, attempt and package of a launch; raise PlayerError.

        `attempt_text` is the attempt id as the URL path has it.
        """
        attempt_id = parse_id(attempt_text)
        if attempt_id is None:
            display_id = shown_id(attempt_text, quote=False)
            raise PlayerError(404, f"Attempt {display_id} was not found; start a new attempt.")
        token = self.launch_token()
        if not token:
            raise PlayerError(401, "The launch link has no token; open the course from your LMS.")
        try:
            token_attempt = self.ctx.services["launch_tokens"].verify(token)
        except InvalidLaunchToken as exc:
            raise PlayerError(401, str(exc)) from None
        if token_attempt != attempt_id:
            raise PlayerError(403, "The launch token belongs to another attempt; open the course "
                                   "again from your LMS.")
        attempt = await self.ctx.store.get_attempt(attempt_id)
        if attempt is None:
            raise PlayerError(404, f"Attempt {attempt_id} was not found; start a new attempt.")
        package = await self.ctx.store.get_package(attempt.package_id)
        if package is None or package.deleted_at is not None:
            raise PlayerError(404, f"The package of attempt {attempt_id} was deleted.")
        if package.status != PACKAGE_READY:
            raise PlayerError(409, f"Package {package.id} is not ready (status {package.status}).")
        return token, attempt, package

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, PlayerError) else (
            "The player failed to load; the failure was logged. Try again later."
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.render("player_error.html", status=status_code, message=message)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, PlayerError):
            log.info("player launch rejected with %d: %s", value.status, value.message)
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, PlayerError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)


class PlayerPageHandler(LaunchHandler):
    """Serves the player page of one attempt."""

    async def get(self, attempt_id: str) -> None:
        token, attempt, package = await self.load_launch(attempt_id)
        config = build_config(self.ctx, attempt, package, token)
        # The content handler accepts this cookie for the package's files, so
        # the SCO's own requests need no token in their URLs.
        self.set_cookie(
            LAUNCH_COOKIE,
            token,
            path=f"/content/{package.id}/",
            httponly=True,
            samesite="Lax",
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        # "</" in a title must not end the script element early.
        config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
        self.render(
            "player.html",
            title=package.title or "Course",
            config_json=config_json,
            multi_item=len(config["items"]) > 1,
            standard=config["standard"],
            static=self.static,
            scripts=SCRIPTS,
        )

    def static(self, name: str) -> str:
        return f"/static/{name}?v={self.versions.get(name, '0')}"


class SummaryHandler(LaunchHandler):
    """Returns the attempt's summary (status and score per item) as JSON."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, PlayerError) else "Internal server error."
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": message}))

    async def get(self, attempt_id: str) -> None:
        _, attempt, package = await self.load_launch(attempt_id)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({
            "attempt_id": attempt.id,
            "completion_status": attempt.completion_status,
            "success_status": attempt.success_status,
            "score": attempt.score,
            "is_complete": attempt.is_complete,
            "total_time_seconds": attempt.total_time_seconds,
            "items": attempt.items,
            "titles": {item.get("identifier"): item.get("title") for item in package.items},
        }, default=str))


def routes(ctx: AppContext) -> list[Any]:
    """Return the Tornado URL rules of the player page and its static files."""
    versions = static_versions()
    args = {"ctx": ctx, "versions": versions}
    return [
        (r"/player/(\d+)/?", PlayerPageHandler, args),
        (r"/player/(\d+)/summary/?", SummaryHandler, args),
        (r"/static/(.*)", tornado.web.StaticFileHandler, {"path": str(STATIC_DIR)}),
    ]


async def start(ctx: AppContext) -> None:
    """Start this part's background services; the player has none."""


async def stop(ctx: AppContext) -> None:
    """Stop this part's services; the player has none."""
