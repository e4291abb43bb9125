"""The SCORM 2004 run-time data model (SCORM 2004 4th Edition RTE) and adl.nav.

Maximum lengths are the smallest permitted maximums (SPM) of the 4th Edition,
which also apply to 2nd and 3rd Edition content: a longer value is refused with
351 and never truncated. GetValue of an element without a default returns 403 until it is set.
"""

from __future__ import annotations

from functools import lru_cache

from scorm.elements import READ, READ_WRITE, WRITE, DataModel2004, ElementSpec

VERSION = "1.0"

COMPLETION = ("completed", "incomplete", "not attempted", "unknown")
SUCCESS = ("passed", "failed", "unknown")
EXIT = ("time-out", "suspend", "logout", "normal", "")
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)
RESULTS = ("correct", "incorrect", "unanticipated", "neutral")
NAV_REQUESTS = (
    "continue",
    "previous",
    "exit",
    "exitAll",
    "abandon",
    "abandonAll",
    "suspendAll",
    "_none_",
)
# adl.nav.request_valid.choice.{target=<id>} and .jump.{target=<id>}: the target
# identifier may contain dots, so these names are matched by prefix.
REQUEST_VALID_PREFIXES = (
    "adl.nav.request_valid.choice.{target=",
    "adl.nav.request_valid.jump.{target=",
)

CHILDREN: dict[str, tuple[str, ...]] = {
    "cmi.comments_from_learner": ("comment", "location", "timestamp"),
    "cmi.comments_from_lms": ("comment", "location", "timestamp"),
    "cmi.interactions": (
        "id",
        "type",
        "objectives",
        "timestamp",
        "correct_responses",
        "weighting",
        "learner_response",
        "result",
        "latency",
        "description",
    ),
    "cmi.learner_preference": (
        "audio_level",
        "language",
        "delivery_speed",
        "audio_captioning",
    ),
    "cmi.objectives": (
        "id",
        "score",
        "success_status",
        "completion_status",
        "progress_measure",
        "description",
    ),
    "cmi.objectives.n.score": ("scaled", "raw", "min", "max"),
    "cmi.score": ("scaled", "raw", "min", "max"),
}

# Array pattern -> the field that creates a record (an interaction or objective
# needs its id first, 408 otherwise); None lets any field create it.
ARRAYS: dict[str, str | None] = {
    "cmi.comments_from_learner": None,
    "cmi.comments_from_lms": None,
    "cmi.interactions": "id",
    "cmi.interactions.n.objectives": None,
    "cmi.interactions.n.correct_responses": None,
    "cmi.objectives": "id",
}


def _real(name: str, access: str = READ_WRITE, **limits: float | None) -> ElementSpec:
    return ElementSpec(name, access, "real", **limits)  # type: ignore[arg-type]


def _comments(prefix: str, access: str) -> list[ElementSpec]:
    return [
        ElementSpec(
            f"{prefix}.n.comment", access, "localized_string", max_length=4000 + 20
        ),
        ElementSpec(f"{prefix}.n.location", access, "characterstring", max_length=250),
        ElementSpec(f"{prefix}.n.timestamp", access, "time"),
    ]


def _score(prefix: str) -> list[ElementSpec]:
    return [
        _real(f"{prefix}.scaled", minimum=-1, maximum=1),
        _real(f"{prefix}.raw"),
        _real(f"{prefix}.min"),
        _real(f"{prefix}.max"),
    ]


def _objectives() -> list[ElementSpec]:
    return [
        ElementSpec(
            "cmi.objectives.n.id",
            READ_WRITE,
            "long_identifier",
            max_length=4000,
            write_once=True,
            unique=True,
        ),
        *_score("cmi.objectives.n.score"),
        ElementSpec(
            "cmi.objectives.n.success_status",
            READ_WRITE,
            "state",
            vocabulary=SUCCESS,
            default="unknown",
        ),
        ElementSpec(
            "cmi.objectives.n.completion_status",
            READ_WRITE,
            "state",
            vocabulary=COMPLETION,
            default="unknown",
        ),
        _real("cmi.objectives.n.progress_measure", minimum=0, maximum=1),
        ElementSpec(
            "cmi.objectives.n.description",
            READ_WRITE,
            "localized_string",
            max_length=250 + 20,
        ),
    ]


