"""`python -m server`: serve the API, or create the first admin.

Every setting is a flag and a `SCORM_*` environment variable named after it
(`--rate-limit` is `SCORM_RATE_LIMIT`). A flag wins over the variable, which
wins over the default in server/config.py.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from server.config import Settings
from storage.errors import DuplicateUsername

log = logging.getLogger(__name__)

PASSWORD_ENV = "SCORM_ADMIN_PASSWORD"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"invalid boolean {text!r}; use true or false")


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class Option:
    """One setting as a command-line flag and an environment variable."""

    field: str
    flag: str
    parse: Callable[[str], Any]
    help: str

    @property
    def env(self) -> str:
        return "SCORM_" + self.flag.lstrip("-").upper().replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("host", "--host", str, "address to listen on"),
    Option("port", "--port", int, "TCP port to listen on (0 picks a free port)"),
    Option("data_dir", "--data-dir", Path,
           "folder for the SQLite file, packages, content and the secret key"),
    Option("store", "--store", str,
           "store URL: sqlite:///PATH or mongodb://...; empty means "
           "DATA_DIR/scorm.sqlite3"),
    Option("redis_url", "--redis-url", str,
           "Redis URL (redis://host:6379/0) shared by several processes for "
           "rate limits; empty means in-process counters"),
    Option("rate_limit", "--rate-limit", int,
           "requests a minute per client address, not counting those with "
           "an admin token that has authenticated before; 0 turns the limit off"),
    Option("runtime_rate_limit", "--runtime-rate-limit", int,
           "run-time and launch-token requests a minute per attempt; 0 turns "
           "the limit off"),
    Option("trusted_proxies", "--trusted-proxies", parse_list,
           "comma-separated proxy addresses or CIDR blocks whose "
           "X-Forwarded-For is trusted; empty trusts none"),
    Option("max_body_size", "--max-body-size", int,
           "largest request body other than a package upload, in bytes"),
    Option("secret_key", "--secret-key", str,
           "key that signs launch tokens; empty means a random key kept in "
           "DATA_DIR/secret_key"),
    Option("launch_token_ttl", "--launch-token-ttl", int,
           "lifetime of a launch token, in seconds"),
    Option("public_url", "--public-url", str,
           "base URL of launch URLs, as browsers reach the server; empty means "
           "the request's scheme and host"),
    Option("max_upload_size", "--max-upload-size", int,
           "largest package upload, in bytes"),
    Option("max_zip_entries", "--max-zip-entries", int,
           "most entries in a package zip"),
    Option("max_unpacked_size", "--max-unpacked-size", int,
           "largest total uncompressed size of a package, in bytes"),
    Option("max_compression_ratio", "--max-compression-ratio", int,
           "largest uncompressed-to-compressed size ratio of a zip entry"),
    Option("scorm12_suspend_data_max", "--scorm12-suspend-data-max", int,
           "most characters of cmi.suspend_data in SCORM 1.2; the standard's "
           "own limit is 4096, which many SCOs exceed"),
    Option("actor_idle_timeout", "--actor-idle-timeout", float,
           "seconds an idle attempt stays in memory before it is passivated"),
    Option("ended_actor_timeout", "--ended-actor-timeout", float,
           "seconds an idle attempt with no open session (its SCOs have "
           "terminated) stays in memory; at most --actor-idle-timeout"),
    Option("max_active_actors", "--max-active-actors", int,
           "most attempts kept in memory at once; beyond it, attempts are "
           "passivated"),
    Option("flush_interval_ms", "--flush-interval", int,
           "milliseconds between batched writes of the run-time log; 0 writes "
           "every change at once"),
    Option("flush_max_entries", "--flush-max-entries", int,
           "log entries that trigger a write before the flush interval ends"),
)


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m server",
        description="Serve the SCORM player server. Every flag is also a "
        "SCORM_* environment variable; a flag wins over the variable.",
    )
    for option in OPTIONS:
        default = getattr(defaults, option.field)
        if isinstance(default, tuple):
            default = ",".join(default)
        if isinstance(default, Path):
            default = str(default)
        parser.add_argument(
            option.flag,
            dest=option.field,
            type=option.parse,
            default=argparse.SUPPRESS,
            metavar=option.field.upper(),
            help=f"{option.help} (env {option.env}; default: {default!r})",
        )
    parser.add_argument(
        "--open-registration",
        dest="open_registration",
        action=argparse.BooleanOptionalAction,
        default=argparse.SUPPRESS,
        help="let anonymous callers create learner accounts with POST /api/users/ "
        f"(env SCORM_OPEN_REGISTRATION; default: {defaults.open_registration})",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("SCORM_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="level of log messages (env SCORM_LOG_LEVEL; default: 'INFO')",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    create = commands.add_parser(
        "createsuperuser",
        help="create an admin user and exit",
        description=f"Create an admin user. The password comes from {PASSWORD_ENV} "
        "or, when it is not set, from a prompt.",
    )
    create.add_argument("--username", required=True, help="username of the admin")
    create.add_argument("--email", required=True, help="email address of the admin")
    for option in OPTIONS:
        if option.field in ("data_dir", "store"):
            create.add_argument(
                option.flag,
                dest=option.field,
                type=option.parse,
                default=argparse.SUPPRESS,
                metavar=option.field.upper(),
                help=f"{option.help} (env {option.env})",
            )
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """Build Settings from parsed flags, then environment variables, then defaults.

    Raise ValueError naming the variable when an environment value is invalid.
    """
    values: dict[str, Any] = {}
    options = OPTIONS + (Option("open_registration", "--open-registration", parse_bool, ""),)
    for option in options:
        if hasattr(args, option.field):
            values[option.field] = getattr(args, option.field)
        elif environ.get(option.env, "") != "":
            try:
                values[option.field] = option.parse(environ[option.env])
            except ValueError as exc:
                raise ValueError(f"invalid {option.env}={environ[option.env]!r}: {exc}") from None
    settings = Settings(**values)
    check_settings(settings)
    return settings


def check_settings(settings: Settings) -> None:
    """Raise ValueError on a setting outside its range."""
    if not 0 <= settings.port <= 65535:
        raise ValueError(f"invalid port {settings.port}; use 0 to 65535")
    non_negative = (
        "rate_limit", "runtime_rate_limit", "flush_interval_ms", "actor_idle_timeout",
        "ended_actor_timeout",
    )
    for name in non_negative:
        if getattr(settings, name) < 0:
            raise ValueError(f"invalid {name} {getattr(settings, name)}; use 0 or more")
    positive = (
        "max_body_size", "max_upload_size", "launch_token_ttl", "max_zip_entries",
        "max_unpacked_size", "max_compression_ratio", "scorm12_suspend_data_max",
        "max_active_actors", "flush_max_entries",
    )
    for name in positive:
        if getattr(settings, name) < 1:
            raise ValueError(f"invalid {name} {getattr(settings, name)}; use 1 or more")


async def serve(settings: Settings, *, ready: Callable[[int], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then shut down in order.

    Shutdown stops accepting connections, closes the open ones, stops the
    services (the run-time flushes there) and closes the store.
    """
    from server.app import build_context, make_app, start_services, stop_services

    ctx = await build_context(settings)
    try:
        await start_services(ctx)
        server = HTTPServer(
            make_app(ctx),
            # Package uploads stream up to max_upload_size; every other body
            # is checked against max_body_size when its headers arrive.
            max_body_size=max(settings.max_body_size, settings.max_upload_size),
        )
        sockets = bind_sockets(settings.port, settings.host, family=socket.AF_UNSPEC)
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        log.info("serving on http://%s:%d/ (store: %s)", _url_host(settings.host), port,
                 settings.store_url.split("?", 1)[0].split("@")[-1])
        if ready is not None:
            ready(port)
        await _wait_for_signal()

        log.info("shutting down: no longer accepting connections")
        server.stop()
        # NOTE: closing a connection cuts a request still in progress on it;
        # the player resends an unanswered run-time batch, which is applied once.
        try:
            await asyncio.wait_for(server.close_all_connections(), timeout=10)
        except asyncio.TimeoutError:
            log.warning("some connections were still open after 10 seconds")
    finally:
        await stop_services(ctx)
    log.info("shut down")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _wait_for_signal() -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(signum)


