"""Exceptions of the actor runtime.

ActorError
├── AttemptNotFound     the attempt, its package or its learner does not exist
├── SessionNotFound     no session with that id in the attempt
├── SessionSuperseded   a newer session of the same SCO replaced this one
├── BatchSeqGap         a batch skipped a `batch_seq`; carries the expected one
├── InvalidBatch        a batch names an unknown method or has malformed calls
├── NoOpenSession       `set_value`/`get_value`/`end_session` with no open session
├── NotDurable          the store failed to write the log entries a caller waits for
└── ActorStopped        the actor stopped (another writer owns the log); retry
"""

from __future__ import annotations


class ActorError(Exception):
    """Base class of the actor runtime's errors."""


class AttemptNotFound(ActorError):
    def __init__(self, attempt_id: int, reason: str = "") -> None:
        super().__init__(reason or f"attempt {attempt_id} not found")
        self.attempt_id = attempt_id


class SessionNotFound(ActorError):
    def __init__(self, attempt_id: int, session_id: str) -> None:
        super().__init__(
            f"session {session_id!r} not found in attempt {attempt_id}; "
            "open one with POST /api/attempts/{id}/sessions/"
        )
        self.attempt_id = attempt_id
        self.session_id = session_id


class SessionSuperseded(ActorError):
    def __init__(self, attempt_id: int, session_id: str) -> None:
        super().__init__(
            f"session {session_id!r} of attempt {attempt_id} was superseded by a "
            "newer session of the same SCO; reload the player"
        )
        self.attempt_id = attempt_id
        self.session_id = session_id


class BatchSeqGap(ActorError):
    def __init__(self, session_id: str, received: int, expected: int) -> None:
        super().__init__(
            f"batch_seq {received} of session {session_id!r} skips a batch; "
            f"send batch_seq {expected} first"
        )
        self.session_id = session_id
        self.received = received
        self.expected = expected


class InvalidBatch(ActorError):
    """The batch is malformed; the message names the call and the fault."""


class NoOpenSession(ActorError):
    def __init__(self, attempt_id: int, sco_id: str, error_code: int) -> None:
        super().__init__(
            f"no open session of SCO {sco_id!r} in attempt {attempt_id}; "
            "call start_session first"
        )
        self.attempt_id = attempt_id
        self.sco_id = sco_id
        self.error_code = error_code


class NotDurable(ActorError):
    def __init__(self, attempt_id: int, cause: BaseException) -> None:
        super().__init__(
            f"writing the run-time log of attempt {attempt_id} failed ({cause}); "
            "retry the request"
        )
        self.attempt_id = attempt_id
        self.cause = cause


class ActorStopped(ActorError):
    def __init__(self, attempt_id: int) -> None:
        super().__init__(
            f"the actor of attempt {attempt_id} stopped because another writer "
            "changed its log; retry the request"
        )
        self.attempt_id = attempt_id
