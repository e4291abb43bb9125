"""Property tests: any API call on any input returns (str, standard code) and never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scorm.codes import ERRORS_12, ERRORS_2004
from scorm.datamodel12 import data_model as model_12
from scorm.datamodel2004 import data_model as model_2004
from scorm.runtime import LaunchData, RuntimeSession, open_session
from tests.runtime_harness import replay

NAME_PARTS = sorted(
    {
        part
        for spec in (*model_12().elements, *model_2004().elements)
        for part in spec.split(".")
    }
    | {
        "0",
        "1",
        "2",
        "_count",
        "_children",
        "_version",
        "NaN",
        "-1",
        "01",
        "",
        "{target=a.b}",
    }
)

names = st.one_of(
    st.lists(st.sampled_from(NAME_PARTS), min_size=1, max_size=6).map(".".join),
    st.sampled_from(sorted(model_12().elements) + sorted(model_2004().elements)).map(
        lambda pattern: pattern.replace(".n.", ".0.")
    ),
    st.text(max_size=40),
)
values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "1.5",
            "100",
            "PT1M",
            "00:01:00",
            "true",
            "choice",
            "a[,]b",
            "suspend",
        ]
    ),
)


def _session(standard: str) -> RuntimeSession:
    return open_session(LaunchData(standard, "learner-001", "Tester, Ada"), {})


def _calls(methods: list[str]):
    call = st.tuples(
        st.sampled_from(methods), st.lists(st.one_of(names, values), max_size=3)
    )
    return st.lists(call, max_size=40)


METHODS_12 = sorted(_session("1.2").METHODS) + ["Bogus"]
METHODS_2004 = sorted(_session("2004").METHODS) + ["LMSGetValue"]


def _check_sequence(standard: str, calls: list, codes: dict[int, str]) -> None:
    session = _session(standard)
    initialize = "LMSInitialize" if standard == "1.2" else "Initialize"
    last_error = "LMSGetLastError" if standard == "1.2" else "GetLastError"
    log = [session.pop_changes()]
    session.call(initialize, [""])
    for method, args in calls:
        returned, code = session.call(method, args)

        assert isinstance(returned, str)
        assert isinstance(code, int)
        assert code in codes
        assert session.call(last_error, []) == (str(code), code)
    log.append(session.pop_changes())
    assert replay(log) == session.cmi
    assert all(isinstance(value, str) for value in session.cmi.values())


@settings(max_examples=300, deadline=None)
@given(_calls(METHODS_12))
def test_random_calls_12_answer_codes(calls: list) -> None:
    _check_sequence("1.2", calls, ERRORS_12)


@settings(max_examples=300, deadline=None)
@given(_calls(METHODS_2004))
def test_random_calls_2004_answer_codes(calls: list) -> None:
    _check_sequence("2004", calls, ERRORS_2004)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(model_2004().elements)), values)
def test_set_then_get_returns_stored_2004(pattern: str, value: str) -> None:
    session = _session("2004")
    session.call("Initialize", [""])
    session.call("SetValue", ["cmi.interactions.0.id", "q"])
    session.call("SetValue", ["cmi.interactions.0.type", "other"])
    session.call("SetValue", ["cmi.interactions.0.objectives.0.id", "o"])
    session.call("SetValue", ["cmi.interactions.0.correct_responses.0.pattern", "p"])
    session.call("SetValue", ["cmi.objectives.0.id", "o"])
    session.call("SetValue", ["cmi.comments_from_learner.0.comment", "c"])
    name = pattern.replace(".n.", ".0.")

    result = session.call("SetValue", [name, value])

    if result == ("true", 0) and model_2004().elements[pattern].access == "rw":
        evaluated = name in ("cmi.completion_status", "cmi.success_status")
        got = session.call("GetValue", [name])
        assert evaluated or got == (value, 0)
