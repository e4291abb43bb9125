"""Users and tokens: /api/api-token-auth/ and /api/users/."""

from __future__ import annotations

import dataclasses

import pytest

from server.handlers.base import hash_token
from tests.api_support import (  # noqa: F401
    PASSWORD,
    api,
    app,
    body_of,
    ctx,
    people,
    settings,
)

NEW_USER = {
    "username": "newuser",
    "email": "newuser@example.com",
    "password": "securepassword",
    "first_name": "John",
    "last_name": "Doe",
}


@pytest.mark.gen_test
async def test_create_user_answers_guide_shape(api, ctx):
    response = await api.post("/api/users/", NEW_USER)

    assert response.code == 201
    body = body_of(response)
    assert set(body) == {"user", "token"}
    user = body["user"]
    assert user["username"] == "newuser"
    assert user["email"] == "newuser@example.com"
    assert user["first_name"] == "John"
    assert user["last_name"] == "Doe"
    assert user["is_staff"] is False
    assert "password" not in user
    assert "password_hash" not in user
    stored = await ctx.store.get_user_by_token(hash_token(body["token"]))
    assert stored is not None
    assert stored.id == user["id"]
    assert PASSWORD not in stored.password_hash
    assert "securepassword" not in stored.password_hash


@pytest.mark.gen_test
async def test_created_user_can_obtain_token(api):
    await api.post("/api/users/", NEW_USER)

    response = await api.post(
        "/api/api-token-auth/", {"username": "newuser", "password": "securepassword"}
    )

    assert response.code == 200
    token = body_of(response)["token"]
    assert len(token) == 64
    check = await api.post(
        "/api/users/validate_user/", {"username": "newuser"}, token=token
    )
    assert check.code == 200


@pytest.mark.gen_test
async def test_token_auth_rejects_bad_credentials(api, people):
    wrong_password = await api.post(
        "/api/api-token-auth/", {"username": "learner", "password": "nope-nope"}
    )
    unknown_user = await api.post(
        "/api/api-token-auth/", {"username": "ghost", "password": PASSWORD}
    )
    missing_field = await api.post("/api/api-token-auth/", {"username": "learner"})

    assert wrong_password.code == 400
    assert "Invalid username or password" in body_of(wrong_password)["error"]
    assert unknown_user.code == 400
    assert missing_field.code == 400
    assert body_of(missing_field)["details"] == {"password": "this field is required."}


@pytest.mark.gen_test
async def test_duplicate_username_is_409(api, people):
    response = await api.post("/api/users/", {**NEW_USER, "username": "learner"})

    assert response.code == 409
    assert "learner" in body_of(response)["error"]


@pytest.mark.gen_test
async def test_only_admin_creates_staff(api, people, ctx):
    staff = {**NEW_USER, "is_staff": True}

    anonymous = await api.post("/api/users/", staff)
    learner = await api.post("/api/users/", staff, token=people.learner.token)
    admin = await api.post("/api/users/", staff, token=people.admin.token)

    assert anonymous.code == 403
    assert learner.code == 403
    assert admin.code == 201
    assert body_of(admin)["user"]["is_staff"] is True
    _, total = await ctx.store.list_users(limit=10, offset=0)
    assert total == 4


@pytest.mark.gen_test
async def test_closed_registration_needs_admin(api, people, ctx):
    ctx.settings = dataclasses.replace(ctx.settings, open_registration=False)

    anonymous = await api.post("/api/users/", NEW_USER)
    learner = await api.post("/api/users/", NEW_USER, token=people.learner.token)
    admin = await api.post("/api/users/", NEW_USER, token=people.admin.token)

    assert anonymous.code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Token"
    assert learner.code == 403
    assert admin.code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": 5}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": None}, "password"),
        ({"first_name": ["x"]}, "first_name"),
        ({"is_staff": "yes"}, "is_staff"),
    ],
)
@pytest.mark.gen_test
async def test_create_user_rejects_invalid_field(api, ctx, change, field):
    response = await api.post("/api/users/", {**NEW_USER, **change})

    assert response.code == 400
    assert field in body_of(response)["details"]
    _, total = await ctx.store.list_users(limit=10, offset=0)
    assert total == 0


