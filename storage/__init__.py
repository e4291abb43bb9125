"""Stores of users, courses, packages, attempts and run-time logs.

`open_store(url)` builds the backend that a store URL names; the caller then
awaits `store.open()` and, at shutdown, `store.close()`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from storage.base import Store

__all__ = ["Store", "open_store"]

SQLITE_PREFIX = "sqlite:///"
SQLITE_OPTIONS = {"synchronous", "readers", "busy_timeout_ms"}


def open_store(url: str) -> Store:
    """Return an unopened store for `url`.

    `sqlite:///PATH` is a SQLite file at PATH: `sqlite:///data/x.sqlite3` is
    relative to the working folder, `sqlite:////var/lib/x.sqlite3` absolute.
    Query options: `synchronous` (normal or full), `readers` (read
    connections), `busy_timeout_ms`. `mongodb://...` and `mongodb+srv://...`
    are MongoDB; the URL's path names the database, `scorm` by default.
    Raise ValueError on any other scheme or an invalid option.
    """
    if url.startswith(SQLITE_PREFIX):
        return _open_sqlite(url)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from storage.mongo import MongoStore

        return MongoStore(url)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ValueError(
        f"unsupported store URL scheme {scheme!r}; "
        "use sqlite:///PATH, mongodb:// or mongodb+srv://"
    )


def _open_sqlite(url: str) -> Store:
    from storage.sqlite import SQLiteStore

    path, _, query = url[len(SQLITE_PREFIX) :].partition("?")
    if not path or path == ":memory:":
        raise ValueError(
            f"invalid SQLite store URL {url!r}: name a file, as in sqlite:///data/scorm.sqlite3"
        )
    options = {name: values[-1] for name, values in parse_qs(query).items()}
    unknown = sorted(set(options) - SQLITE_OPTIONS)
    if unknown:
        raise ValueError(
            f"unknown SQLite store option(s) {', '.join(unknown)} in {url!r}; "
            f"allowed: {', '.join(sorted(SQLITE_OPTIONS))}"
        )
    kwargs: dict[str, object] = {}
    if "synchronous" in options:
        kwargs["synchronous"] = options["synchronous"]
    for name in ("readers", "busy_timeout_ms"):
        if name in options:
            try:
                kwargs[name] = int(options[name])
            except ValueError:
                raise ValueError(
                    f"invalid SQLite store option {name}={options[name]!r}; use an integer"
                ) from None
    return SQLiteStore(path, **kwargs)  # type: ignore[arg-type]