def read_admin_password(environ: Mapping[str, str]) -> str:
    """Return the admin password from SCORM_ADMIN_PASSWORD or a prompt asked twice."""
    from server.handlers.users import MIN_PASSWORD_LENGTH

    password = environ.get(PASSWORD_ENV)
    if password is None:
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Password (again): ")
        except EOFError:
            raise ValueError(
                f"no password given; set {PASSWORD_ENV} or run the command in a terminal"
            ) from None
        if again != password:
            raise ValueError("the two passwords differ; run the command again")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password is too short; use at least {MIN_PASSWORD_LENGTH} characters")
    return password


async def create_superuser(settings: Settings, username: str, email: str, password: str) -> int:
    """Create an admin user in the configured store and return its id."""
    from server import auth
    from storage import open_store

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    store = open_store(settings.store_url)
    await store.open()
    try:
        password_hash = await auth.hash_password(password)
        user = await store.create_user(
            username=username, email=email, password_hash=password_hash, is_staff=True
        )
    finally:
        await store.close()
    return user.id


def run_createsuperuser(args: argparse.Namespace, settings: Settings, environ: Mapping[str, str]) -> int:
    from server.handlers.users import EMAIL_PATTERN, USERNAME_PATTERN

    if not USERNAME_PATTERN.match(args.username):
        print(f"error: invalid username {args.username!r}; use 1 to 150 letters, "
              "digits and the characters @ . + - _", file=sys.stderr)
        return 2
    if not EMAIL_PATTERN.match(args.email):
        print(f"error: invalid email {args.email!r}; use an address like name@example.com",
              file=sys.stderr)
        return 2
    try:
        password = read_admin_password(environ)
        user_id = asyncio.run(create_superuser(settings, args.username, args.email, password))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DuplicateUsername:
        print(f"error: username {args.username!r} is taken; choose another",
              file=sys.stderr)
        return 1
    print(f"Created admin {args.username!r} with id {user_id}.")
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run the command line; return the exit status."""
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = settings_from(args, environ)
    except ValueError as exc:
        parser.error(str(exc))

    if args.command == "createsuperuser":
        return run_createsuperuser(args, settings, environ)
    try:
        asyncio.run(serve(settings))
    except ValueError as exc:
        log.error("cannot start: %s", exc)
        return 2
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    return 0
