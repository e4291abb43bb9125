"""Exceptions of the SCORM domain.

ScormError
└── PackageError          a package cannot be imported (entry, line, cause)
    ├── ZipRejected       the zip file breaks a limit or a safety rule
    └── ManifestError     imsmanifest.xml is missing, not XML, or not SCORM
"""

from __future__ import annotations


class ScormError(Exception):
    """Base class of the SCORM domain's exceptions."""


class PackageError(ScormError):
    """A package that cannot be imported.

    `entry` names the zip entry or file, `line` the line in it when known.
    `str()` reads like "imsmanifest.xml line 27: mismatched tag".
    """

    def __init__(self, cause: str, *, entry: str | None = None, line: int | None = None):
        self.cause = cause
        self.entry = entry
        self.line = line
        super().__init__(self.describe())

    def describe(self) -> str:
        where = self.entry or ""
        if self.line is not None:
            where = f"{where} line {self.line}".strip()
        return f"{where}: {self.cause}" if where else self.cause


class ZipRejected(PackageError):
    pass


class ManifestError(PackageError):
    pass
