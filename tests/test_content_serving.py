"""Package content over HTTP: access, MIME types, ETag, Range, traversal, case fallback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from server.importer import import_package
from tests.api_support import api, app, ctx, people, settings  # noqa: F401
from tests.test_import_hostile import MANIFEST_12

FILES = {
    "imsmanifest.xml": MANIFEST_12,
    "index.html": b"<html>hello</html>",
    "js/app.js": b"console.log(1)",
    "js/mod.mjs": b"export default 1",
    "data/q.json": b"{}",
    "img/logo.svg": b"<svg/>",
    "fonts/f.woff2": b"wOF2",
    "media/clip.mp4": bytes(range(256)) * 40,
    "media/subs.vtt": b"WEBVTT",
    "Media/Upper.HTML": b"upper",
    "text/latin.html": "<html><p>Caf\u00e9 cr\u00e8me</p></html>".encode("cp1252"),
    "text/utf8.html": "<html><p>Caf\u00e9</p></html>".encode(),
    "text/declared.html": b'<html><head><meta charset="iso-8859-1"></head>\xe9</html>',
}


async def make_package(ctx, tmp_path: Path):
    course = await ctx.store.create_course(title="Content")
    package = await ctx.store.create_package(course_id=course.id, task_id="t-content", file="x.zip", status="processing")
    zip_path = tmp_path / "content.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, data in FILES.items():
            archive.writestr(name, data)
    result = import_package(ctx.settings, package.id, zip_path)
    assert result.status == "ready", result.fields
    return await ctx.store.update_package(package.id, result.fields)


async def launch_token(ctx, user_id: int, package_id: int) -> str:
    attempt = await ctx.store.create_attempt(user_id, package_id)
    token, _ = ctx.services["launch_tokens"].issue(attempt.id)
    return token


@pytest.mark.gen_test
async def test_mime_types(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    expected = {
        "index.html": "text/html", "js/app.js": "text/javascript", "js/mod.mjs": "text/javascript",
        "data/q.json": "application/json", "img/logo.svg": "image/svg+xml", "fonts/f.woff2": "font/woff2",
        "media/clip.mp4": "video/mp4", "media/subs.vtt": "text/vtt",
    }
    for path, content_type in expected.items():
        response = await api.get(f"/content/{package.id}/{path}", token=people.admin.token)
        assert response.code == 200, path
        assert response.headers["Content-Type"].split(";")[0] == content_type, path
        assert response.body == FILES[path], path


@pytest.mark.gen_test
async def test_etag_and_range(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    url = f"/content/{package.id}/media/clip.mp4"
    first = await api.get(url, token=people.admin.token)
    etag = first.headers["Etag"]
    cached = await api.get(url, token=people.admin.token, headers={"If-None-Match": etag})
    assert cached.code == 304
    part = await api.get(url, token=people.admin.token, headers={"Range": "bytes=10-19"})
    assert part.code == 206
    assert part.body == FILES["media/clip.mp4"][10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(FILES['media/clip.mp4'])}"
    head = await api.request("HEAD", url, token=people.admin.token)
    assert head.code == 200
    assert head.body == b""


@pytest.mark.gen_test
async def test_traversal_rejected(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    (Path(ctx.settings.data_dir) / "secret.txt").write_text("secret")
    other = Path(ctx.settings.data_dir) / "content" / str(package.id + 1)
    other.mkdir()
    (other / "x.html").write_text("other package")
    attempts = [
        "../../secret.txt", "%2e%2e/%2e%2e/secret.txt", "..%2f..%2fsecret.txt", "..%5c..%5csecret.txt",
        f"../{package.id + 1}/x.html", "%2fetc%2fpasswd", "js/", "js", "",
    ]
    for path in attempts:
        response = await api.get(f"/content/{package.id}/{path}", token=people.admin.token)
        assert response.code in {400, 403, 404}, path
        assert b"secret" not in response.body, path
        assert b"other package" not in response.body, path


@pytest.mark.gen_test
async def test_case_insensitive_fallback(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    response = await api.get(f"/content/{package.id}/media/upper.html", token=people.admin.token)
    assert response.code == 200
    assert response.body == b"upper"


@pytest.mark.gen_test
async def test_access_by_token_kind(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    url = f"/content/{package.id}/index.html"
    token = await launch_token(ctx, people.learner.id, package.id)
    other_package = await ctx.store.create_package(course_id=package.course_id, task_id="t2", file="y.zip",
                                                   status="ready")
    foreign = await launch_token(ctx, people.learner.id, other_package.id)

    assert (await api.get(url)).code == 401
    assert (await api.get(url, token=people.learner.token)).code == 403
    assert (await api.get(url, headers={"Authorization": f"Launch {token}"})).code == 200
    assert (await api.get(f"{url}?token={token}")).code == 200
    assert (await api.get(url, headers={"Cookie": f"scorm_launch={token}"})).code == 200
    assert (await api.get(url, headers={"Authorization": f"Launch {foreign}"})).code == 403
    assert (await api.get(url, headers={"Authorization": "Launch forged.token"})).code == 401


@pytest.mark.gen_test
async def test_deleted_or_failed_package_404(api, people, ctx, tmp_path):
    from datetime import datetime, timezone

    package = await make_package(ctx, tmp_path)
    url = f"/content/{package.id}/index.html"
    await ctx.store.update_package(package.id, {"status": "failed"})
    assert (await api.get(url, token=people.admin.token)).code == 404
    await ctx.store.update_package(package.id, {"status": "ready", "deleted_at": datetime.now(timezone.utc)})
    assert (await api.get(url, token=people.admin.token)).code == 404


@pytest.mark.gen_test
async def test_errors_log_no_launch_token(api, people, ctx, tmp_path, caplog, monkeypatch):
    package = await make_package(ctx, tmp_path)
    token = await launch_token(ctx, people.learner.id, package.id)
    bad_name = await api.get(f"/content/{package.id}/%ff.html?token={token}")

    async def fail(package_id: int) -> None:
        raise RuntimeError("store bug")

    monkeypatch.setattr(ctx.store, "get_package", fail)
    crashed = await api.get(f"/content/{package.id}/index.html?token={token}")

    assert bad_name.code == 400
    assert crashed.code == 500
    assert f"/content/{package.id}/index.html" in caplog.text
    assert token not in caplog.text


@pytest.mark.gen_test
async def test_html_charset_declared_when_missing(api, people, ctx, tmp_path):
    package = await make_package(ctx, tmp_path)
    expected = {
        "text/latin.html": "text/html; charset=windows-1252",
        "text/utf8.html": "text/html; charset=utf-8",
        "text/declared.html": "text/html",
    }

    for path, content_type in expected.items():
        response = await api.get(f"/content/{package.id}/{path}", token=people.admin.token)
        assert response.code == 200, path
        assert response.headers["Content-Type"] == content_type, path
