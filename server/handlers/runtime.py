"""The SCORM run-time API over HTTP: sessions, batches, single calls, CMI.

Every endpoint acts on one attempt through its actor (`ctx.actors`, an
`actors.registry.ActorRegistry`). Callers authenticate with an admin token,
the attempt's own learner token, or a launch token for the attempt
(`Authorization: Launch <token>` or `?token=`). The batch endpoint is the hot
path: a launch token check, one JSON parse, a synchronous actor call and one
JSON response, with an await only for activation and for durability.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from actors.attempt import COMMIT_FAILED_CODE, DURABLE_METHODS, NAMES, AttemptActor
from actors.errors import (
    ActorStopped,
    AttemptNotFound,
    BatchSeqGap,
    InvalidBatch,
    NoOpenSession,
    NotDurable,
    SessionNotFound,
    SessionSuperseded,
)
from actors.registry import ActorRegistry
from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import body_int, path_id, query_int, shown_id
from server.launch import InvalidLaunchToken, LaunchTokens
from server.serializers import attempt_json

log = logging.getLogger(__name__)

MODES = frozenset({"normal", "browse", "review"})
CREDITS = frozenset({"credit", "no-credit"})
RETRY_HEADERS = {"Retry-After": "1"}
# A page that closes sends its unsent batches at once, and they may arrive out
# of order: a batch that skips at most this many waits for the missing ones.
MAX_REORDERED_BATCHES = 16
# The largest integer a browser's JavaScript counts exactly (2**53 - 1).
MAX_BATCH_SEQ = 2**53 - 1
REORDER_WAIT_SECONDS = 2.0


class RuntimeHandler(BaseHandler):
    """Base of the run-time endpoints: attempt authorization and error mapping."""

    async def actor_for(self, attempt_id: int) -> AttemptActor:
        """Return the attempt's actor if the caller may drive the attempt."""
        launch_attempt = self._launch_token_attempt()
        registry: ActorRegistry = self.ctx.actors
        if launch_attempt is not None:
            if launch_attempt != attempt_id:
                raise ApiError(403, f"The launch token is not valid for attempt {attempt_id}.")
            return await self._activate(registry, attempt_id)
        user = await self.require_user()
        actor = await self._activate(registry, attempt_id)
        if actor.user_id != user.id and not user.is_staff:
            raise ApiError(403, f"Attempt {attempt_id} belongs to another learner.")
        return actor

    async def _activate(self, registry: ActorRegistry, attempt_id: int) -> AttemptActor:
        actor = registry.lookup(attempt_id)
        if actor is not None:
            return actor
        try:
            return await registry.activate(attempt_id)
        except AttemptNotFound as exc:
            raise ApiError(404, f"Attempt {attempt_id} not found.") from exc

    def _launch_token_attempt(self) -> int | None:
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "launch":
            if scheme:
                return None
            token = self.get_query_argument("token", "")
            if not token:
                return None
        tokens: LaunchTokens = self.ctx.services["launch_tokens"]
        try:
            return tokens.verify(token.strip())
        except InvalidLaunchToken as exc:
            raise self.unauthorized(str(exc)) from None

    async def wait_durable(self, actor: AttemptActor) -> None:
        try:
            await self.ctx.actors.wait_durable(actor)
        except NotDurable as exc:
            log.warning("attempt %d: run-time data not durable: %s", actor.attempt_id, exc.cause)
            raise ApiError(
                503,
                "Storing the run-time data failed; retry the request.",
                headers=RETRY_HEADERS,
            ) from None
        except ActorStopped:
            raise ApiError(
                503,
                f"Attempt {actor.attempt_id} was reloaded; retry the request.",
                headers=RETRY_HEADERS,
            ) from None

    def _api_error(self, status_code: int, exc_info: Any) -> ApiError:
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, SessionNotFound):
            return ApiError(404, _sentence(exc))
        if isinstance(exc, SessionSuperseded):
            return ApiError(409, _sentence(exc), extra={"superseded": True})
        if isinstance(exc, BatchSeqGap):
            return ApiError(409, _sentence(exc), extra={"expected_batch_seq": exc.expected})
        if isinstance(exc, InvalidBatch):
            return ApiError(400, _sentence(exc))
        if isinstance(exc, NoOpenSession):
            return ApiError(400, _sentence(exc), error_code=exc.error_code)
        if isinstance(exc, ActorStopped):
            return ApiError(503, _sentence(exc), headers=RETRY_HEADERS)
        return super()._api_error(status_code, exc_info)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, (SessionNotFound, SessionSuperseded, BatchSeqGap,
                              InvalidBatch, NoOpenSession, ActorStopped)):
            return
        super().log_exception(typ, value, tb)


