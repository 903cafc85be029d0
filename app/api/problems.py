"""Errors as RFC 9457 problem details (application/problem+json), docs/api/schema.md.

Every error of the JSON API is one object: `type` (a URI naming the problem), `title` (its
short name), `status`, `detail` (what happened and what to do, for a person), `instance`
(the request's path), and Jifen's own `code` (the same problem as a snake_case word) and,
for invalid input, `errors`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
# A stable identifier, the same on every deployment, not a page to fetch (RFC 9457 §3.1.1:
# absolute; .example never resolves). docs/api/schema.md lists the codes.
TYPE_BASE = "https://jifen.example/problems/"
# The codes that only restate the HTTP status (the framework's and app/services/errors.py's
# defaults): `about:blank`, titled with the status's own phrase (RFC 9457 §4.2.1).
PLAIN_CODES = frozenset({"error", "bad_request", "not_authenticated", "forbidden",
                         "not_found", "method_not_allowed", "conflict", "too_large",
                         "unsupported_media_type", "invalid", "too_many_attempts"})
# Titles that a code's words would say badly; every other title is its code in words.
TITLES = {
    "validation_error": "Invalid input",
    "invalid_token": "Invalid or expired token",
    "bad_credentials": "Wrong username or password",
    "value_out_of_range": "Value cannot be stored",
    "pdf_unavailable": "PDF output unavailable",
}


def problem_type(code: str) -> str:
    """The `type` URI of a code."""
    return "about:blank" if code in PLAIN_CODES else TYPE_BASE + code


def problem_title(code: str, status: int) -> str:
    """The `title`: the same for every answer with this code."""
    if code in PLAIN_CODES:
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return "Error"
    return TITLES.get(code) or code.replace("_", " ").capitalize()


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem(path: str, status: int, detail: object, code: str,
            headers: dict[str, str] | None = None, **extra: object) -> ProblemResponse:
    """An error answer: `path` is the request's (its `instance`); `extra` adds members such
    as `errors`."""
    body: dict[str, Any] = {"type": problem_type(code), "title": problem_title(code, status),
                            "status": status, "detail": detail, "instance": path,
                            "code": code, **jsonable_encoder(extra)}
    return ProblemResponse(body, status_code=status, headers=headers)
