"""A JSON description of a SCORM data model, for validating calls in the browser.

`describe(standard, options)` is built from the same tables the server's engine
uses (`scorm.datamodel12`, `scorm.datamodel2004`, `scorm.types`, `scorm.codes`),
so a JavaScript adapter that follows it gives the server's error codes.

Format (format_version 1), every value JSON:

    {
      "format_version": 1,
      "standard": "1.2" | "2004",
      "version": "3.4" | "1.0",              # the value of cmi._version
      "methods": [8 API function names],      # Initialize, Terminate, GetValue,
                                              # SetValue, Commit, GetLastError,
                                              # GetErrorString, GetDiagnostic order
      "elements": {
        "<pattern>": {                        # array indexes written "n":
                                              # "cmi.interactions.n.id"
          "access": "r" | "w" | "rw",
          "type": "<type name>",              # a key of "types", or a name
                                              # checked in code (see below)
          "max_length": int | null,           # in code points; longer -> TOO_LONG
          "vocabulary": [str] | null,         # accepted words; with a pattern type
                                              # a value may be a word or match it
          "minimum": number | null,           # inclusive range of numeric types
          "maximum": number | null,
          "blank": bool,                      # "" accepted (SCORM 1.2 CMIBlank)
          "default": str | null,              # GetValue before any SetValue;
                                              # null -> "not initialized" code
          "write_once": bool,                 # a second, different value fails
          "unique": bool,                     # no other record of the array may
                                              # hold the same value
          "response": "learner" | "correct" | null
                                              # validated by the interaction's type
        }, ...
      },
      "prefixed": {"<prefix>": "<pattern>"},  # names matched by prefix plus a
                                              # closing "}" (adl.nav.request_valid.
                                              # choice.{target=...})
      "children": {"<container pattern>": [child names]},   # _children values
      "arrays": {"<array pattern>": "<creator field>" | null},
                                              # arrays with _count; a new record
                                              # (index == _count) must be started by
                                              # the creator field (null: any field)
      "language_codes": [str],                # ISO 639-1 and 639-2 codes a language
                                              # tag's primary subtag may use
      "types": {"<type name>": "<regular expression>"},
                                              # full-match patterns valid in Python
                                              # re and JavaScript RegExp
      "responses": {                          # SCORM 2004 only
        "single_pattern_types": [...],        # one correct_responses pattern only
        "unique_pattern_types": [...]         # patterns must differ
      },
      "codes": {                              # error code for each situation
        "type_mismatch", "out_of_range", "too_long", "read_only", "write_only",
        "keyword_set", "not_initialized" (0: GetValue returns ""),
        "index_get", "index_set", "dependency", "set_failure",
        "before_init": [get, set, commit, terminate],
        "after_end": [get, set, commit, terminate],
        "init_running", "init_ended"
      },
      "undefined": {                          # codes for names that are not elements
        "empty": [get, set],
        "element_in_category": [get, set],    # parent is a known container
        "element": [get, set],
        "keyword_on_element": {"_children": [get, set], "_count": [get, set],
                               "_version": [get, set]},
        "keyword_unknown_parent": [get, set]
      },
      "error_strings": {"<code>": "<text>"},  # GetErrorString; unknown code -> ""
      "options": {"scorm12_suspend_data_max": int}
    }

Types checked in code rather than by a pattern: "localized_string" (an optional
"{lang=<tag>}" prefix whose tag passes "language"), "language" (pattern, then
the primary subtag must be in "language_codes"), "response" (SCORM 2004
interaction formats, `scorm.responses`), and vocabulary-only types ("state",
"CMIVocabulary"). Types with no pattern and no vocabulary ("characterstring",
"CMIString255", "CMIFeedback") accept any text within max_length.
"""

from __future__ import annotations

from scorm import datamodel12, datamodel2004, responses
from scorm.codes import OUT_OF_RANGE, TOO_LONG, TYPE_MISMATCH
from scorm.elements import DataModel, ElementSpec
from scorm.languages import ISO_639_1, ISO_639_2
from scorm.runtime import _RULES_12, _RULES_2004, RuntimeOptions
from scorm.types import TYPE_PATTERNS

FORMAT_VERSION = 1


def _element(spec: ElementSpec) -> dict:
    return {
        "access": spec.access,
        "type": spec.type,
        "max_length": spec.max_length,
        "vocabulary": list(spec.vocabulary) if spec.vocabulary is not None else None,
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "blank": spec.blank,
        "default": spec.default,
        "write_once": spec.write_once,
        "unique": spec.unique,
        "response": spec.response,
    }


def _undefined(model: DataModel) -> dict:
    def pair(undefined) -> list[int]:
        return [undefined.get_code, undefined.set_code]

    known_container = next(name for name in model.children if name != "cmi")
    known_element = next(iter(model.elements))
    return {
        "empty": pair(model.undefined_empty()),
        "element_in_category": pair(model.undefined_element(known_container)),
        "element": pair(model.undefined_element("")),
        "keyword_on_element": {
            keyword: pair(model.undefined_keyword(keyword, known_element))
            for keyword in ("_children", "_count", "_version")
        },
        "keyword_unknown_parent": pair(model.undefined_keyword("_count", "unknown")),
    }


def describe(standard: str, options: RuntimeOptions = RuntimeOptions()) -> dict:
    """Describe the data model and API codes of one standard as JSON-able data.

    Raises ValueError for a standard other than "1.2" or "2004".
    """
    if standard == "1.2":
        model: DataModel = datamodel12.data_model(options.scorm12_suspend_data_max)
        rules = _RULES_12
    elif standard == "2004":
        model = datamodel2004.data_model()
        rules = _RULES_2004
    else:
        raise ValueError(
            f"unknown SCORM standard {standard!r}; expected '1.2' or '2004'"
        )
    kinds = rules.kind_codes
    description = {
        "format_version": FORMAT_VERSION,
        "standard": standard,
        "version": model.version,
        "methods": list(rules.methods),
        "elements": {name: _element(spec) for name, spec in model.elements.items()},
        "prefixed": {prefix: spec.name for prefix, spec in model.prefixed.items()},
        "children": {name: list(kids) for name, kids in model.children.items()},
        "arrays": dict(model.arrays),
        "types": dict(TYPE_PATTERNS),
        "language_codes": sorted(ISO_639_1 | ISO_639_2),
        "codes": {
            "type_mismatch": kinds[TYPE_MISMATCH],
            "out_of_range": kinds[OUT_OF_RANGE],
            "too_long": kinds[TOO_LONG],
            "read_only": rules.read_only,
            "write_only": rules.write_only,
            "keyword_set": rules.keyword_set,
            "not_initialized": rules.not_initialized,
            "index_get": rules.index_get,
            "index_set": rules.index_set,
            "dependency": rules.dependency,
            "set_failure": rules.set_failure,
            "before_init": list(rules.before_init),
            "after_end": list(rules.after_end),
            "init_running": rules.init_running,
            "init_ended": rules.init_ended,
        },
        "undefined": _undefined(model),
        "error_strings": dict(rules.error_strings),
        "options": {"scorm12_suspend_data_max": options.scorm12_suspend_data_max},
    }
    if standard == "2004":
        description["responses"] = {
            "single_pattern_types": sorted(responses.SINGLE_PATTERN_TYPES),
            "unique_pattern_types": sorted(responses.UNIQUE_PATTERN_TYPES),
        }
    return description