class SessionsHandler(RuntimeHandler):
    """POST /api/attempts/{id}/sessions/: open a session (a launch) of a SCO."""

    async def post(self, attempt_id: str) -> None:
        actor = await self.actor_for(path_id(attempt_id, "Attempt"))
        sco_id, mode, credit = read_session_options(self.json_body())
        record = actor.open_session(sco_id, mode, credit)
        await self.wait_durable(actor)
        self.write_json(
            {
                "session_id": record.id,
                "sco_id": record.sco_id,
                "standard": actor.standard,
                "cmi": dict(record.runtime.cmi),
            },
            201,
        )


class BatchHandler(RuntimeHandler):
    """POST /api/attempts/{id}/runtime/: run a batch of API calls of one session."""

    # Every learner sends these all the time; the metrics count them, and the
    # access log shows them only at DEBUG unless they fail.
    access_log_level = logging.DEBUG

    async def post(self, attempt_id: str) -> None:
        actor = await self.actor_for(path_id(attempt_id, "Attempt"))
        body = self.json_body(accept_text_plain=True, allow_surrogates=True)
        session_id = body.get("session_id")
        batch_seq = body.get("batch_seq")
        if not isinstance(session_id, str) or not session_id:
            raise ApiError(400, "Missing or invalid 'session_id': send the id from /sessions/.")
        if type(batch_seq) is not int or not 1 <= batch_seq <= MAX_BATCH_SEQ:
            raise ApiError(
                400,
                f"Invalid 'batch_seq' {shown_id(batch_seq)}: "
                f"send an integer from 1 to {MAX_BATCH_SEQ}.",
            )

        try:
            outcome = actor.run_batch(session_id, batch_seq, body.get("calls"))
        except BatchSeqGap as gap:
            if not 0 < batch_seq - gap.expected < MAX_REORDERED_BATCHES:
                raise
            if not await actor.wait_for_batch(session_id, batch_seq - 1, REORDER_WAIT_SECONDS):
                raise
            if self.ctx.actors.lookup(actor.attempt_id) is not actor:
                raise ActorStopped(actor.attempt_id) from None
            outcome = actor.run_batch(session_id, batch_seq, body.get("calls"))
        if outcome.wait or (self.ctx.actors.write_through and actor.seq > actor.durable_seq):
            try:
                await self.wait_durable(actor)
            except ApiError as error:
                error.extra = {
                    "batch_seq": batch_seq,
                    "results": _failed_commits(body["calls"], outcome.results, actor.standard),
                }
                raise
        self.ctx.actors.snapshot_if_long(actor)
        self.write_json({"batch_seq": batch_seq, "results": _result_objects(outcome.results)})


class SetValueHandler(RuntimeHandler):
    """POST /api/scorm-api/set_value/: SetValue on the attempt's open session."""

    access_log_level = logging.DEBUG

    async def post(self) -> None:
        body = self.json_body(allow_surrogates=True)
        attempt_id = body_int(body, "attempt_id")
        element, value = body.get("element_id"), body.get("value")
        if not isinstance(element, str) or not element:
            raise ApiError(400, "Missing or invalid 'element_id': send a CMI element name.")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ApiError(400, "Missing or invalid 'value': send a string.")
        actor = await self.actor_for(attempt_id)
        record = actor.open_record(body.get("sco_id"), "set")

        result, code = actor.call(record, NAMES[actor.standard]["set"], [element, value])
        if self.ctx.actors.write_through:
            await self.wait_durable(actor)
        self.ctx.actors.snapshot_if_long(actor)
        if code:
            raise ApiError(400, actor.describe_error(record, code), error_code=code)
        self.write_json({"result": result, "error_code": 0})


class GetValueHandler(RuntimeHandler):
    """GET /api/scorm-api/get_value/: GetValue on the attempt's open session."""

    access_log_level = logging.DEBUG

    async def get(self) -> None:
        attempt_id = query_int(self, "attempt_id", required=True)
        assert attempt_id is not None
        element = self.get_query_argument("element_id", "")
        if not element:
            raise ApiError(400, "Missing 'element_id': send a CMI element name.")
        actor = await self.actor_for(attempt_id)
        record = actor.open_record(self.get_query_argument("sco_id", None), "get")

        value, code = actor.call(record, NAMES[actor.standard]["get"], [element])
        if code:
            raise ApiError(400, actor.describe_error(record, code), error_code=code)
        self.write_json({"value": value})


