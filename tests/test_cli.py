"""`python -m server`: flags, environment variables, createsuperuser, serving."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from server.cli import OPTIONS, build_parser, main, read_admin_password, settings_from
from storage import open_store
from tests.conftest import PROJECT_ROOT

UNIT_WORDS = ("bytes", "seconds", "milliseconds", "a minute", "characters", "ratio")


def run_server(*args: str, env: dict[str, str] | None = None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=kwargs.pop("cwd", PROJECT_ROOT),
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_help_lists_every_flag_with_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"], environ={})

    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in OPTIONS:
        assert option.flag in text
        assert option.env in text
    assert "--open-registration" in text
    assert "--no-open-registration" in text
    assert text.count("default:") >= len(OPTIONS) + 1


@pytest.mark.parametrize(
    ("flag", "unit"),
    [
        ("--max-body-size", "bytes"),
        ("--max-upload-size", "bytes"),
        ("--actor-idle-timeout", "seconds"),
        ("--flush-interval", "milliseconds"),
        ("--rate-limit", "a minute"),
        ("--launch-token-ttl", "seconds"),
    ],
)
def test_help_names_units(flag, unit):
    option = next(option for option in OPTIONS if option.flag == flag)

    assert unit in option.help


def test_flag_wins_over_environment():
    args = build_parser().parse_args(["--port", "9000", "--no-open-registration"])

    settings = settings_from(
        args,
        {
            "SCORM_PORT": "8001",
            "SCORM_RATE_LIMIT": "5",
            "SCORM_OPEN_REGISTRATION": "true",
            "SCORM_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
        },
    )

    assert settings.port == 9000
    assert settings.rate_limit == 5
    assert settings.open_registration is False
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1")


def test_defaults_without_flags_or_environment():
    settings = settings_from(build_parser().parse_args([]), {})

    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.store_url == "sqlite:///data/scorm.sqlite3"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SCORM_PORT": "eighty"}, "SCORM_PORT"),
        ({"SCORM_OPEN_REGISTRATION": "maybe"}, "SCORM_OPEN_REGISTRATION"),
        ({"SCORM_PORT": "70000"}, "port"),
        ({"SCORM_MAX_BODY_SIZE": "0"}, "max_body_size"),
    ],
)
def test_invalid_environment_is_rejected(environ, message):
    with pytest.raises(ValueError, match=message):
        settings_from(build_parser().parse_args([]), environ)


def test_createsuperuser_with_env_password(tmp_path):
    data_dir = tmp_path / "data"
    env = {"SCORM_ADMIN_PASSWORD": "admin password"}
    args = ["createsuperuser", "--username", "root", "--email", "root@example.com",
            "--data-dir", str(data_dir)]

    created = run_server(*args, env=env)
    again = run_server(*args, env=env)

    assert created.returncode == 0, created.stderr
    assert "root" in created.stdout
    assert again.returncode == 1
    assert "username 'root' is taken" in again.stderr
    # A private loop: asyncio.run would reset the event loop that the
    # pytest-tornado fixtures of other modules set.
    loop = asyncio.new_event_loop()
    try:
        user = loop.run_until_complete(_read_user(data_dir / "scorm.sqlite3", "root"))
    finally:
        loop.close()
    assert user.is_staff is True
    assert "admin password" not in user.password_hash


def test_createsuperuser_rejects_short_password(tmp_path):
    result = run_server(
        "createsuperuser", "--username", "root", "--email", "root@example.com",
        "--data-dir", str(tmp_path), env={"SCORM_ADMIN_PASSWORD": "short"},
    )

    assert result.returncode == 2
    assert "too short" in result.stderr


async def _read_user(path: Path, username: str):
    store = open_store(f"sqlite:///{path}")
    await store.open()
    try:
        return await store.get_user_by_username(username)
    finally:
        await store.close()


def test_serve_starts_and_stops_on_sigterm(tmp_path):
    with subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--secret-key", "k"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            port = _wait_for_port(process)
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/healthz", timeout=10
            ) as reply:
                health = reply.read()
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=30)
            log = process.stderr.read()
        finally:
            if process.poll() is None:
                process.kill()

    assert health == b'{"status":"ok"}'
    assert returncode == 0
    assert "closed the store" in log
    assert (tmp_path / "data" / "scorm.sqlite3").exists()


def _wait_for_port(process: subprocess.Popen) -> int:
    assert process.stderr is not None
    for line in process.stderr:
        match = re.search(r"serving on http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return int(match.group(1))
    raise AssertionError("the server exited without logging its URL")


def test_admin_password_prompt_asks_twice(monkeypatch):
    answers = iter(["prompted password", "prompted password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    assert read_admin_password({}) == "prompted password"


def test_admin_password_prompt_rejects_mismatch(monkeypatch):
    answers = iter(["prompted password", "another password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    with pytest.raises(ValueError, match="differ"):
        read_admin_password({})


def test_serve_stops_on_sigint(tmp_path):
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file, subprocess.Popen(
        [sys.executable, "-m", "server", "--port", "0", "--secret-key", "k"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        stderr=log_file,
    ) as process:
        try:
            while "serving on" not in log_path.read_text():
                assert process.poll() is None, log_path.read_text()
                try:
                    process.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()

    assert returncode == 0
    assert "closed the store" in log_path.read_text()