@pytest.mark.gen_test
async def test_validate_user_reports_existence(api, people):
    found = await api.post(
        "/api/users/validate_user/",
        {"username": "learner", "email": "learner@example.com"},
        token=people.other.token,
    )
    wrong_email = await api.post(
        "/api/users/validate_user/",
        {"username": "learner", "email": "x@example.com"},
        token=people.other.token,
    )
    missing = await api.post(
        "/api/users/validate_user/", {"username": "ghost"}, token=people.other.token
    )
    anonymous = await api.post("/api/users/validate_user/", {"username": "learner"})

    assert body_of(found) == {"exists": True, "user_id": people.learner.id}
    assert body_of(wrong_email) == {"exists": False, "user_id": None}
    assert body_of(missing) == {"exists": False, "user_id": None}
    assert anonymous.code == 401


@pytest.mark.gen_test
async def test_list_users_is_admin_only_and_paged(api, people):
    admin = await api.get("/api/users/?limit=2&offset=1", token=people.admin.token)
    learner = await api.get("/api/users/", token=people.learner.token)

    assert admin.code == 200
    assert admin.headers["X-Total-Count"] == "3"
    assert [user["username"] for user in body_of(admin)] == ["learner", "other"]
    assert learner.code == 403


@pytest.mark.gen_test
async def test_learner_updates_itself(api, people, ctx):
    response = await api.put(
        f"/api/users/{people.learner.id}/",
        {"email": "new@example.com", "first_name": "Ann", "password": "another password"},
        token=people.learner.token,
    )

    assert response.code == 200
    assert body_of(response)["email"] == "new@example.com"
    assert body_of(response)["first_name"] == "Ann"
    login = await api.post(
        "/api/api-token-auth/", {"username": "learner", "password": "another password"}
    )
    assert login.code == 200


@pytest.mark.gen_test
async def test_learner_cannot_make_itself_staff(api, people, ctx):
    response = await api.put(
        f"/api/users/{people.learner.id}", {"is_staff": True}, token=people.learner.token
    )

    assert response.code == 403
    stored = await ctx.store.get_user(people.learner.id)
    assert stored.is_staff is False


@pytest.mark.gen_test
async def test_rename_to_taken_username_is_409(api, people, ctx):
    response = await api.put(
        f"/api/users/{people.learner.id}/", {"username": "other"}, token=people.admin.token
    )

    assert response.code == 409
    stored = await ctx.store.get_user(people.learner.id)
    assert stored.username == "learner"


@pytest.mark.gen_test
async def test_update_rejects_unknown_field(api, people):
    response = await api.put(
        f"/api/users/{people.learner.id}/", {"nickname": "x"}, token=people.learner.token
    )

    assert response.code == 400
    assert body_of(response)["details"] == {"nickname": "unknown field."}


@pytest.mark.gen_test
async def test_delete_user_admin_only(api, people, ctx):
    learner = await api.delete(f"/api/users/{people.other.id}/", token=people.learner.token)
    itself = await api.delete(f"/api/users/{people.learner.id}/", token=people.learner.token)
    admin = await api.delete(f"/api/users/{people.other.id}/", token=people.admin.token)
    again = await api.delete(f"/api/users/{people.other.id}/", token=people.admin.token)

    assert learner.code == 403
    assert itself.code == 403
    assert admin.code == 204
    assert again.code == 404
    assert await ctx.store.get_user(people.other.id) is None
    assert await ctx.store.get_user(people.learner.id) is not None


@pytest.mark.gen_test
async def test_unknown_user_is_404_for_admin(api, people):
    response = await api.get("/api/users/999/", token=people.admin.token)

    assert response.code == 404
    assert body_of(response) == {"error": "User 999 not found."}
