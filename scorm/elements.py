"""Data model elements and the resolution of element names.

A data model is a table of leaf elements keyed by a pattern in which every array
index is written "n" ("cmi.interactions.n.id"), plus the containers that return
the keywords _children and _count. `DataModel.resolve` turns a name a SCO passes
to GetValue or SetValue into a `Resolved` (the element, the storage key and the
arrays it sits in) or an `Undefined` carrying the error codes of the standard.
Results are cached by the full name, so a name is parsed once per process.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from scorm.types import Check, make_check

READ = "r"
WRITE = "w"
READ_WRITE = "rw"

KEYWORDS = ("_children", "_count", "_version")

# The cache stores every distinct name up to this size,
# so random names sent by a faulty SCO cannot grow it without bound.
CACHE_MAX = 50_000
# An array index longer than this names no element that can exist, so it is
# read as sys.maxsize without calling int(), which raises ValueError on more
# than 4300 digits (sys.get_int_max_str_digits, Python 3.11).
MAX_INDEX_DIGITS = 18


@dataclass(frozen=True, slots=True)
class ElementSpec:
    """One leaf element of a data model and the rules of its value."""

    name: str
    access: str
    type: str
    max_length: int | None = None
    vocabulary: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    blank: bool = False
    default: str | None = None
    write_once: bool = False
    unique: bool = False
    response: str | None = None  # "learner" or "correct": validated by interaction type
    check: Check = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check = make_check(
            self.type,
            max_length=self.max_length,
            vocabulary=self.vocabulary,
            minimum=self.minimum,
            maximum=self.maximum,
            blank=self.blank,
        )
        object.__setattr__(self, "check", check)


@dataclass(frozen=True, slots=True)
class ArrayLevel:
    """One array an element sits in: where its count is stored and the index used."""

    count_key: str
    index: int
    record_prefix: str  # "cmi.interactions.3." for index 3
    creator: str | None  # the field that creates a record; None: any field


@dataclass(frozen=True, slots=True)
class Resolved:
    """A defined element name: a leaf (spec set) or a keyword (keyword set)."""

    key: str
    spec: ElementSpec | None
    arrays: tuple[ArrayLevel, ...] = ()
    keyword: str | None = None
    keyword_value: str | None = None  # _children and _version: the fixed value


@dataclass(frozen=True, slots=True)
class Undefined:
    """A name that is not an element, with the codes GetValue and SetValue give."""

    get_code: int
    set_code: int


class DataModel:
    """The element table of one standard and the resolution of names against it."""

    def __init__(
        self,
        standard: str,
        version: str,
        elements: list[ElementSpec],
        children: dict[str, tuple[str, ...]],
        arrays: dict[str, str | None],
        prefixed: dict[str, ElementSpec] | None = None,
    ) -> None:
        self.standard = standard
        self.version = version
        self.elements = {spec.name: spec for spec in elements}
        self.children = children
        self.arrays = arrays  # array pattern -> field that creates a record (or None)
        # Names matched by prefix and a closing "}" because their last part may
        # contain dots (adl.nav.request_valid.choice.{target=a.b}).
        self.prefixed = prefixed or {}
        self._cache: dict[str, Resolved | Undefined] = {}

    def resolve(self, name: str) -> Resolved | Undefined:
        """Resolve an element name, from the cache when it was seen before."""
        found = self._cache.get(name)
        if found is None:
            found = self._resolve_uncached(name)
            if len(self._cache) < CACHE_MAX:
                self._cache[sys.intern(name)] = found
        return found

    def _resolve_uncached(self, name: str) -> Resolved | Undefined:
        if not name:
            return self.undefined_empty()
        for prefix, prefixed_spec in self.prefixed.items():
            if (
                name.startswith(prefix)
                and name.endswith("}")
                and len(name) > len(prefix) + 1
            ):
                return Resolved(sys.intern(name), prefixed_spec)
        parts = name.split(".")
        pattern_parts: list[str] = []
        indices: list[int] = []
        for part in parts:
            if part.isdigit() and part.isascii() and (part == "0" or part[0] != "0"):
                pattern_parts.append("n")
                indices.append(int(part) if len(part) <= MAX_INDEX_DIGITS else sys.maxsize)
            else:
                pattern_parts.append(part)
        last = pattern_parts[-1]
        if last in KEYWORDS:
            return self._resolve_keyword(name, pattern_parts, indices)
        pattern = ".".join(pattern_parts)
        spec = self.elements.get(pattern)
        if spec is None:
            return self.undefined_element(".".join(pattern_parts[:-1]))
        key = sys.intern(name)
        return Resolved(key, spec, self._array_levels(parts, pattern_parts, indices))

    def _array_levels(
        self, parts: list[str], pattern_parts: list[str], indices: list[int]
    ) -> tuple[ArrayLevel, ...]:
        levels = []
        index_iter = iter(indices)
        for position, part in enumerate(pattern_parts):
            if part != "n":
                continue
            array_pattern = ".".join(pattern_parts[:position])
            array_name = ".".join(parts[:position])
            levels.append(
                ArrayLevel(
                    count_key=sys.intern(array_name + "._count"),
                    index=next(index_iter),
                    record_prefix=sys.intern(".".join(parts[: position + 1]) + "."),
                    creator=self.arrays.get(array_pattern),
                )
            )
        return tuple(levels)

    def _resolve_keyword(
        self, name: str, pattern_parts: list[str], indices: list[int]
    ) -> Resolved | Undefined:
        keyword = pattern_parts[-1]
        parent = ".".join(pattern_parts[:-1])
        parts = name.split(".")
        if keyword == "_children" and parent in self.children:
            value = ",".join(self.children[parent])
            return Resolved(sys.intern(name), None, (), keyword, value)
        if keyword == "_count" and parent in self.arrays:
            levels = self._array_levels(parts[:-1], pattern_parts[:-1], indices)
            return Resolved(sys.intern(name), None, levels, keyword, None)
        if keyword == "_version" and parent == "cmi":
            return Resolved(sys.intern(name), None, (), keyword, self.version)
        return self.undefined_keyword(keyword, parent)

    def is_known(self, pattern: str) -> bool:
        """Tell whether a pattern names a leaf element, a container or an array."""
        return (
            pattern in self.elements
            or pattern in self.children
            or pattern in self.arrays
        )

    # The codes for undefined names differ between the standards.
    def undefined_empty(self) -> Undefined:
        raise NotImplementedError

    def undefined_element(self, parent: str) -> Undefined:
        raise NotImplementedError

    def undefined_keyword(self, keyword: str, parent: str) -> Undefined:
        raise NotImplementedError


class DataModel12(DataModel):
    """SCORM 1.2 codes for undefined names (SCORM 1.2 RTE)."""

    def undefined_empty(self) -> Undefined:
        return Undefined(201, 201)

    def undefined_element(self, parent: str) -> Undefined:
        # An unknown leaf of a known category (cmi.core.bogus) is an invalid
        # argument; an unknown category (cmi.exit, xyz.a) is not implemented.
        if parent != "cmi" and (parent in self.children or parent in self.arrays):
            return Undefined(201, 201)
        return Undefined(401, 401)

    def undefined_keyword(self, keyword: str, parent: str) -> Undefined:
        if not self.is_known(parent):
            return Undefined(401, 401)
        if keyword == "_children":
            return Undefined(202, 402)
        if keyword == "_count":
            return Undefined(203, 402)
        return Undefined(401, 402)


class DataModel2004(DataModel):
    """SCORM 2004 codes for undefined names (SCORM 2004 RTE)."""

    def undefined_empty(self) -> Undefined:
        return Undefined(301, 351)

    def undefined_element(self, parent: str) -> Undefined:
        return Undefined(401, 401)

    def undefined_keyword(self, keyword: str, parent: str) -> Undefined:
        # A keyword the element does not have (cmi.score._count) is a get failure.
        if self.is_known(parent):
            return Undefined(301, 404)
        return Undefined(401, 401)
