"""The OpenAPI document (/openapi.json): FastAPI's, with what the framework cannot say.

What FastAPI says from the routes themselves: the tags (TAGS, declared here), each
operation's id (its function's name: `operation_id`), the bodies' examples, the parameters'
descriptions, the files' media types. What is added afterwards, in `document()`:

- error answers (4xx, 5xx) as application/problem+json: FastAPI gives a route's additional
  answers the route's own media type;
- FastAPI's default 422 schema (HTTPValidationError), on a route that does not list its 422,
  is replaced by ErrorOut: that is what app/main.py answers;
- an uploaded file's form field says `format: binary`: OpenAPI 3.1's `contentMediaType`
  alone, which FastAPI writes, makes a generated client send the file as text.

tests/unit/test_openapi_document.py walks the result; docs/api/schema.md tells clients.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api.problems import PROBLEM_JSON, problem_title, problem_type

# The title is ASCII: generators name the client package after it ("Jifen" → jifen-client).
TITLE = "Jifen"
DESCRIPTION = """\
积分 (Jifen): 双十规范积分 and 评星定级 for Party branches — members' points, the quarterly
reviews (季度评议), the annual rating (年度评星定级), disposal cases (不合格党员处置).

Log in with `POST /api/v1/auth/token` and send `Authorization: Bearer <token>`; a
program sends its service account's API key the same way (`Bearer jfk_…`). Every error
is RFC 9457 problem details (`application/problem+json`) with a `code` a program can branch
on; each operation lists its codes. See docs/api/schema.md."""

# Each deployment is run by its own administrators: they are the API's contact.
CONTACT = {"name": "This server's administrators (the 党委 that runs Jifen)"}

TAGS: list[dict[str, str]] = [
    {"name": "auth", "description": "Logging in and out, passwords, and who the caller is."},
    {"name": "organisations", "description": "The tree of organisations (党委, 党总支, "
     "党支部) and their committees (支委)."},
    {"name": "members", "description": "Members, their standing, suspensions, exemptions "
     "(免评) and score; importing and exporting them as a table."},
    {"name": "rules", "description": "A year's rule set (积分细则): items, points, caps, the "
     "rating numbers and the procedural parameters; as a YAML file."},
    {"name": "entries", "description": "Points entries: self-reports, records, approval, "
     "rejection, revocation; attendance registers; importing a sheet of entries."},
    {"name": "reviews", "description": "Quarterly reviews (季度评议): review scores, "
     "publication (公示), objections, finalization."},
    {"name": "ratings", "description": "The annual rating (年度评星定级): proposals, the "
     "ballot (民主测评), self-assessments, publication, submission, approval."},
    {"name": "appraisal", "description": "The annual appraisal for the level above (汇总), "
     "and the blank paper forms as PDF."},
    {"name": "cases", "description": "Disposal cases (不合格党员处置) and their steps."},
    {"name": "notices", "description": "A member's notices (消息)."},
    {"name": "exports", "description": "Downloads as .xlsx or CSV."},
    {"name": "printing", "description": "The printed notices (公示) as A4 PDF."},
    {"name": "audit", "description": "The append-only audit log (administrators)."},
    {"name": "service-accounts", "description": "Service accounts for programs such as a "
     "city's data platform, and their API keys (administrators; docs/api/keys.md)."},
]


def operation_id(route: APIRoute) -> str:
    """An operation's id is its function's name (snake_case, unique: the test says so)."""
    return route.name


def _example(path: str, status: int, answer: dict[str, Any]) -> dict[str, Any]:
    """An error answer's example: its status, and the first code its description lists (the
    schema's one example would say 409 under every status)."""
    listed = re.search(r"Codes: `([a-z0-9_]+)`", str(answer.get("description", "")))
    code = listed[1] if listed else "error"
    detail = str(answer.get("description", "")).split(".")[0] or "Refused"
    return {"type": problem_type(code), "title": problem_title(code, status),
            "status": status, "detail": f"{detail}.", "instance": path, "code": code}


def _problem_media(document: dict[str, Any]) -> None:
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            for status, answer in operation.get("responses", {}).items():
                content = answer.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    answer["content"] = {PROBLEM_JSON: content.pop("application/json"),
                                         **content}
                media = answer.get("content", {}).get(PROBLEM_JSON)
                if status[0] in "45" and media is not None and "example" not in media:
                    media["example"] = _example(path, int(status), answer)


def _no_default_422(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in schemas:
        return
    for item in document["paths"].values():
        for operation in item.values():
            for answer in operation.get("responses", {}).values():
                for media in answer.get("content", {}).values():
                    if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        media["schema"] = {"$ref": "#/components/schemas/ErrorOut"}
    schemas.pop("HTTPValidationError")
    schemas.pop("ValidationError", None)


def _files_binary(document: dict[str, Any]) -> None:
    for schema in document.get("components", {}).get("schemas", {}).values():
        for field in schema.get("properties", {}).values():
            if field.get("type") == "string" and "contentMediaType" in field:
                field["format"] = "binary"


def install(app: FastAPI) -> None:
    """Serve the document: FastAPI's (built once, kept), then the additions above (each
    does nothing the second time)."""
    framework = app.openapi

    def openapi() -> dict[str, Any]:
        built = framework()
        _problem_media(built)
        _no_default_422(built)
        _files_binary(built)
        return built

    app.openapi = openapi  # type: ignore[method-assign]
