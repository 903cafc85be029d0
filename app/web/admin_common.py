"""What the administrator's pages share: who may open them, form parsing, refusals in place."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlmodel import Session

from app.points import Category
from app.schemas import MAX_ID
from app.services.access import Actor
from app.services.errors import DomainError, Forbidden, Invalid
from app.services.member_import import USERNAME as USERNAME
from app.web.i18n import N_

T = TypeVar("T")

ORG_KIND_LABELS = {"committee": N_("党委"), "general_branch": N_("党总支"), "branch": N_("党支部")}
PASSWORD_MIN = 8
# A whole number typed into a form: no more digits than MAX_ID has, so every id fits and a
# long run of digits is refused before it is converted.
WHOLE_NUMBER = re.compile(rf"-?\d{{1,{len(str(MAX_ID))}}}")


def require_staff(actor: Actor) -> None:
    """Administrators and committee members; a plain member gets the 没有权限 page."""
    if not (actor.is_admin or actor.is_committee):
        raise Forbidden("Only an administrator or a committee member may open this page.",
                        "staff_only")


def attempt(session: Session, action: Callable[[], T]) -> T | DomainError:
    """Run a service call in a savepoint: a refusal undoes its half-done writes and is
    handed back, so the page can show it in place and still commit nothing."""
    try:
        with session.begin_nested():
            return action()
    except DomainError as error:
        return error


def parse_int(value: str | None, code: str, low: int, high: int) -> int:
    text = (value or "").strip()
    if not WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise Invalid(f"Expected a whole number from {low} to {high}, got {text!r}.", code)
    return int(text)


def parse_optional_id(value: str | None) -> int | None:
    text = (value or "").strip()
    return parse_int(text, "unknown_org", 1, MAX_ID) if text else None


def parse_date(value: str | None, code: str = "date_invalid") -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise Invalid(f"Expected a date YYYY-MM-DD, got {value!r}.", code) from None


def parse_category(value: str | None) -> str:
    try:
        return Category((value or "").strip()).value
    except ValueError:
        raise Invalid(f"Unknown member category {value!r}.", "category_invalid") from None


def parse_name(value: str | None, max_length: int, code: str = "name_required") -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid("name must not be empty.", code)
    if len(name) > max_length:
        raise Invalid(f"name is longer than {max_length} characters.", "name_too_long")
    return name
