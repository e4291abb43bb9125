"""The SCORM 1.2 CMI data model (SCORM 1.2 RTE).

Limits follow the standard (CMIString255, CMIString4096, CMIIdentifier),
except cmi.suspend_data, whose maximum is a runtime option (the standard's
4096 characters, or more for content that writes larger states).
"""

from __future__ import annotations

from functools import lru_cache

from scorm.elements import READ, READ_WRITE, WRITE, DataModel12, ElementSpec

VERSION = "3.4"
SUSPEND_DATA_MAX = 4096

STATUS = ("passed", "completed", "failed", "incomplete", "browsed", "not attempted")
EXIT = ("time-out", "suspend", "logout", "")
INTERACTION_TYPES = (
    "true-false",
    "choice",
    "fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
)
RESULTS = ("correct", "wrong", "unanticipated", "neutral")

CHILDREN: dict[str, tuple[str, ...]] = {
    "cmi": (
        "core",
        "suspend_data",
        "launch_data",
        "comments",
        "objectives",
        "student_data",
        "student_preference",
        "interactions",
    ),
    "cmi.core": (
        "student_id",
        "student_name",
        "lesson_location",
        "credit",
        "lesson_status",
        "entry",
        "score",
        "total_time",
        "lesson_mode",
        "exit",
        "session_time",
    ),
    "cmi.core.score": ("raw", "min", "max"),
    "cmi.objectives": ("id", "score", "status"),
    "cmi.objectives.n.score": ("raw", "min", "max"),
    "cmi.student_data": ("mastery_score", "max_time_allowed", "time_limit_action"),
    "cmi.student_preference": ("audio", "language", "speed", "text"),
    "cmi.interactions": (
        "id",
        "objectives",
        "time",
        "type",
        "correct_responses",
        "weighting",
        "student_response",
        "result",
        "latency",
    ),
}

# Array pattern -> field that creates a record; SCORM 1.2 lets any field do it.
ARRAYS: dict[str, str | None] = {
    "cmi.objectives": None,
    "cmi.interactions": None,
    "cmi.interactions.n.objectives": None,
    "cmi.interactions.n.correct_responses": None,
}


def _score(name: str) -> ElementSpec:
    # CMIDecimal or CMIBlank, from 0 to 100 (SCORM 1.2 RTE).
    return ElementSpec(
        name, READ_WRITE, "CMIDecimal", minimum=0, maximum=100, blank=True, default=""
    )


def _elements(suspend_data_max: int) -> list[ElementSpec]:
    return [
        ElementSpec("cmi.core.student_id", READ, "CMIIdentifier", default=""),
        ElementSpec("cmi.core.student_name", READ, "CMIString255", default=""),
        ElementSpec(
            "cmi.core.lesson_location",
            READ_WRITE,
            "CMIString255",
            max_length=255,
            default="",
        ),
        ElementSpec("cmi.core.credit", READ, "CMIVocabulary", default="credit"),
        ElementSpec(
            "cmi.core.lesson_status",
            READ_WRITE,
            "CMIVocabulary",
            vocabulary=STATUS[:-1],
            default="not attempted",
        ),
        ElementSpec("cmi.core.entry", READ, "CMIVocabulary", default=""),
        _score("cmi.core.score.raw"),
        _score("cmi.core.score.max"),
        _score("cmi.core.score.min"),
        ElementSpec(
            "cmi.core.total_time", READ, "CMITimespan", default="0000:00:00.00"
        ),
        ElementSpec("cmi.core.lesson_mode", READ, "CMIVocabulary", default="normal"),
        ElementSpec("cmi.core.exit", WRITE, "CMIVocabulary", vocabulary=EXIT),
        ElementSpec("cmi.core.session_time", WRITE, "CMITimespan"),
        ElementSpec(
            "cmi.suspend_data",
            READ_WRITE,
            "CMIString4096",
            max_length=suspend_data_max,
            default="",
        ),
        ElementSpec("cmi.launch_data", READ, "CMIString4096", default=""),
        ElementSpec(
            "cmi.comments", READ_WRITE, "CMIString4096", max_length=4096, default=""
        ),
        ElementSpec("cmi.comments_from_lms", READ, "CMIString4096", default=""),
        ElementSpec("cmi.objectives.n.id", READ_WRITE, "CMIIdentifier", default=""),
        _score("cmi.objectives.n.score.raw"),
        _score("cmi.objectives.n.score.max"),
        _score("cmi.objectives.n.score.min"),
        ElementSpec(
            "cmi.objectives.n.status",
            READ_WRITE,
            "CMIVocabulary",
            vocabulary=STATUS,
            default="not attempted",
        ),
        ElementSpec("cmi.student_data.mastery_score", READ, "CMIDecimal", default=""),
        ElementSpec(
            "cmi.student_data.max_time_allowed", READ, "CMITimespan", default=""
        ),
        ElementSpec(
            "cmi.student_data.time_limit_action", READ, "CMIVocabulary", default=""
        ),
        ElementSpec(
            "cmi.student_preference.audio",
            READ_WRITE,
            "CMISInteger",
            minimum=-1,
            maximum=100,
            default="0",
        ),
        ElementSpec(
            "cmi.student_preference.language",
            READ_WRITE,
            "CMIString255",
            max_length=255,
            default="",
        ),
        ElementSpec(
            "cmi.student_preference.speed",
            READ_WRITE,
            "CMISInteger",
            minimum=-100,
            maximum=100,
            default="0",
        ),
        ElementSpec(
            "cmi.student_preference.text",
            READ_WRITE,
            "CMISInteger",
            minimum=-1,
            maximum=1,
            default="0",
        ),
        ElementSpec("cmi.interactions.n.id", WRITE, "CMIIdentifier"),
        ElementSpec("cmi.interactions.n.objectives.n.id", WRITE, "CMIIdentifier"),
        ElementSpec("cmi.interactions.n.time", WRITE, "CMITime"),
        ElementSpec(
            "cmi.interactions.n.type",
            WRITE,
            "CMIVocabulary",
            vocabulary=INTERACTION_TYPES,
        ),
        # NOTE: CMIFeedback's per-type formats are not enforced because content
        # commonly writes choice responses above "9"; only the length is checked.
        ElementSpec(
            "cmi.interactions.n.correct_responses.n.pattern",
            WRITE,
            "CMIFeedback",
            max_length=255,
        ),
        ElementSpec("cmi.interactions.n.weighting", WRITE, "CMIDecimal"),
        ElementSpec(
            "cmi.interactions.n.student_response", WRITE, "CMIFeedback", max_length=255
        ),
        ElementSpec(
            "cmi.interactions.n.result", WRITE, "CMIDecimal", vocabulary=RESULTS
        ),
        ElementSpec("cmi.interactions.n.latency", WRITE, "CMITimespan"),
    ]


@lru_cache(maxsize=8)
def data_model(suspend_data_max: int = 64000) -> DataModel12:
    """Return the SCORM 1.2 data model with the given cmi.suspend_data maximum."""
    return DataModel12("1.2", VERSION, _elements(suspend_data_max), CHILDREN, ARRAYS)