def _interactions() -> list[ElementSpec]:
    prefix = "cmi.interactions.n"
    return [
        ElementSpec(f"{prefix}.id", READ_WRITE, "long_identifier", max_length=4000),
        ElementSpec(
            f"{prefix}.type", READ_WRITE, "state", vocabulary=INTERACTION_TYPES
        ),
        ElementSpec(
            f"{prefix}.objectives.n.id",
            READ_WRITE,
            "long_identifier",
            max_length=4000,
            unique=True,
        ),
        ElementSpec(f"{prefix}.timestamp", READ_WRITE, "time"),
        ElementSpec(
            f"{prefix}.correct_responses.n.pattern",
            READ_WRITE,
            "response",
            response="correct",
        ),
        _real(f"{prefix}.weighting"),
        ElementSpec(
            f"{prefix}.learner_response", READ_WRITE, "response", response="learner"
        ),
        ElementSpec(f"{prefix}.result", READ_WRITE, "real", vocabulary=RESULTS),
        ElementSpec(f"{prefix}.latency", READ_WRITE, "timeinterval"),
        ElementSpec(
            f"{prefix}.description", READ_WRITE, "localized_string", max_length=250 + 20
        ),
    ]


def _elements() -> list[ElementSpec]:
    return [
        *_comments("cmi.comments_from_learner", READ_WRITE),
        *_comments("cmi.comments_from_lms", READ),
        ElementSpec(
            "cmi.completion_status",
            READ_WRITE,
            "state",
            vocabulary=COMPLETION,
            default="unknown",
        ),
        _real("cmi.completion_threshold", READ),
        ElementSpec("cmi.credit", READ, "state", default="credit"),
        ElementSpec("cmi.entry", READ, "state", default="ab-initio"),
        ElementSpec("cmi.exit", WRITE, "state", vocabulary=EXIT),
        *_interactions(),
        ElementSpec("cmi.launch_data", READ, "characterstring"),
        ElementSpec("cmi.learner_id", READ, "long_identifier", default=""),
        ElementSpec("cmi.learner_name", READ, "localized_string", default=""),
        _real("cmi.learner_preference.audio_level", minimum=0, default="1"),
        ElementSpec(
            "cmi.learner_preference.language",
            READ_WRITE,
            "language",
            max_length=250,
            default="",
        ),
        _real("cmi.learner_preference.delivery_speed", minimum=0, default="1"),
        ElementSpec(
            "cmi.learner_preference.audio_captioning",
            READ_WRITE,
            "state",
            vocabulary=("-1", "0", "1"),
            default="0",
        ),
        ElementSpec("cmi.location", READ_WRITE, "characterstring", max_length=1000),
        ElementSpec("cmi.max_time_allowed", READ, "timeinterval"),
        ElementSpec("cmi.mode", READ, "state", default="normal"),
        *_objectives(),
        _real("cmi.progress_measure", minimum=0, maximum=1),
        _real("cmi.scaled_passing_score", READ, minimum=-1, maximum=1),
        *_score("cmi.score"),
        ElementSpec("cmi.session_time", WRITE, "timeinterval"),
        ElementSpec(
            "cmi.success_status",
            READ_WRITE,
            "state",
            vocabulary=SUCCESS,
            default="unknown",
        ),
        ElementSpec(
            "cmi.suspend_data", READ_WRITE, "characterstring", max_length=64000
        ),
        ElementSpec(
            "cmi.time_limit_action", READ, "state", default="continue,no message"
        ),
        ElementSpec("cmi.total_time", READ, "timeinterval", default="PT0H0M0S"),
        ElementSpec(
            "adl.nav.request",
            READ_WRITE,
            "nav_request",
            vocabulary=NAV_REQUESTS,
            default="_none_",
        ),
        ElementSpec("adl.nav.request_valid.continue", READ, "state", default="unknown"),
        ElementSpec("adl.nav.request_valid.previous", READ, "state", default="unknown"),
    ]


# NOTE: the localized strings' maximums count the text only; 20 characters are
# added for a "{lang=...}" prefix, an approximation of the SPM rule that excludes it.


@lru_cache(maxsize=1)
def data_model() -> DataModel2004:
    """Return the SCORM 2004 data model."""
    request_valid = ElementSpec(
        "adl.nav.request_valid.choice.{target=}", READ, "state", default="unknown"
    )
    prefixed = {prefix: request_valid for prefix in REQUEST_VALID_PREFIXES}
    return DataModel2004("2004", VERSION, _elements(), CHILDREN, ARRAYS, prefixed)
