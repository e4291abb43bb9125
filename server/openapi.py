"""The OpenAPI 3.1 document of the REST API, written by hand.

It describes every endpoint, including those of the packages, content,
run-time and player parts, with the response bodies that the handlers send.
Objects allow fields beyond those listed, so a part may add a field without
breaking clients; every listed required field is always sent.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"
ID = {"type": "integer", "minimum": 1}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(
    properties: dict[str, Any], required: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """Return an object schema; `required` defaults to every property."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "error": {"type": "string", "description": "What failed and what to do."},
            "details": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Field name to message, for invalid fields.",
            },
            "error_code": {
                "type": "integer",
                "description": "The SCORM error code of a run-time error.",
            },
        },
        ["error"],
    ),
    "User": obj(
        {
            "id": ID,
            "username": {"type": "string"},
            "email": {"type": "string"},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "is_staff": {"type": "boolean"},
            "date_joined": TIME,
        }
    ),
    "UserCreate": obj(
        {
            "username": {"type": "string", "pattern": r"^[\w.@+-]{1,150}$"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "first_name": {"type": "string", "maxLength": 150},
            "last_name": {"type": "string", "maxLength": 150},
            "is_staff": {"type": "boolean", "description": "Only an admin may set it."},
        },
        ["username", "email", "password"],
    ),
    "UserUpdate": obj(
        {
            "username": {"type": "string", "pattern": r"^[\w.@+-]{1,150}$"},
            "email": {"type": "string", "format": "email", "maxLength": 254},
            "password": {"type": "string", "minLength": 8, "maxLength": 1024},
            "first_name": {"type": "string", "maxLength": 150},
            "last_name": {"type": "string", "maxLength": 150},
            "is_staff": {"type": "boolean", "description": "Only an admin may change it."},
        },
        [],
        additionalProperties=False,
    ),
    "UserCreated": obj({"user": ref("User"), "token": {"type": "string"}}),
    "TokenRequest": obj(
        {"username": {"type": "string"}, "password": {"type": "string"}}
    ),
    "Token": obj({"token": {"type": "string"}}),
    "ValidateUserRequest": obj(
        {"username": {"type": "string"}, "email": {"type": "string"}}, ["username"]
    ),
    "ValidateUserResponse": obj(
        {"exists": {"type": "boolean"}, "user_id": {"type": ["integer", "null"]}}
    ),
    "Course": obj(
        {
            "id": ID,
            "title": {"type": "string"},
            "description": {"type": "string"},
            "is_active": {"type": "boolean"},
            "created_at": TIME,
        }
    ),
    "CourseCreate": obj(
        {
            "title": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": {"type": "string", "maxLength": 10000},
            "is_active": {"type": "boolean"},
        },
        ["title"],
        additionalProperties=False,
    ),
    "CourseUpdate": obj(
        {
            "title": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": {"type": "string", "maxLength": 10000},
            "is_active": {"type": "boolean"},
        },
        [],
        additionalProperties=False,
    ),
    "PackageItem": obj(
        {
            "identifier": {"type": "string"},
            "title": {"type": "string"},
            "scorm_type": {"type": "string", "enum": ["sco", "asset"]},
            "launch_path": {"type": "string"},
        }
    ),
    "Package": obj(
        {
            "id": ID,
            "course": ID,
            "scorm_standard": {"type": "string"},
            "file": {"type": "string"},
            "version": {"type": "string"},
            "manifest_path": {"type": "string"},
            "launch_path": {"type": "string"},
            "status": {"type": "string", "enum": ["processing", "ready", "failed"]},
            "uploaded_at": TIME,
            "created_at": TIME,
            "title": {"type": "string"},
            "items": array(ref("PackageItem")),
            "errors": array({"type": "string"}),
            "warnings": array({"type": "string"}),
        },
        ["id", "course", "status", "uploaded_at", "created_at"],
    ),
    "UploadResponse": obj({"package": ref("Package"), "task_id": {"type": "string"}}),
    "PackageStatus": {
        "oneOf": [
            obj(
                {"status": {"const": "processing"}},
                additionalProperties=False,
            ),
            obj(
                {"status": {"const": "failed"}, "errors": array({"type": "string"})},
            ),
            {"allOf": [ref("Package"), obj({"status": {"const": "ready"}})]},
        ]
    },
    "Registration": obj(
        {"id": ID, "user": ID, "course": ID, "registered_at": TIME}
    ),
    "RegisterRequest": obj({"user_id": ID, "course_id": ID}),
    "Attempt": obj(
        {
            "id": ID,
            "user": ID,
            "scorm_package": ID,
            "started_at": TIME,
            "last_accessed_at": TIME,
            "completion_status": {"type": "string"},
            "success_status": {"type": "string"},
            "score": {"type": ["number", "null"]},
            "is_complete": {"type": "boolean"},
            "total_time_seconds": {
                "type": "number",
                "minimum": 0,
                "description": "Total time of the attempt in seconds.",
            },
        }
    ),
    "StartedAttempt": {
        "allOf": [
            ref("Attempt"),
            obj({"launch_url": {"type": "string", "format": "uri"}}),
        ]
    },
    "StartAttemptRequest": obj({"user_id": ID, "package_id": ID}),
    "Launch": obj(
        {"launch_url": {"type": "string", "format": "uri"}, "expires_at": TIME}
    ),
    "ProgressRequest": obj(
        {
            "completion_status": {
                "type": "string",
                "description": "SCORM 1.2: a cmi.core.lesson_status value; "
                "SCORM 2004: a cmi.completion_status value.",
            },
            "success_status": {"type": "string", "enum": ["passed", "failed", "unknown"]},
            "score": {"type": ["number", "null"]},
        },
        [],
        additionalProperties=False,
        minProperties=1,
    ),
    "UserCourseReport": obj(
        {"user": ref("User"), "course": ref("Course"), "attempts": array(ref("Attempt"))}
    ),
    "CourseReportRow": obj(
        {
            "user_id": ID,
            "username": {"type": "string"},
            "email": {"type": "string"},
            "first_name": {"type": "string"},
            "last_name": {"type": "string"},
            "registered_at": TIME,
            "attempt_id": {"type": ["integer", "null"]},
            "completion_status": {"type": ["string", "null"]},
            "success_status": {"type": ["string", "null"]},
            "score": {"type": ["number", "null"]},
            "is_complete": {"type": ["boolean", "null"]},
            "total_time_seconds": {"type": ["number", "null"]},
            "last_accessed_at": NULLABLE_TIME,
        }
    ),
    "CourseReport": obj({"course": ref("Course"), "rows": array(ref("CourseReportRow"))}),
    "SessionRequest": obj(
        {
            "sco_id": {"type": "string", "description": "An item identifier; default: the first SCO."},
            "mode": {"type": "string", "enum": ["normal", "browse", "review"]},
            "credit": {"type": "string", "enum": ["credit", "no-credit"]},
        },
        [],
    ),
    "Session": obj(
        {
            "session_id": {"type": "string"},
            "sco_id": {"type": "string"},
            "standard": {"type": "string"},
            "cmi": {
                "type": "object",
                "description": "Data model element to value, as the SCO sees them "
                "after Initialize.",
            },
        }
    ),
    "RuntimeCall": obj(
        {
            "method": {
                "type": "string",
                "description": "An API function name of the package's standard, "
                "such as SetValue or LMSSetValue.",
            },
            "args": array({"type": "string"}),
        }
    ),
    "RuntimeBatch": obj(
        {
            "session_id": {"type": "string"},
            "batch_seq": {"type": "integer", "minimum": 1},
            "calls": array(ref("RuntimeCall")),
        }
    ),
    "RuntimeResult": obj(
        {
            "return": {"type": "string", "description": "The API function's return string."},
            "error_code": {"type": "integer"},
        }
    ),
    "RuntimeBatchResult": obj(
        {"batch_seq": {"type": "integer"}, "results": array(ref("RuntimeResult"))}
    ),
    "RuntimeConflict": {
        "allOf": [ref("Error"), obj({"expected_batch_seq": {"type": "integer"}})]
    },
    "Cmi": obj(
        {
            "attempt_id": ID,
            "items": {
                "type": "object",
                "additionalProperties": {"type": "object"},
                "description": "Item identifier to a flat map of element to value.",
            },
        }
    ),
    "ScoRequest": obj({"sco_id": {"type": "string"}}, []),
    "SetValueRequest": obj(
        {
            "attempt_id": ID,
            "element_id": {"type": "string"},
            "value": {"type": "string"},
            "sco_id": {"type": "string"},
        },
        ["attempt_id", "element_id", "value"],
    ),
    "SetValueResult": obj(
        {"result": {"type": "string"}, "error_code": {"type": "integer"}}
    ),
    "GetValueResult": obj({"value": {"type": "string"}}),
    "Health": obj({"status": {"type": "string"}}, ["status"]),
}

