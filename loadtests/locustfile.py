"""Locust scenarios: SCOs in the player, single-call learners and an LMS.

Run against a server started with `--rate-limit 0 --runtime-rate-limit 0`:

    locust -f loadtests/locustfile.py --headless -u 500 -r 100 -t 60s \
        --host http://127.0.0.1:8000 BatchLearner LmsUser

`python -m loadtests.bench` starts the servers and runs this file for you.

User classes (pick some by name on the command line; all run by weight if
none is named):

- `BatchLearner` (weight 10) behaves like a SCO in the player. It starts an
  attempt, opens a session with its launch token, and sends `Initialize` and
  the `GetValue` calls of a start. Then it sends bursts of `SetValue` calls
  (location, suspend data, progress, score, interactions) as run-time batches
  with `batch_seq` 1, 2, ..., a `Commit` every few batches. A last batch sets
  `session_time` and `exit` and calls `Terminate`. A session that ends with exit
  `suspend` is resumed by the next one; after a normal exit the learner starts
  a new attempt.
- `SingleCallLearner` (weight 2) drives an attempt through `start_session`,
  the single-call `scorm-api/set_value` and `get_value` endpoints and
  `end_session`.
- `LmsUser` (weight 1) is an LMS back end: it creates and registers users,
  starts attempts and reads reports.

Requests are named by endpoint and kind ("runtime batch", "runtime commit",
"runtime terminate", ...) so that locust reports each one's latency apart.
A run-time result other than "true" for Initialize, SetValue, Commit or
Terminate counts as a failed request.

Environment variables (defaults in brackets):

- SCORM_LT_TARGET [server]: `server`, or `floor` to post the learners'
  sessions and batches to loadtests/floor.py (no setup, no LmsUser).
- SCORM_LT_SETUP: a JSON file written by loadtests.setup_data.prepare. Without
  it, the test_start hook runs `prepare` itself with the next four variables.
- SCORM_LT_ADMIN_USERNAME [admin], SCORM_LT_ADMIN_PASSWORD [pw]: an existing
  admin, as created by `python -m server createsuperuser`.
- SCORM_LT_PACKAGE [the SCORM 2004 golf RuntimeBasicCalls zip of the test
  packages folder, see loadtests.setup_data.default_package]: the package to upload.
- SCORM_LT_LEARNERS [20]: learner accounts created in setup. Learners
  share them, and each locust user starts its own attempts.
- SCORM_LT_THINK_MIN, SCORM_LT_THINK_MAX [1.0, 3.0]: seconds a learner waits
  between two requests. Both 0 means no wait (a saturation test).
- SCORM_LT_BATCH_SIZE [10]: API calls per run-time batch.
- SCORM_LT_BATCHES [12]: `SetValue` batches per session.
- SCORM_LT_COMMIT_EVERY [3]: a `Commit` ends every this many batches.
- SCORM_LT_SUSPEND_BYTES [4096]: size of `suspend_data` (SCORM 1.2 keeps at
  most 4096, its standard's limit).
- SCORM_LT_SUSPEND_SHARE [0.7]: share of sessions that end with exit suspend.
- SCORM_LT_INTERACTIONS [10]: interactions per attempt; later ones overwrite
  the first ones, so an attempt's state stops growing.
- SCORM_LT_SINGLE_CALLS [10]: set_value/get_value calls per single-call session.
- SCORM_LT_LMS_THINK [3.0]: mean seconds an LmsUser waits between requests.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from locust import FastHttpUser, between, constant, events, task

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from loadtests.setup_data import default_package, prepare  # noqa: E402

log = logging.getLogger(__name__)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


TARGET = os.environ.get("SCORM_LT_TARGET", "server")
THINK_MIN = env_float("SCORM_LT_THINK_MIN", 1.0)
THINK_MAX = env_float("SCORM_LT_THINK_MAX", 3.0)
BATCH_SIZE = max(2, env_int("SCORM_LT_BATCH_SIZE", 10))
BATCHES = max(1, env_int("SCORM_LT_BATCHES", 12))
COMMIT_EVERY = max(1, env_int("SCORM_LT_COMMIT_EVERY", 3))
SUSPEND_BYTES = env_int("SCORM_LT_SUSPEND_BYTES", 4096)
SUSPEND_SHARE = env_float("SCORM_LT_SUSPEND_SHARE", 0.7)
INTERACTIONS = max(1, env_int("SCORM_LT_INTERACTIONS", 10))
SINGLE_CALLS = max(1, env_int("SCORM_LT_SINGLE_CALLS", 10))
LMS_THINK = env_float("SCORM_LT_LMS_THINK", 3.0)
CHECKED_METHODS = {"Initialize", "SetValue", "Commit", "Terminate"}

# Setup data shared by all users of this process: filled by on_test_start.
SETUP: dict[str, Any] = {}
_user_numbers = itertools.count(1)


def think_time() -> Any:
    if THINK_MAX <= 0:
        return constant(0)
    return between(THINK_MIN, THINK_MAX)


@events.test_start.add_listener
def on_test_start(environment: Any, **kwargs: Any) -> None:
    """Load the setup file, or create the setup data on the target server."""
    if TARGET == "floor":
        SETUP.update({"standard": "SCORM 2004 4th Edition", "learners": []})
        return
    setup_file = os.environ.get("SCORM_LT_SETUP")
    if setup_file:
        SETUP.update(json.loads(Path(setup_file).read_text()))
        return
    SETUP.update(
        prepare(
            environment.host,
            os.environ.get("SCORM_LT_ADMIN_USERNAME", "admin"),
            os.environ.get("SCORM_LT_ADMIN_PASSWORD", "pw"),
            Path(os.environ.get("SCORM_LT_PACKAGE") or default_package("2004")),
            env_int("SCORM_LT_LEARNERS", 20),
        )
    )


class Vocabulary:
    """Method and element names of one SCORM standard."""

    def __init__(self, standard: str) -> None:
        self.is_12 = standard == "SCORM 1.2"

    def method(self, name: str) -> str:
        """Return the API function name, `LMS`-prefixed for SCORM 1.2."""
        if not self.is_12:
            return name
        return "LMSFinish" if name == "Terminate" else "LMS" + name

    def start_elements(self) -> list[str]:
        if self.is_12:
            return [
                "cmi.core.entry",
                "cmi.core.lesson_location",
                "cmi.suspend_data",
                "cmi.core.student_name",
                "cmi.core.student_id",
                "cmi.core.lesson_status",
                "cmi.core.lesson_mode",
                "cmi.interactions._count",
            ]
        return [
            "cmi.entry",
            "cmi.location",
            "cmi.suspend_data",
            "cmi.learner_name",
            "cmi.learner_id",
            "cmi.completion_status",
            "cmi.mode",
            "cmi.interactions._count",
        ]

    def location(self) -> str:
        return "cmi.core.lesson_location" if self.is_12 else "cmi.location"

    def progress(self, step: int) -> list[tuple[str, str]]:
        score = str(50 + step % 50)
        if self.is_12:
            return [
                ("cmi.core.lesson_status", "incomplete"),
                ("cmi.core.score.raw", score),
            ]
        return [
            ("cmi.completion_status", "incomplete"),
            ("cmi.progress_measure", f"{(step % 10) / 10:.1f}"),
            ("cmi.score.raw", score),
            ("cmi.score.scaled", f"{(step % 100) / 100:.2f}"),
        ]

    def interaction(self, index: int) -> list[tuple[str, str]]:
        prefix = f"cmi.interactions.{index}"
        response = "student_response" if self.is_12 else "learner_response"
        value = "a" if self.is_12 else "a[,]c"
        return [
            (f"{prefix}.id", f"q{index}"),
            (f"{prefix}.type", "choice"),
            (f"{prefix}.{response}", value),
            (f"{prefix}.result", "correct"),
        ]

    def ending(self, suspend: bool) -> list[tuple[str, str]]:
        if self.is_12:
            return [
                ("cmi.core.session_time", "00:01:30"),
                ("cmi.core.exit", "suspend" if suspend else ""),
            ]
        return [
            ("cmi.session_time", "PT1M30S"),
            ("cmi.exit", "suspend" if suspend else "normal"),
        ]


def launch_token(launch_url: str) -> str:
    """Return the `token` query parameter of a launch URL."""
    return parse_qs(urlsplit(launch_url).query)["token"][0]


def make_suspend_data(size: int, seed: int) -> str:
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(size))


class BatchLearner(FastHttpUser):
    """A SCO in the player: sessions of batched run-time calls."""

    weight = 10
    wait_time = think_time()

    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.vocabulary = Vocabulary(SETUP.get("standard", ""))
        self.suspend_data = make_suspend_data(
            min(SUSPEND_BYTES, 4096) if self.vocabulary.is_12 else SUSPEND_BYTES,
            self.number,
        )
        self.step = 0
        self.interaction_count = 0
        self.attempt: tuple[int, str] | None = None

    def start_attempt(self) -> tuple[int, str] | None:
        """Start an attempt of a pool learner; return its id and launch token."""
        if TARGET == "floor":
            return self.number * 1000 + self.step, "floor"
        learner = SETUP["learners"][self.number % len(SETUP["learners"])]
        with self.client.post(
            "/api/attempts/start_attempt/",
            json={"user_id": learner["user_id"], "package_id": SETUP["package_id"]},
            headers={"Authorization": f"Token {SETUP['admin_token']}"},
            name="start_attempt",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"start_attempt answered {response.status_code}")
                return None
            body = response.json()
        self.interaction_count = 0
        return body["id"], launch_token(body["launch_url"])

    @task
    def run_session(self) -> None:
        """Run one launch of the SCO, from session open to Terminate."""
        if self.attempt is None:
            self.attempt = self.start_attempt()
            if self.attempt is None:
                return
        attempt_id, token = self.attempt
        session_id = self.open_session(attempt_id, token)
        if session_id is None:
            self.attempt = None
            return

        sender = BatchSender(self, attempt_id, token, session_id)
        start = [
            ("GetValue", [element]) for element in self.vocabulary.start_elements()
        ]
        results = sender.send([("Initialize", [""]), *start], "runtime start")
        if results is None:
            return
        self.interaction_count = parse_count(results[-1])

        for number in range(1, BATCHES + 1):
            self.wait()
            calls = self.next_calls(BATCH_SIZE - 1)
            if number % COMMIT_EVERY == 0:
                calls.append(("Commit", [""]))
                kind = "runtime commit"
            else:
                calls.extend(self.next_calls(1))
                kind = "runtime batch"
            if sender.send(calls, kind) is None:
                return

        self.wait()
        suspend = random.random() < SUSPEND_SHARE
        ending = [("SetValue", list(pair)) for pair in self.vocabulary.ending(suspend)]
        if sender.send([*ending, ("Terminate", [""])], "runtime terminate") is None:
            return
        if not suspend:
            self.attempt = None

    def open_session(self, attempt_id: int, token: str) -> str | None:
        with self.client.post(
            f"/api/attempts/{attempt_id}/sessions/",
            json={},
            headers={"Authorization": f"Launch {token}"},
            name="session open",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"session open answered {response.status_code}")
                return None
            return response.json()["session_id"]

    def next_calls(self, count: int) -> list[tuple[str, list[str]]]:
        """Return the next `count` SetValue calls of the learner's activity."""
        calls: list[tuple[str, list[str]]] = []
        while len(calls) < count:
            self.step += 1
            phase = self.step % 4
            if phase == 0:
                pairs = [(self.vocabulary.location(), f"page-{self.step % 40}")]
            elif phase == 1:
                prefix = f"{self.step:08d}"
                pairs = [
                    ("cmi.suspend_data", prefix + self.suspend_data[len(prefix) :])
                ]
            elif phase == 2:
                pairs = self.vocabulary.progress(self.step)
            else:
                pairs = self.vocabulary.interaction(self.next_interaction())
            calls.extend(("SetValue", list(pair)) for pair in pairs)
        return calls[:count]

    def next_interaction(self) -> int:
        if self.interaction_count < INTERACTIONS:
            self.interaction_count += 1
            return self.interaction_count - 1
        return self.step % INTERACTIONS


