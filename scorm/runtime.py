"""The SCORM run-time API state machine for SCORM 1.2 and SCORM 2004, free of I/O.

`open_session` starts one launch of one SCO from the item's stored state.
`RuntimeSession.call` runs one API call. It returns the exact string the API
function returns, with the error code GetLastError gives right after it. The
session's whole state is `cmi`, a flat map of element name to string, and every
change to it is recorded for `pop_changes`, so that replaying all changes over an
empty map rebuilds `cmi`.

Rules: the SCORM 1.2 RTE and the SCORM 2004 4th Edition RTE (API, state model,
error codes, data model). Error state is reset
by every call except GetLastError, GetErrorString and GetDiagnostic.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from scorm import datamodel12, datamodel2004, evaluation, lifecycle
from scorm.codes import (
    CODE_TEXT,
    ERROR_STRINGS_12,
    ERROR_STRINGS_2004,
    KIND_CODES_12,
    KIND_CODES_2004,
)
from scorm.elements import READ, WRITE, ArrayLevel, DataModel, Resolved, Undefined
from scorm.responses import SINGLE_PATTERN_TYPES, UNIQUE_PATTERN_TYPES, check_response

logger = logging.getLogger(__name__)

NOT_INITIALIZED = "not_initialized"
RUNNING = "running"
TERMINATED = "terminated"


@dataclass(frozen=True)
class LaunchData:
    """Launch values the LMS presents to a SCO (from the registration and manifest)."""

    standard: str  # "1.2" or "2004"
    learner_id: str
    learner_name: str  # "Last, First"
    credit: str = "credit"  # "credit" | "no-credit"
    mode: str = "normal"  # "normal" | "browse" | "review"
    mastery_score: str | None = None  # 1.2 adlcp:masteryscore
    launch_data: str | None = None  # adlcp:datafromlms / adlcp:dataFromLMS
    max_time_allowed: str | None = None  # 1.2 timespan; 2004 ISO duration
    time_limit_action: str | None = None
    completion_threshold: str | None = None  # 2004 adlcp:completionThreshold
    scaled_passing_score: str | None = (
        None  # 2004 primary objective minNormalizedMeasure
    )
    objective_ids: tuple[str, ...] = ()  # 2004 objectives declared for the item


@dataclass(frozen=True)
class RuntimeOptions:
    """Policies where the standards leave room.

    scorm12_suspend_data_max: the maximum length of SCORM 1.2 cmi.suspend_data in
    characters. The standard says 4096; content often writes more, so the
    default accepts 64000 (the SCORM 2004 maximum). Longer values get 405.
    """

    scorm12_suspend_data_max: int = 64000


@dataclass(frozen=True)
class _Rules:
    """The parts of the API that differ between the two standards."""

    methods: tuple[str, ...]  # Initialize, Terminate, GetValue, SetValue, Commit,
    # GetLastError, GetErrorString, GetDiagnostic in the standard's spelling
    before_init: tuple[int, int, int, int]  # get, set, commit, terminate
    after_end: tuple[int, int, int, int]
    init_running: int
    init_ended: int
    keyword_set: int
    read_only: int
    write_only: int
    not_initialized: int  # GetValue of a value never set; 0: return ""
    index_get: int
    index_set: int
    dependency: int
    set_failure: int
    kind_codes: dict[int, int]
    error_strings: dict[str, str]
    open: Callable[[lifecycle.StateWriter, LaunchData], None]
    finish: Callable[[lifecycle.StateWriter], None]


_RULES_12 = _Rules(
    methods=(
        "LMSInitialize",
        "LMSFinish",
        "LMSGetValue",
        "LMSSetValue",
        "LMSCommit",
        "LMSGetLastError",
        "LMSGetErrorString",
        "LMSGetDiagnostic",
    ),
    before_init=(301, 301, 301, 301),
    after_end=(101, 101, 101, 101),
    init_running=101,
    init_ended=101,
    keyword_set=402,
    read_only=403,
    write_only=404,
    not_initialized=0,
    index_get=201,
    index_set=201,
    dependency=201,
    set_failure=201,
    kind_codes=KIND_CODES_12,
    error_strings=ERROR_STRINGS_12,
    open=lifecycle.open_12,
    finish=lifecycle.finish_12,
)

_RULES_2004 = _Rules(
    methods=(
        "Initialize",
        "Terminate",
        "GetValue",
        "SetValue",
        "Commit",
        "GetLastError",
        "GetErrorString",
        "GetDiagnostic",
    ),
    before_init=(122, 132, 142, 112),
    after_end=(123, 133, 143, 113),
    init_running=103,
    init_ended=104,
    keyword_set=404,
    read_only=404,
    write_only=405,
    not_initialized=403,
    index_get=301,
    index_set=351,
    dependency=408,
    set_failure=351,
    kind_codes=KIND_CODES_2004,
    error_strings=ERROR_STRINGS_2004,
    open=lifecycle.open_2004,
    finish=lifecycle.finish_2004,
)

# SCORM 2004 elements whose value the LMS evaluates on every GetValue.
_EVALUATED_2004: dict[str, Callable[[Mapping[str, str]], str]] = {
    "cmi.completion_status": evaluation.completion_status_2004,
    "cmi.success_status": evaluation.success_status_2004,
}


def _model_for(standard: str, options: RuntimeOptions) -> DataModel:
    if standard == "1.2":
        return datamodel12.data_model(options.scorm12_suspend_data_max)
    if standard == "2004":
        return datamodel2004.data_model()
    raise ValueError(f"unknown SCORM standard {standard!r}; expected '1.2' or '2004'")


def open_session(
    launch: LaunchData,
    stored: Mapping[str, str],
    options: RuntimeOptions = RuntimeOptions(),
) -> RuntimeSession:
    """Start a new session (one launch of one SCO) from the item's stored state.

    `stored` is the flat element -> value map persisted for this item of this
    attempt (empty for the first launch). The rules of a new session are those of
    `scorm.lifecycle`; the changes they made are returned by the session's first
    pop_changes(). Raises ValueError for an unknown `launch.standard`.
    """
    session = RuntimeSession(launch, stored, NOT_INITIALIZED, options)
    session._rules.open(session, launch)
    return session


class RuntimeSession:
    """One session of one SCO: the API state machine over the item's state."""

    METHODS: frozenset[str]

    def __init__(
        self,
        launch: LaunchData,
        cmi: Mapping[str, str],
        state: str,
        options: RuntimeOptions = RuntimeOptions(),
    ) -> None:
        self.launch = launch
        self.options = options
        self._model = _model_for(launch.standard, options)
        self._rules = _RULES_12 if launch.standard == "1.2" else _RULES_2004
        self._evaluated = _EVALUATED_2004 if launch.standard == "2004" else {}
        self.cmi: dict[str, str] = {sys.intern(k): v for k, v in cmi.items()}
        self.state = state
        self._error = 0
        self._error_element = ""
        self._changes: dict[str, str | None] = {}
        names = self._rules.methods
        handlers = (
            self._initialize,
            self._terminate,
            self._get_value,
            self._set_value,
            self._commit,
            self._get_last_error,
            self._get_error_string,
            self._get_diagnostic,
        )
        self._dispatch: dict[str, Callable[[Sequence[str]], str]] = dict(
            zip(names, handlers)
        )
        self.METHODS = frozenset(names)

    @classmethod
    def resume(
        cls,
        launch: LaunchData,
        cmi: Mapping[str, str],
        state: str,
        options: RuntimeOptions = RuntimeOptions(),
    ) -> RuntimeSession:
        """Rebuild a session after a server restart from its persisted `cmi` and `state`.

        No new-session rule is applied and the error state starts at 0.
        """
        return cls(launch, cmi, state, options)

    # ------------------------------------------------------------ public API

    def call(self, method: str, args: Sequence[str]) -> tuple[str, int]:
        """Run one API call; return (the API function's return string, the error
        code GetLastError gives right after). An exception inside is logged and
        answered as "false" with 101, so no input makes this method raise."""
        handler = self._dispatch.get(method)
        if handler is None:
            return "false", self._error
        try:
            result = handler(args)
        except Exception:  # noqa: BLE001 - the API answers, it never throws
            logger.exception(
                "API call %s failed on learner %s", method, self.launch.learner_id
            )
            self._error = 101
            return "false", 101
        return result, self._error

    def pop_changes(self) -> dict[str, str | None]:
        """Changes to `cmi` since the last pop: element -> new value (None = removed)."""
        changes = self._changes
        self._changes = {}
        return changes

    def summary(self) -> dict:
        """Item summary for reports (see `scorm.evaluation.summary`)."""
        return evaluation.summary(self.launch.standard, self.cmi)

    def write(self, key: str, value: str) -> None:
        """Store one value in `cmi` and record the change."""
        key = sys.intern(key)
        self.cmi[key] = value
        self._changes[key] = value

    def erase(self, key: str) -> None:
        """Remove one key from `cmi` (when present) and record the change."""
        if key in self.cmi:
            del self.cmi[key]
            self._changes[sys.intern(key)] = None

    # ------------------------------------------------------------ helpers

    def _fail(self, code: int, element: str, result: str = "false") -> str:
        self._error = code
        self._error_element = element
        return result

    @staticmethod
    def _argument(args: Sequence[str], position: int) -> str:
        if len(args) <= position:
            return ""
        value = args[position]
        return value if isinstance(value, str) else str(value)

    def _state_error(self, which: int) -> int:
        """Return the error code for a call made outside the running state, or 0."""
        if self.state == RUNNING:
            return 0
        if self.state == NOT_INITIALIZED:
            return self._rules.before_init[which]
        return self._rules.after_end[which]

    # ------------------------------------------------------------ session calls

    # Initialize and Commit check their argument before the state, Terminate after
    # it, as the ADL test suite expects (Initialize("x") when running gives 201).
    def _initialize(self, args: Sequence[str]) -> str:
        if self._argument(args, 0) != "":
            return self._fail(201, "")
        if self.state == RUNNING:
            return self._fail(self._rules.init_running, "")
        if self.state == TERMINATED:
            return self._fail(self._rules.init_ended, "")
        self.state = RUNNING
        self.write(lifecycle.SESSION_KEY, lifecycle.SESSION_OPEN)
        self._error = 0
        return "true"

    def _terminate(self, args: Sequence[str]) -> str:
        code = self._state_error(3)
        if code:
            return self._fail(code, "")
        if self._argument(args, 0) != "":
            return self._fail(201, "")
        self._rules.finish(self)
        self.state = TERMINATED
        self._error = 0
        return "true"

    def _commit(self, args: Sequence[str]) -> str:
        if self._argument(args, 0) != "":
            return self._fail(201, "")
        code = self._state_error(2)
        if code:
            return self._fail(code, "")
        self._error = 0
        return "true"

    # ------------------------------------------------------------ error calls

    def _get_last_error(self, args: Sequence[str]) -> str:
        return CODE_TEXT[self._error]

    def _get_error_string(self, args: Sequence[str]) -> str:
        return self._rules.error_strings.get(self._argument(args, 0), "")

    def _get_diagnostic(self, args: Sequence[str]) -> str:
        requested = self._argument(args, 0)
        if requested == "":
            requested = CODE_TEXT[self._error]
        text = self._rules.error_strings.get(requested, "")
        if text and requested == CODE_TEXT[self._error] and self._error_element:
            text = f"{text}: {self._error_element}"
        return text[:255]

    # ------------------------------------------------------------ data calls

    def _get_value(self, args: Sequence[str]) -> str:
        code = self._state_error(0)
        name = self._argument(args, 0)
        if code:
            return self._fail(code, name, "")
        found = self._model.resolve(name)
        if type(found) is Undefined:
            return self._fail(found.get_code, name, "")
        spec = found.spec
        # A write-only element cannot be read at any index, so access is
        # checked before the index. SCORM 1.2 GetValue of cmi.interactions.n.id
        # therefore returns error 404 whether or not record n exists.
        if spec is not None and spec.access == WRITE:
            return self._fail(self._rules.write_only, name, "")
        cmi = self.cmi
        for level in found.arrays:
            if level.index >= int(cmi.get(level.count_key, "0")):
                return self._fail(self._rules.index_get, name, "")

        if spec is None:
            value = found.keyword_value
            if value is None:  # _count
                value = cmi.get(found.key, "0")
            self._error = 0
            return value

        evaluate = self._evaluated.get(found.key)
        value = evaluate(cmi) if evaluate is not None else cmi.get(found.key)
        if value is None:
            value = spec.default
            if value is None:
                if self._rules.not_initialized:
                    return self._fail(self._rules.not_initialized, name, "")
                value = ""
        self._error = 0
        return value

    def _set_value(self, args: Sequence[str]) -> str:
        code = self._state_error(1)
        name = self._argument(args, 0)
        if code:
            return self._fail(code, name)
        value = self._argument(args, 1)
        found = self._model.resolve(name)
        if type(found) is Undefined:
            return self._fail(found.set_code, name)
        spec = found.spec
        if spec is None:
            return self._fail(self._rules.keyword_set, name)
        if spec.access == READ:
            return self._fail(self._rules.read_only, name)
        if found.arrays:
            code = self._check_arrays(found)
            if code:
                return self._fail(code, name)
        kind = spec.check(value)
        if kind:
            return self._fail(self._rules.kind_codes[kind], name)
        if spec.response is not None or spec.unique or spec.write_once:
            code = self._check_record_rules(found, value)
            if code:
                return self._fail(code, name)

        if spec.vocabulary is not None:
            value = sys.intern(value)
        self.cmi[found.key] = value
        self._changes[found.key] = value
        if found.arrays:
            self._grow_arrays(found)
        self._error = 0
        return "true"

    # ------------------------------------------------------------ array rules

    def _check_arrays(self, found: Resolved) -> int:
        """Check that each index of the name exists or is the next one .

        A new record may only be started by its creator field (408 in SCORM 2004).
        """
        cmi = self.cmi
        for level in found.arrays:
            count = int(cmi.get(level.count_key, "0"))
            if level.index > count:
                return self._rules.index_set
            if level.index == count and level.creator is not None:
                if found.key[len(level.record_prefix) :] != level.creator:
                    return self._rules.dependency
        return 0

    def _grow_arrays(self, found: Resolved) -> None:
        cmi = self.cmi
        for level in found.arrays:
            if level.index == int(cmi.get(level.count_key, "0")):
                self.write(level.count_key, str(level.index + 1))

    def _check_record_rules(self, found: Resolved, value: str) -> int:
        """Apply write-once, uniqueness and interaction-type rules (SCORM 2004 RTE)."""
        spec = found.spec
        assert spec is not None
        cmi = self.cmi
        innermost = found.arrays[-1]
        if spec.write_once:
            current = cmi.get(found.key)
            if current is not None and current != value:
                return self._rules.set_failure
        if spec.unique and self._sibling_has(innermost, found.key, value):
            return self._rules.set_failure
        if spec.response is None:
            return 0

        interaction_type = cmi.get(found.arrays[0].record_prefix + "type")
        if interaction_type is None:
            return self._rules.dependency
        kind = check_response(interaction_type, value, spec.response == "correct")
        if kind:
            return self._rules.kind_codes[kind]
        if spec.response == "correct":
            if interaction_type in SINGLE_PATTERN_TYPES and innermost.index > 0:
                return self._rules.set_failure
            unique = interaction_type in UNIQUE_PATTERN_TYPES
            if unique and self._sibling_has(innermost, found.key, value):
                return self._rules.set_failure
        return 0

    def _sibling_has(self, level: ArrayLevel, key: str, value: str) -> bool:
        """Tell whether another record of the same array has `value` in this field."""
        base = level.count_key[: -len("_count")]
        field = key[len(level.record_prefix) :]
        count = int(self.cmi.get(level.count_key, "0"))
        for index in range(count):
            if index != level.index and self.cmi.get(f"{base}{index}.{field}") == value:
                return True
        return False