_STATUS_TEXT = {
    400: "Invalid input.",
    401: "No or invalid credentials.",
    403: "Authenticated, not allowed.",
    404: "Not found.",
    409: "Conflict.",
    413: "Request body too large.",
    415: "Unsupported content type.",
    429: "Rate limited; see Retry-After.",
}


def json_response(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def error(status: int) -> dict[str, Any]:
    response = json_response(_STATUS_TEXT[status], ref("Error"))
    if status == 429:
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}
        }
    return response


def html_error(status: int) -> dict[str, Any]:
    """Return the error response of a page: HTML, or JSON when no route matched."""
    return {
        "description": _STATUS_TEXT[status],
        "content": {"text/html": {}, JSON: {"schema": ref("Error")}},
    }


def list_response(schema_name: str) -> dict[str, Any]:
    return json_response(
        f"A page of {schema_name} records.",
        array(ref(schema_name)),
        headers={
            "X-Total-Count": {
                "schema": {"type": "integer"},
                "description": "Records matching the filters, over all pages.",
            }
        },
    )


def operation(
    summary: str,
    tag: str,
    responses: dict[int, Any],
    *,
    body: str | dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    auth: bool = True,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Return an operation with the error responses that every request may get."""
    codes = set(errors) | {429}
    if auth:
        codes |= {400, 401, 403}
    if body is not None:
        codes |= {400, 413, 415}
    if any(p.get("in") == "path" for p in params or []):
        codes.add(404)
    all_responses = {str(code): error(code) for code in sorted(codes)}
    all_responses.update({str(code): value for code, value in responses.items()})
    result: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": all_responses}
    if params:
        result["parameters"] = params
    if body is not None:
        schema = ref(body) if isinstance(body, str) else body
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    if not auth:
        result["security"] = []
    return result


def path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


PAGE = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
    query("offset", {"type": "integer", "minimum": 0, "default": 0}),
]


def _user_paths() -> dict[str, Any]:
    user_id = [path_id("user_id")]
    return {
        "/api/api-token-auth/": {
            "post": operation(
                "Exchange a username and password for an API token.",
                "users",
                {200: json_response("A new token.", ref("Token"))},
                body="TokenRequest",
                auth=False,
            )
        },
        "/api/users/": {
            "get": operation(
                "List users (admin).", "users", {200: list_response("User")}, params=PAGE
            ),
            "post": operation(
                "Create a user; anonymous callers may while open registration is on.",
                "users",
                {201: json_response("The user and its first token.", ref("UserCreated"))},
                body="UserCreate",
                errors=(401, 403, 409),
            ),
        },
        "/api/users/validate_user/": {
            "post": operation(
                "Check whether a user with this username (and email) exists.",
                "users",
                {200: json_response("Whether the user exists.", ref("ValidateUserResponse"))},
                body="ValidateUserRequest",
            )
        },
        "/api/users/{user_id}/": {
            "get": operation(
                "Read a user (itself or admin).", "users",
                {200: json_response("The user.", ref("User"))}, params=user_id,
            ),
            "put": operation(
                "Change a user (itself or admin); only an admin may change is_staff.",
                "users",
                {200: json_response("The changed user.", ref("User"))},
                body="UserUpdate",
                params=user_id,
                errors=(409,),
            ),
            "delete": operation(
                "Delete a user (admin); its attempts stay.", "users",
                {204: {"description": "Deleted."}}, params=user_id,
            ),
        },
    }


def _course_paths() -> dict[str, Any]:
    course_id = [path_id("course_id")]
    return {
        "/api/courses/": {
            "get": operation(
                "List courses.", "courses", {200: list_response("Course")}, params=PAGE
            ),
            "post": operation(
                "Create a course (admin).", "courses",
                {201: json_response("The course.", ref("Course"))}, body="CourseCreate",
            ),
        },
        "/api/courses/{course_id}/": {
            "get": operation(
                "Read a course.", "courses",
                {200: json_response("The course.", ref("Course"))}, params=course_id,
            ),
            "put": operation(
                "Change a course (admin).", "courses",
                {200: json_response("The changed course.", ref("Course"))},
                body="CourseUpdate", params=course_id,
            ),
            "delete": operation(
                "Delete a course and its registrations (admin); 409 while it has packages.",
                "courses",
                {204: {"description": "Deleted."}}, params=course_id, errors=(409,),
            ),
        },
    }


def _package_paths() -> dict[str, Any]:
    package_id = [path_id("package_id")]
    upload = {
        "type": "object",
        "properties": {
            "course_id": {"type": "integer"},
            "file": {"type": "string", "format": "binary"},
        },
        "required": ["course_id", "file"],
    }
    upload_operation = operation(
        "Upload a package zip (admin); it is processed in the background.",
        "packages",
        {201: json_response("The package, status processing.", ref("UploadResponse"))},
        errors=(400, 413, 415),
    )
    upload_operation["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": upload}},
    }
    return {
        "/api/scorm-packages/": {
            "get": operation(
                "List packages that are not deleted.", "packages",
                {200: list_response("Package")},
                params=PAGE + [query("course_id", ID), query("status", {"type": "string"})],
            )
        },
        "/api/scorm-packages/upload_package/": {"post": upload_operation},
        "/api/scorm-packages/check_status/": {
            "get": operation(
                "Read the processing status of an upload by its task id.", "packages",
                {200: json_response("The status, or the package once ready.",
                                    ref("PackageStatus"))},
                params=[query("task_id", {"type": "string"}, required=True)],
                errors=(404,),
            )
        },
        "/api/scorm-packages/{package_id}/": {
            "get": operation(
                "Read a package.", "packages",
                {200: json_response("The package.", ref("Package"))}, params=package_id,
            ),
            "delete": operation(
                "Delete a package's files and hide it (admin); attempts stay readable.",
                "packages", {204: {"description": "Deleted."}}, params=package_id,
            ),
        },
    }


def _registration_and_report_paths() -> dict[str, Any]:
    return {
        "/api/registrations/": {
            "get": operation(
                "List registrations; a learner sees its own.", "registrations",
                {200: list_response("Registration")},
                params=PAGE + [query("user_id", ID), query("course_id", ID)],
            )
        },
        "/api/registrations/register_for_course/": {
            "post": operation(
                "Register a user for a course; 200 with the existing registration.",
                "registrations",
                {
                    200: json_response("Registered already.", ref("Registration")),
                    201: json_response("Registered.", ref("Registration")),
                },
                body="RegisterRequest",
            )
        },
        "/api/reports/user_course_report/": {
            "get": operation(
                "Every attempt of a user on a course (admin or the user).", "reports",
                {200: json_response("The report.", ref("UserCourseReport"))},
                params=[query("user_id", ID, True), query("course_id", ID, True)],
                errors=(404,),
            )
        },
        "/api/reports/course_report/": {
            "get": operation(
                "One row per registered learner with its latest attempt (admin).",
                "reports",
                {
                    200: {
                        "description": "The report, as JSON or CSV.",
                        "content": {
                            JSON: {"schema": ref("CourseReport")},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    }
                },
                params=[
                    query("course_id", ID, True),
                    query("format", {"type": "string", "enum": ["json", "csv"]}),
                ],
                errors=(404,),
            )
        },
    }


def _attempt_paths() -> dict[str, Any]:
    attempt_id = [path_id("attempt_id")]
    attempt = json_response("The attempt.", ref("Attempt"))
    return {
        "/api/attempts/": {
            "get": operation(
                "List attempts; a learner sees its own.", "attempts",
                {200: list_response("Attempt")},
                params=PAGE + [query("user_id", ID), query("package_id", ID)],
            )
        },
        "/api/attempts/start_attempt/": {
            "post": operation(
                "Start an attempt on a ready package of a course the user is registered for.",
                "attempts",
                {201: json_response("The attempt and its launch URL.", ref("StartedAttempt"))},
                body="StartAttemptRequest",
            )
        },
        "/api/attempts/{attempt_id}/": {
            "get": operation("Read an attempt.", "attempts", {200: attempt}, params=attempt_id)
        },
        "/api/attempts/{attempt_id}/launch/": {
            "post": operation(
                "Issue a fresh launch URL.", "attempts",
                {200: json_response("The launch URL and when it expires.", ref("Launch"))},
                params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/update_progress/": {
            "post": operation(
                "Set the attempt's status and score (admin).", "attempts", {200: attempt},
                body="ProgressRequest", params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/sessions/": {
            "post": operation(
                "Open a session (a launch) of one SCO.", "runtime",
                {201: json_response("The session and the SCO's initial CMI values.",
                                    ref("Session"))},
                body="SessionRequest", params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/runtime/": {
            "post": operation(
                "Run a batch of SCORM API calls of one session, in order.", "runtime",
                {
                    200: json_response("One result per call.", ref("RuntimeBatchResult")),
                    409: json_response(
                        "A skipped batch_seq or an abandoned session.",
                        ref("RuntimeConflict"),
                    ),
                },
                body="RuntimeBatch", params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/cmi/": {
            "get": operation(
                "Read the whole CMI state of the attempt.", "runtime",
                {200: json_response("Element values per item.", ref("Cmi"))},
                params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/start_session/": {
            "post": operation(
                "Open a session and call Initialize.", "runtime", {200: attempt},
                body="ScoRequest", params=attempt_id,
            )
        },
        "/api/attempts/{attempt_id}/end_session/": {
            "post": operation(
                "Call Terminate on the open session.", "runtime", {200: attempt},
                body="ScoRequest", params=attempt_id,
            )
        },
    }


def _runtime_and_player_paths() -> dict[str, Any]:
    return {
        "/api/scorm-api/set_value/": {
            "post": operation(
                "SetValue on the attempt's open session of a SCO.", "runtime",
                {200: json_response("The call succeeded.", ref("SetValueResult"))},
                body="SetValueRequest",
                errors=(404,),
            )
        },
        "/api/scorm-api/get_value/": {
            "get": operation(
                "GetValue on the attempt's open session of a SCO.", "runtime",
                {200: json_response("The element's value.", ref("GetValueResult"))},
                params=[
                    query("attempt_id", ID, True),
                    query("element_id", {"type": "string"}, True),
                    query("sco_id", {"type": "string"}),
                ],
                errors=(404,),
            )
        },
        "/content/{package_id}/{path}": {
            "get": operation(
                "A file of a ready package, for a valid launch token.", "content",
                {200: {"description": "The file.", "content": {"*/*": {}}}},
                params=[path_id("package_id"),
                        {"name": "path", "in": "path", "required": True,
                         "schema": {"type": "string"}}],
                auth=False,
                errors=(401, 403, 404),
            )
        },
        "/player/{attempt_id}": {
            "get": operation(
                "The player page of an attempt.", "player",
                {
                    200: {"description": "The page.", "content": {"text/html": {}}},
                    # The page explains a failed launch to the learner in HTML.
                    **{code: html_error(code) for code in (400, 401, 403, 404)},
                },
                params=[path_id("attempt_id"), query("token", {"type": "string"})],
                auth=False,
            )
        },
    }


def _ops_paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": operation(
                "Check that the store answers.", "operations",
                {
                    200: json_response("The store answers.", ref("Health")),
                    503: json_response("The store does not answer.", ref("Health")),
                },
                auth=False,
            )
        },
        "/metrics": {
            "get": operation(
                "Prometheus metrics.", "operations",
                {200: {"description": "Prometheus text format.",
                       "content": {"text/plain": {"schema": {"type": "string"}}}}},
                auth=False,
            )
        },
        "/api/schema/": {
            "get": operation(
                "This OpenAPI document.", "operations",
                {200: json_response("The document.", {"type": "object"})},
                auth=False,
            )
        },
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI document as JSON-ready data."""
    paths: dict[str, Any] = {}
    for part in (
        _user_paths,
        _course_paths,
        _package_paths,
        _registration_and_report_paths,
        _attempt_paths,
        _runtime_and_player_paths,
        _ops_paths,
    ):
        paths.update(part())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SCORM player server",
            "version": "0.1.0",
            "description": "Paths are accepted with and without the trailing slash. "
            "Every error body is an object with an `error` string. The player's "
            "requests authenticate with a launch token (`Authorization: Launch "
            "<token>` or `?token=`) instead of an API token.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Token <key>`, from /api/api-token-auth/.",
                },
                "launch": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "`Launch <token>`, from a launch URL.",
                },
            },
        },
        "security": [{"token": []}],
    }
