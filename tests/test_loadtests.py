"""The floor server and the benchmark driver's helpers, without a load run."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from loadtests.bench import Sample, parse_metrics, ratios, steady_rate
from loadtests.floor import Counters, make_app


@pytest.fixture
def app():
    return make_app(Counters())


@pytest.mark.gen_test
async def test_floor_answers_batch_per_call(http_server, base_url):
    client = AsyncHTTPClient()
    body = {
        "session_id": "s-1",
        "batch_seq": 4,
        "calls": [
            {"method": "SetValue", "args": ["cmi.location", "p1"]},
            {"method": "GetValue", "args": ["cmi.location"]},
            {"method": "Commit", "args": [""]},
        ],
    }

    response = await client.fetch(
        f"{base_url}/api/attempts/7/runtime/", method="POST", body=json.dumps(body)
    )
    metrics = await client.fetch(f"{base_url}/metrics")

    answer = json.loads(response.body)
    assert answer["batch_seq"] == 4
    assert [r["return"] for r in answer["results"]] == ["true", "", "true"]
    assert parse_metrics(metrics.body.decode())["scorm_runtime_calls_total"] == 3


@pytest.mark.gen_test
async def test_floor_rejects_invalid_json(http_server, base_url):
    client = AsyncHTTPClient()

    with pytest.raises(HTTPClientError) as caught:
        await client.fetch(
            f"{base_url}/api/attempts/7/runtime/", method="POST", body="{not json"
        )

    assert caught.value.code == 400


@pytest.mark.gen_test
async def test_floor_opens_distinct_sessions(http_server, base_url):
    client = AsyncHTTPClient()
    url = f"{base_url}/api/attempts/3/sessions/"

    first = await client.fetch(url, method="POST", body="{}")
    second = await client.fetch(url, method="POST", body="{}")

    assert first.code == 201
    assert json.loads(first.body)["session_id"] != json.loads(second.body)["session_id"]


def test_parse_metrics_sums_label_sets():
    text = (
        "# HELP scorm_store_writes_total Store round trips.\n"
        "# TYPE scorm_store_writes_total counter\n"
        'scorm_store_writes_total{kind="append_log"} 12.0\n'
        'scorm_store_writes_total{kind="snapshot"} 3.0\n'
        "scorm_runtime_calls_total 1500.0\n"
    )

    totals = parse_metrics(text)

    assert totals["scorm_store_writes_total"] == 15.0
    assert totals['scorm_store_writes_total{kind="snapshot"}'] == 3.0
    assert totals["scorm_runtime_calls_total"] == 1500.0


def test_steady_rate_skips_ramp_and_tail():
    samples = [
        Sample(0.0, 0, {"calls": 0}),
        Sample(1.0, 0, {"calls": 50}),
        Sample(2.0, 0, {"calls": 150}),
        Sample(3.0, 0, {"calls": 250}),
        Sample(4.0, 0, {"calls": 250}),
    ]

    rate = steady_rate(samples, ramp_end=1.0, name="calls")

    assert rate == pytest.approx(100.0)


def test_ratios_missing_config_gives_none():
    results = {
        "floor": {"requests_per_s": 1000.0},
        "default": {"runtime_calls_per_s": 7000.0},
    }

    figures = ratios(results)

    assert figures["default_calls_per_s_vs_floor_requests_per_s"] == 7.0
    assert figures["default_vs_write_through_calls_per_s"] is None
