"""Users and API tokens: `/api/api-token-auth/` and `/api/users/`."""

from __future__ import annotations

import logging
import re
from typing import Any

from server import auth
from server.context import AppContext
from server.errors import ApiError
from server.handlers.base import BaseHandler
from server.handlers.fields import (
    body_bool,
    body_str,
    invalid,
    page_params,
    path_id,
    reject_unknown,
)
from server.serializers import user_json
from storage.models import User

log = logging.getLogger(__name__)

# The characters Django allows in a username, which LMSs commonly reuse.
USERNAME_PATTERN = re.compile(r"^[\w.@+-]{1,150}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
PROFILE_FIELDS = {"username", "email", "first_name", "last_name", "password", "is_staff"}
# Fields of the user JSON that a client may send back unchanged in a PUT.
READ_ONLY_FIELDS = {"id", "date_joined"}


def read_username(body: dict[str, Any], *, required: bool) -> str | None:
    username = body_str(body, "username", required=required, max_length=150)
    if username is not None and not USERNAME_PATTERN.match(username):
        raise invalid(
            "username",
            "use 1 to 150 letters, digits and the characters @ . + - _.",
        )
    return username


def read_email(body: dict[str, Any], *, required: bool) -> str | None:
    email = body_str(body, "email", required=required, max_length=254)
    if email and not EMAIL_PATTERN.match(email):
        raise invalid("email", f"{email!r} is not an email address.")
    return email


def read_password(body: dict[str, Any], *, required: bool) -> str | None:
    password = body_str(
        body, "password", required=required, max_length=MAX_PASSWORD_LENGTH
    )
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(
            "password", f"use at least {MIN_PASSWORD_LENGTH} characters."
        )
    return password


def read_profile(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Read and check the user fields of a create or update body."""
    fields: dict[str, Any] = {
        "username": read_username(body, required=creating),
        "email": read_email(body, required=creating),
        "password": read_password(body, required=creating),
        "first_name": body_str(body, "first_name", max_length=150),
        "last_name": body_str(body, "last_name", max_length=150),
        "is_staff": body_bool(body, "is_staff"),
    }
    return {name: value for name, value in fields.items() if value is not None}


class TokenAuthHandler(BaseHandler):
    """POST /api/api-token-auth/: exchange a username and password for a token."""

    async def post(self) -> None:
        body = self.json_body()
        username = body_str(body, "username", required=True, max_length=150)
        password = body_str(
            body, "password", required=True, max_length=MAX_PASSWORD_LENGTH
        )

        user = await self.ctx.store.get_user_by_username(username or "")
        stored = user.password_hash if user else None
        if not await auth.verify_password(password or "", stored) or user is None:
            raise ApiError(400, "Invalid username or password; check both and retry.")

        token = await auth.issue_token(self.ctx.store, user.id)
        log.info("issued an API token to user %d", user.id)
        self.write_json({"token": token})


class UsersHandler(BaseHandler):
    """GET /api/users/ (admin) lists users; POST creates one."""

    async def get(self) -> None:
        await self.require_admin()
        limit, offset = page_params(self)
        users, total = await self.ctx.store.list_users(limit=limit, offset=offset)
        self.write_page([user_json(user) for user in users], total)

    async def post(self) -> None:
        caller = await self.current_api_user()
        is_admin = caller is not None and caller.is_staff
        if not self.ctx.settings.open_registration and not is_admin:
            if caller is None:
                raise self.unauthorized(
                    "Registration is closed; an admin must create users."
                )
            raise ApiError(403, "Registration is closed; only an admin may create users.")
        body = self.json_body()
        fields = read_profile(body, creating=True)
        if fields.get("is_staff") and not is_admin:
            raise ApiError(403, "Only an admin may create a user with is_staff true.")

        password_hash = await auth.hash_password(fields.pop("password"))
        user = await self.ctx.store.create_user(password_hash=password_hash, **fields)
        token = await auth.issue_token(self.ctx.store, user.id)
        log.info("created user %d (staff: %s)", user.id, user.is_staff)
        self.write_json({"user": user_json(user), "token": token}, status=201)


class ValidateUserHandler(BaseHandler):
    """POST /api/users/validate_user/: does a user with this username exist?

    When `email` is given too, the user exists only if the email matches.
    """

    async def post(self) -> None:
        await self.require_user()
        body = self.json_body()
        username = body_str(body, "username", required=True, max_length=150)
        email = body_str(body, "email", max_length=254)

        user = await self.ctx.store.get_user_by_username(username or "")
        if user is not None and email is not None and user.email != email:
            user = None
        self.write_json(
            {"exists": user is not None, "user_id": user.id if user else None}
        )


class UserHandler(BaseHandler):
    """GET, PUT and DELETE /api/users/{id}/: the user itself or an admin."""

    async def _allowed_user(self, user_id: int) -> tuple[User, User]:
        """Return the caller and the user, or raise 401, 403 or 404."""
        caller = await self.require_user()
        if caller.id != user_id and not caller.is_staff:
            raise ApiError(403, "A learner may read and change only itself.")
        user = await self.ctx.store.get_user(user_id)
        if user is None:
            raise ApiError(404, f"User {user_id} not found.")
        return caller, user

    async def get(self, user_id: str) -> None:
        _, user = await self._allowed_user(path_id(user_id, "User"))
        self.write_json(user_json(user))

    async def put(self, user_id: str) -> None:
        caller, user = await self._allowed_user(path_id(user_id, "User"))
        body = self.json_body()
        reject_unknown(body, PROFILE_FIELDS | READ_ONLY_FIELDS)
        if "id" in body and body["id"] != user.id:
            raise invalid("id", f"the id of user {user.id} cannot change.")
        fields = read_profile(body, creating=False)
        is_staff = fields.get("is_staff")
        if is_staff is not None and is_staff != user.is_staff and not caller.is_staff:
            raise ApiError(403, "Only an admin may change is_staff.")

        if "password" in fields:
            fields["password_hash"] = await auth.hash_password(fields.pop("password"))
        if fields:
            user = await self.ctx.store.update_user(user.id, fields)
            log.info("updated user %d: %s", user.id, ", ".join(sorted(fields)))
            if not user.is_staff:
                self.ctx.services["staff_tokens"].forget_user(user.id)
        self.write_json(user_json(user))

    async def delete(self, user_id: str) -> None:
        record_id = path_id(user_id, "User")
        await self.require_admin()
        await self.ctx.store.delete_user(record_id)
        self.ctx.services["staff_tokens"].forget_user(record_id)
        log.info("deleted user %s", user_id)
        self.set_status(204)
        self.finish()


def routes(ctx: AppContext) -> list[Any]:
    args = {"ctx": ctx}
    return [
        (r"/api/api-token-auth/?$", TokenAuthHandler, args),
        (r"/api/users/?$", UsersHandler, args),
        (r"/api/users/validate_user/?$", ValidateUserHandler, args),
        (r"/api/users/(\d+)/?$", UserHandler, args),
    ]