def parse_count(result: dict[str, Any]) -> int:
    try:
        return int(result.get("return", "0") or 0)
    except ValueError:
        return 0


class BatchSender:
    """Sender of the run-time batches of one session, with increasing batch_seq."""

    def __init__(
        self, user: BatchLearner, attempt_id: int, token: str, session_id: str
    ):
        self.user = user
        self.path = f"/api/attempts/{attempt_id}/runtime/"
        self.headers = {"Authorization": f"Launch {token}"}
        self.session_id = session_id
        self.batch_seq = 0

    def send(self, calls: list[tuple[str, list[str]]], kind: str) -> list[dict] | None:
        """Post one batch; return its results, or None after marking a failure."""
        self.batch_seq += 1
        vocabulary = self.user.vocabulary
        body = {
            "session_id": self.session_id,
            "batch_seq": self.batch_seq,
            "calls": [
                {"method": vocabulary.method(method), "args": args}
                for method, args in calls
            ],
        }
        with self.user.client.post(
            self.path, json=body, headers=self.headers, name=kind, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"{kind} answered {response.status_code}: {response.text[:200]}"
                )
                return None
            results = response.json().get("results", [])
            problem = check_results(calls, results)
            if problem:
                response.failure(f"{kind}: {problem}")
                return None
            return results


