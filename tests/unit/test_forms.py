"""What people type into forms: every id the API accepts and nothing else; numbers either
refused with a code (parse_*) or read as None (*_or_none)."""

from __future__ import annotations

import pytest

from app.schemas import MAX_ID
from app.services.errors import Invalid
from app.web.forms import id_or_none, int_or_none, int_within, optional_id, parse_int, safe_next


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1), (" 42 ", 42), ("2147483648", 2**31), (str(MAX_ID), MAX_ID),
        (None, None), ("", None), ("0", None), ("-5", None), ("1.5", None), ("1e3", None),
        (str(MAX_ID + 1), None), ("9" * 400, None), ("12a", None),
    ],
)
def test_id_or_none(text: str | None, expected: int | None) -> None:
    assert id_or_none(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (" -3 ", -3), ("0", 0), ("", None), (None, None), ("--5", None), ("+5", None),
     ("5.0", None), ("９", 9), ("²", None), ("9" * 400, None), ("1_000", None)],
)
def test_int_or_none(text: str | None, expected: int | None) -> None:
    assert int_or_none(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), (" 60 ", 60), ("7", 7), ("-1", None), ("61", None), ("", None), (None, None),
    ("七", None), ("9" * 400, None)])
def test_int_within_is_the_number_typed_only_in_range(text: str | None,
                                                     expected: int | None) -> None:
    assert int_within(text, 0, 60) == expected


@pytest.mark.parametrize(("text", "expected"), [("1", 1), (" 10 ", 10), ("5", 5)])
def test_parse_int_in_range(text: str, expected: int) -> None:
    assert parse_int(text, "points_invalid", 1, 10) == expected


@pytest.mark.parametrize("text", ["0", "11", "", None, "x", "9" * 400, "-1"])
def test_parse_int_refuses_with_its_code(text: str | None) -> None:
    with pytest.raises(Invalid) as refused:
        parse_int(text, "points_invalid", 1, 10)
    assert refused.value.code == "points_invalid"


def test_optional_id_is_none_when_blank_and_refuses_garbage() -> None:
    assert optional_id("  ") is None
    assert optional_id("12") == 12
    with pytest.raises(Invalid) as refused:
        optional_id("0")
    assert refused.value.code == "unknown_org"


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/me", "/me"), ("/committee?year=2025", "/committee?year=2025"), (None, "/"),
     ("", "/"), ("//evil.example", "/"), ("/\\evil.example", "/"),
     ("https://evil.example", "/"), ("javascript:alert(1)", "/")],
)
def test_safe_next_stays_on_the_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
