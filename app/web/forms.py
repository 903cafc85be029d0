"""Reading what a person typed into a form: numbers, ids, dates, names, where to go back to.

Two kinds of reader: `parse_*` refuse a bad value with a typed Invalid (shown in place),
`*_or_none` answer None for a blank or bad value the page then explains itself.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import Depends, Form, Request
from starlette.datastructures import FormData

from app.points import Category
from app.schemas import MAX_ID
from app.services.errors import Invalid

# A whole number typed into a form: no more digits than MAX_ID has, so every id fits and a
# long run of digits is refused before it is converted.
WHOLE_NUMBER = re.compile(rf"-?\d{{1,{len(str(MAX_ID))}}}")
Choice = TypeVar("Choice", bound=StrEnum)


async def form_data(request: Request) -> FormData:
    """The posted form, for fields whose names carry data (score_<member id>)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]

# A form's one-time key (app/web/once.py): what new_form_key makes (24 characters); empty
# from a page older than the keys. Anything else (a tampered page) is taken as no key
# (app/web/once.py, usable_key), never as a refusal that would lose the typed form.
FormKey = Annotated[str, Form()]


def new_form_key() -> str:
    """A fresh one-time key for a form being rendered (the templates' `new_form_key()`)."""
    return secrets.token_urlsafe(18)


def parse_int(value: str | None, code: str, low: int, high: int) -> int:
    """A whole number from low to high, else Invalid with `code`."""
    text = (value or "").strip()
    if not WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        raise Invalid(f"Expected a whole number from {low} to {high}, got {text!r}.", code)
    return int(text)


def int_or_none(value: str | None) -> int | None:
    """A whole number typed into a form, or None when blank or not a number."""
    text = (value or "").strip()
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def int_within(value: str | None, low: int, high: int) -> int | None:
    """A whole number from low to high typed into a form, or None (blank, not a number, or
    out of range: the page then goes by its default)."""
    number = int_or_none(value)
    return number if number is not None and low <= number <= high else None


def optional_id(value: str | None, code: str = "unknown_org") -> int | None:
    """An id (1 to MAX_ID) or None when blank; anything else is Invalid."""
    text = (value or "").strip()
    return parse_int(text, code, 1, MAX_ID) if text else None


def id_or_none(value: str | None) -> int | None:
    """An id sent by a form (1 to MAX_ID), or None when blank or not one."""
    number = int_or_none(value)
    return number if number is not None and 1 <= number <= MAX_ID else None


def parse_date(value: str | None, code: str = "date_invalid") -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise Invalid(f"Expected a date YYYY-MM-DD, got {value!r}.", code) from None


def required_date(value: str | None, missing: str, code: str = "date_invalid") -> date:
    """A date that must be given: `missing` when left blank, `code` when not a date."""
    if not (value or "").strip():
        raise Invalid("This date is required.", missing)
    return parse_date(value, code)


def optional_date(value: str | None, code: str = "date_invalid") -> date | None:
    """A date, or None when left blank."""
    return parse_date(value, code) if (value or "").strip() else None


def parse_choice(value: str | None, choices: type[Choice], code: str,
                 allowed: tuple[Choice, ...] | None = None) -> Choice:
    """One of a select's values (of `allowed` when given), else Invalid with `code`."""
    try:
        choice = choices((value or "").strip())
    except ValueError:
        raise Invalid(f"Unknown {choices.__name__} {value!r}.", code) from None
    if allowed is not None and choice not in allowed:
        raise Invalid(f"{choice} is not one of {[str(a) for a in allowed]}.", code)
    return choice


def parse_note(value: str | None, code: str = "note_too_long", max_length: int = 1000) -> str:
    """A note as typed (the service trims it), refused when longer than its column."""
    text = value or ""
    if len(text.strip()) > max_length:
        raise Invalid(f"The text is longer than {max_length} characters.", code)
    return text


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


def safe_next(target: str | None, fallback: str = "/") -> str:
    """Only paths on this site, never an open redirect ("/\\x" is "//x" to a browser)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def here(request: Request) -> str:
    """This page's path and query, to come back to after a form."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def year_or(value: str | None, low: int, high: int, default: int) -> int:
    """A year typed or sent, from low to high; else `default` (the page's own choice)."""
    number = int_or_none(value)
    return number if number is not None and low <= number <= high else default
