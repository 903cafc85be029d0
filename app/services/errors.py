"""Typed domain errors; one handler in app/main.py turns them into answers."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    default_code = "error"

    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code


class Unauthorized(DomainError):
    status_code = 401
    default_code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class WorkflowConflict(DomainError):
    status_code = 409
    default_code = "conflict"


class Invalid(DomainError):
    status_code = 422
    default_code = "invalid"


class TooManyAttempts(DomainError):
    status_code = 429
    default_code = "too_many_attempts"