class StartSessionHandler(RuntimeHandler):
    """POST /api/attempts/{id}/start_session/: open a session and Initialize it."""

    async def post(self, attempt_id: str) -> None:
        actor = await self.actor_for(path_id(attempt_id, "Attempt"))
        body = self.json_body() if self.request.body else {}
        sco_id, mode, credit = read_session_options(body)
        record = actor.open_session(sco_id, mode, credit)
        result, code = actor.call(record, NAMES[actor.standard]["init"], [""])
        if code:
            raise ApiError(400, actor.describe_error(record, code), error_code=code)
        await self.wait_durable(actor)
        await self._write_attempt(actor.attempt_id)

    async def _write_attempt(self, attempt_id: int) -> None:
        attempt = await self.ctx.store.get_attempt(attempt_id)
        if attempt is None:
            raise ApiError(404, f"Attempt {attempt_id} not found.")
        self.write_json(attempt_json(attempt))


class EndSessionHandler(StartSessionHandler):
    """POST /api/attempts/{id}/end_session/: Terminate the open session."""

    async def post(self, attempt_id: str) -> None:
        actor = await self.actor_for(path_id(attempt_id, "Attempt"))
        body = self.json_body() if self.request.body else {}
        record = actor.open_record(body.get("sco_id"), "end")
        result, code = actor.call(record, NAMES[actor.standard]["end"], [""])
        if code:
            raise ApiError(400, actor.describe_error(record, code), error_code=code)
        await self.wait_durable(actor)
        await self._write_attempt(actor.attempt_id)


class CmiHandler(RuntimeHandler):
    """GET /api/attempts/{id}/cmi/: the CMI state of every item with state."""

    async def get(self, attempt_id: str) -> None:
        actor = await self.actor_for(path_id(attempt_id, "Attempt"))
        items = {sco: _data_model_only(cmi) for sco, cmi in actor.items.items() if cmi}
        self.write_json({"attempt_id": actor.attempt_id, "items": items})


def _data_model_only(cmi: dict[str, str]) -> dict[str, str]:
    # The engine keeps its session bookkeeping under "lms.", outside the data model.
    return {key: value for key, value in cmi.items() if not key.startswith("lms.")}


class DataModelHandler(BaseHandler):
    """GET /api/runtime/datamodel/{standard}/: the data model the adapter validates with."""

    def get(self, standard: str) -> None:
        from scorm import describe
        from scorm.runtime import RuntimeOptions

        options = RuntimeOptions(
            scorm12_suspend_data_max=self.ctx.settings.scorm12_suspend_data_max
        )
        self.set_header("Cache-Control", "public, max-age=3600")
        self.finish(json.dumps(describe.describe(standard, options), separators=(",", ":")))


def read_session_options(body: dict[str, Any]) -> tuple[str | None, str, str]:
    """Return sco_id, mode and credit of a session request, or raise a 400."""
    sco_id = body.get("sco_id")
    mode = body.get("mode", "normal")
    credit = body.get("credit", "credit")
    if sco_id is not None and not isinstance(sco_id, str):
        raise ApiError(400, f"Invalid 'sco_id' {sco_id!r}: send an item identifier.")
    if not isinstance(mode, str) or mode not in MODES:
        raise ApiError(400, f"Invalid 'mode' {mode!r}: use normal, browse or review.")
    if not isinstance(credit, str) or credit not in CREDITS:
        raise ApiError(400, f"Invalid 'credit' {credit!r}: use credit or no-credit.")
    return sco_id, mode, credit


def _result_objects(results: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"return": value, "error_code": code} for value, code in results]


def _failed_commits(calls: Any, results: list[list[Any]], standard: str) -> list[dict[str, Any]]:
    """Return the results with every Commit and Terminate result set to "false"."""
    answered = _result_objects(results)
    for call, result in zip(calls, answered):
        if call.get("method") in DURABLE_METHODS:
            result.update({"return": "false", "error_code": COMMIT_FAILED_CODE[standard]})
    return answered


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


def routes(ctx: AppContext) -> list[Any]:
    """Return the Tornado URL rules of the run-time API."""
    args = {"ctx": ctx}
    return [
        (r"/api/attempts/(\d+)/sessions/?", SessionsHandler, args),
        (r"/api/attempts/(\d+)/runtime/?", BatchHandler, args),
        (r"/api/attempts/(\d+)/start_session/?", StartSessionHandler, args),
        (r"/api/attempts/(\d+)/end_session/?", EndSessionHandler, args),
        (r"/api/attempts/(\d+)/cmi/?", CmiHandler, args),
        (r"/api/scorm-api/set_value/?", SetValueHandler, args),
        (r"/api/scorm-api/get_value/?", GetValueHandler, args),
        (r"/api/runtime/datamodel/(1\.2|2004)/?", DataModelHandler, args),
    ]


async def start(ctx: AppContext) -> None:
    """Build and start the actor registry unless the application did already."""
    if ctx.actors is None:
        ctx.actors = ActorRegistry(ctx.store, ctx.settings)
    await ctx.actors.start()


async def stop(ctx: AppContext) -> None:
    """Flush every actor's log entries and snapshot the active actors."""
    if ctx.actors is not None:
        await ctx.actors.stop()