def check_results(calls: list[tuple[str, list[str]]], results: list[dict]) -> str:
    """Return what is wrong with a batch's results, or "" when all is right."""
    if len(results) != len(calls):
        return f"{len(results)} results for {len(calls)} calls"
    for (method, args), result in zip(calls, results):
        if method in CHECKED_METHODS and result.get("return") != "true":
            return f"{method}{args[:1]} returned {result}"
    return ""


class SingleCallLearner(FastHttpUser):
    """A learner whose every value goes through one scorm-api request."""

    weight = 2
    wait_time = think_time()

    def on_start(self) -> None:
        self.number = next(_user_numbers)
        self.vocabulary = Vocabulary(SETUP.get("standard", ""))
        self.attempt_id: int | None = None
        self.headers: dict[str, str] = {}

    def start_attempt(self) -> int | None:
        if TARGET == "floor":
            return self.number
        learner = SETUP["learners"][self.number % len(SETUP["learners"])]
        self.headers = {"Authorization": f"Token {learner['token']}"}
        with self.client.post(
            "/api/attempts/start_attempt/",
            json={"user_id": learner["user_id"], "package_id": SETUP["package_id"]},
            headers=self.headers,
            name="start_attempt",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"start_attempt answered {response.status_code}")
                return None
            return response.json()["id"]

    @task
    def run_session(self) -> None:
        """Open a session, set and read values one request each, end it."""
        if self.attempt_id is None:
            self.attempt_id = self.start_attempt()
            if self.attempt_id is None:
                return
        base = f"/api/attempts/{self.attempt_id}"
        if not self.post_ok(f"{base}/start_session/", {}, "start_session"):
            return

        location = self.vocabulary.location()
        for step in range(SINGLE_CALLS):
            self.wait()
            if step % 2 == 0:
                self.set_value(location, f"page-{step}")
            else:
                self.client.get(
                    "/api/scorm-api/get_value/",
                    params={"attempt_id": self.attempt_id, "element_id": location},
                    headers=self.headers,
                    name="single get_value",
                )
        self.wait()
        self.post_ok(f"{base}/end_session/", {}, "end_session")

    def set_value(self, element: str, value: str) -> None:
        body = {"attempt_id": self.attempt_id, "element_id": element, "value": value}
        self.post_ok("/api/scorm-api/set_value/", body, "single set_value")

    def post_ok(self, path: str, body: dict[str, Any], name: str) -> bool:
        with self.client.post(
            path, json=body, headers=self.headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"{name} answered {response.status_code}: {response.text[:200]}"
                )
                return False
            return True


