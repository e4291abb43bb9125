"""Package upload and management over HTTP with the real application."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from server.config import Settings
from tests.api_support import api, app, body_of, ctx, make_settings, people  # noqa: F401

MAX_UPLOAD = 2 * 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_upload_size=MAX_UPLOAD)


def multipart(fields: dict[str, str], file_bytes: bytes | None, filename: str = "package.zip") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    if file_bytes is not None:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/zip\r\n\r\n".encode()
            + file_bytes
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


async def upload(api, token, course_id, file_bytes):
    body, content_type = multipart({"course_id": str(course_id)}, file_bytes)
    headers = {"Content-Type": content_type}
    return await api.request("POST", "/api/scorm-packages/upload_package/", token=token, headers=headers, raw=body)


@pytest.mark.gen_test(timeout=60)
async def test_upload_imports_package(api, people, ctx, shared_dir):
    course = await ctx.store.create_course(title="Golf")
    data = (shared_dir / "packages" / "scorm12_golf_RuntimeMinimumCalls_moodle.zip").read_bytes()

    response = await upload(api, people.admin.token, course.id, data)

    assert response.code == 201, response.body
    created = body_of(response)
    assert created["package"]["status"] == "processing"
    assert created["package"]["course"] == course.id
    assert created["package"]["uploaded_at"].endswith("Z")
    await ctx.services["package_processor"].drain()
    status = body_of(await api.get(
        f"/api/scorm-packages/check_status/?task_id={created['task_id']}", token=people.admin.token))
    assert status["status"] == "ready"
    assert status["scorm_standard"] == "SCORM 1.2"
    assert status["launch_path"] == "Playing/Playing.html"
    assert len(status["items"]) == 18
    stored = Path(ctx.settings.data_dir) / status["file"]
    assert stored.read_bytes() == data

    listed = await api.get(f"/api/scorm-packages/?course_id={course.id}", token=people.learner.token)
    assert listed.code == 200
    assert listed.headers["X-Total-Count"] == "1"
    assert body_of(listed)[0]["id"] == created["package"]["id"]


@pytest.mark.gen_test(timeout=60)
async def test_upload_failed_package_reports_errors(api, people, ctx):
    course = await ctx.store.create_course(title="Bad")
    response = await upload(api, people.admin.token, course.id, b"not a zip")
    assert response.code == 201
    await ctx.services["package_processor"].drain()
    status = body_of(await api.get(
        f"/api/scorm-packages/check_status/?task_id={body_of(response)['task_id']}", token=people.admin.token))
    assert status["status"] == "failed"
    assert "not a readable zip" in status["errors"][0]


@pytest.mark.gen_test
async def test_upload_too_large_413(api, people, ctx):
    course = await ctx.store.create_course(title="Big")
    response = await upload(api, people.admin.token, course.id, bytes(MAX_UPLOAD + 10))
    assert response.code == 413
    assert list((Path(ctx.settings.data_dir) / "uploads").glob("*")) == []


@pytest.mark.gen_test
async def test_upload_rejects_bad_requests(api, people, ctx):
    course = await ctx.store.create_course(title="C")
    json_body = await api.post("/api/scorm-packages/upload_package/", {"course_id": course.id},
                               token=people.admin.token)
    assert json_body.code == 415
    missing_course = await upload(api, people.admin.token, "", b"zip")
    assert missing_course.code == 400
    unknown_course = await upload(api, people.admin.token, 999, b"zip")
    assert unknown_course.code == 404
    body, content_type = multipart({"course_id": str(course.id)}, None)
    no_file = await api.request("POST", "/api/scorm-packages/upload_package/", token=people.admin.token,
                                headers={"Content-Type": content_type}, raw=body)
    assert no_file.code == 400
    truncated = await api.request("POST", "/api/scorm-packages/upload_package/", token=people.admin.token,
                                  headers={"Content-Type": content_type}, raw=body[:-10])
    assert truncated.code == 400


@pytest.mark.gen_test
async def test_upload_requires_admin(api, people, ctx):
    course = await ctx.store.create_course(title="C")
    learner = await upload(api, people.learner.token, course.id, b"zip")
    assert learner.code == 403
    anonymous = await upload(api, None, course.id, b"zip")
    assert anonymous.code == 401


@pytest.mark.gen_test(timeout=60)
async def test_delete_package_hides_it(api, people, ctx, shared_dir):
    course = await ctx.store.create_course(title="Golf")
    data = (shared_dir / "packages" / "scorm12_golf_singlescobasic.zip").read_bytes()
    created = body_of(await upload(api, people.admin.token, course.id, data))
    await ctx.services["package_processor"].drain()
    package_id = created["package"]["id"]
    folder = Path(ctx.settings.data_dir) / "content" / str(package_id)
    assert folder.is_dir()

    by_learner = await api.delete(f"/api/scorm-packages/{package_id}/", token=people.learner.token)
    assert by_learner.code == 403
    deleted = await api.delete(f"/api/scorm-packages/{package_id}/", token=people.admin.token)
    assert deleted.code == 204
    assert not folder.exists()
    again = await api.get(f"/api/scorm-packages/{package_id}/", token=people.admin.token)
    assert again.code == 404
    stored = await ctx.store.get_package(package_id)
    assert stored.deleted_at is not None


@pytest.mark.gen_test
async def test_check_status_unknown_task_404(api, people):
    response = await api.get("/api/scorm-packages/check_status/?task_id=nope", token=people.admin.token)
    assert response.code == 404


@pytest.mark.gen_test(timeout=60)
async def test_upload_streams_chunked_body(http_client, base_url, people, ctx, shared_dir):
    from tornado.httpclient import HTTPRequest

    course = await ctx.store.create_course(title="Chunked")
    data = (shared_dir / "packages" / "scorm2004-3rd_golf_SequencingForcedSequential.zip").read_bytes()
    body, content_type = multipart({"course_id": str(course.id)}, data)

    async def produce(write):
        # Chunks of 1000 bytes split boundaries and headers at arbitrary points.
        for offset in range(0, len(body), 1000):
            await write(body[offset:offset + 1000])

    request = HTTPRequest(
        base_url + "/api/scorm-packages/upload_package/", method="POST", body_producer=produce,
        headers={"Content-Type": content_type, "Authorization": f"Token {people.admin.token}"},
    )
    response = await http_client.fetch(request, raise_error=False)
    assert response.code == 201, response.body
    await ctx.services["package_processor"].drain()
    package = await ctx.store.get_package(body_of(response)["package"]["id"])
    assert package.status == "ready"
    assert package.launch_path == "shared/launchpage.html?content=playing"
    assert (Path(ctx.settings.data_dir) / package.file).read_bytes() == data
