"""Typed domain errors; one handler in app/main.py turns them into answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

T = TypeVar("T")


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


class PreconditionFailed(DomainError):
    """The caller's If-Match names a representation that is no longer the current one."""

    status_code = 412
    default_code = "precondition_failed"


class TooManyAttempts(DomainError):
    status_code = 429
    default_code = "too_many_attempts"

    def __init__(self, detail: str, code: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, code)
        # Seconds until a try can succeed: every answer says so in Retry-After.
        self.retry_after = retry_after


def attempt(session: Session, action: Callable[[], T]) -> T | DomainError:
    """Run a service call in a savepoint: a refusal undoes its half-done writes and is
    handed back, so a page can show it in place and still commit nothing."""
    try:
        with session.begin_nested():
            return action()
    except DomainError as error:
        return error