class LmsUser(FastHttpUser):
    """An LMS back end: creates users, registers them, starts attempts, reads reports."""

    weight = 1
    wait_time = between(LMS_THINK / 2, LMS_THINK * 1.5)

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Token {SETUP.get('admin_token', '')}"}
        self.user_ids: list[int] = []

    @task(1)
    def enrol_learner(self) -> None:
        """Create a user, register it for the course and start an attempt."""
        name = f"lms-{uuid.uuid4().hex[:12]}"
        body = {
            "username": name,
            "email": f"{name}@example.com",
            "password": uuid.uuid4().hex,
            "first_name": "Lms",
            "last_name": "Learner",
        }
        response = self.client.post(
            "/api/users/", json=body, headers=self.headers, name="users create"
        )
        if response.status_code != 201:
            return
        user_id = response.json()["user"]["id"]
        self.user_ids.append(user_id)

        registration = {"user_id": user_id, "course_id": SETUP["course_id"]}
        self.client.post(
            "/api/registrations/register_for_course/",
            json=registration,
            headers=self.headers,
            name="register_for_course",
        )
        attempt = {"user_id": user_id, "package_id": SETUP["package_id"]}
        self.client.post(
            "/api/attempts/start_attempt/",
            json=attempt,
            headers=self.headers,
            name="start_attempt (lms)",
        )

    @task(2)
    def read_user_report(self) -> None:
        learners = SETUP["learners"]
        user_id = random.choice(self.user_ids or [learners[0]["user_id"]])
        self.client.get(
            "/api/reports/user_course_report/",
            params={"user_id": user_id, "course_id": SETUP["course_id"]},
            headers=self.headers,
            name="user_course_report",
        )

    @task(1)
    def read_course_report(self) -> None:
        self.client.get(
            "/api/reports/course_report/",
            params={"course_id": SETUP["course_id"]},
            headers=self.headers,
            name="course_report",
        )

    @task(1)
    def list_attempts(self) -> None:
        self.client.get(
            "/api/attempts/",
            params={"package_id": SETUP["package_id"], "limit": 50},
            headers=self.headers,
            name="attempts list",
        )
