"""What stored text may hold, checked at every door and once more as rows are written.

Text never holds a control character: C0 other than tab, line feed and carriage return,
DEL, C1, or half of a surrogate pair (JSON's "\\ud800" decodes to one). openpyxl refuses
C0 in a cell (one pasted vertical tab would fail a whole .xlsx export), PostgreSQL refuses
NUL, and none of them is anything a person meant to type. Nor does text hold the bidi
embedding, override and isolate controls, which make a note read otherwise than it is
stored. One-line text (a name, a rule item's name or code, a username) holds neither tab
nor line break nor an invisible format character (zero-width space, joiners, marks, BOM),
so two names that look the same are the same.

The doors call `check` to name the field; `refuse_stored_control_text`, a before-flush
hook, refuses any new or changed row that would store such text however it came, so no
path (a page, an import, the CLI) can be the one that forgot. Rows already holding it
(from before the rule) stay readable and editable in their other fields; `jifen check`
lists them (app/services/integrity.py).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.services.errors import Invalid

CODE = "text_control_character"

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_INVISIBLE = "\u200b-\u200f\u2060-\u2064\ufeff\u061c"
_IN_TEXT = re.compile(f"[{_CONTROL}{_BIDI}]")
_IN_LINE = re.compile(f"[{_CONTROL}{_BIDI}{_INVISIBLE}\t\n\r]")

_NAMES = {"\x00": "NUL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN",
          "\x0b": "VERTICAL TAB", "\x0c": "FORM FEED", "\x7f": "DELETE"}

# The audit log's before/after are JSON snapshots of rows, kept as they were: a row stored
# before this rule must stay correctable, and its snapshot holds its old text.
UNCHECKED_TABLES = frozenset({"audit_log"})
# Beyond the pattern, a name holds no character of these Unicode categories: format (soft
# hyphen, tag characters, U+180E), line and paragraph separators, controls, surrogates.
_NOT_IN_LINE = frozenset({"Cf", "Zl", "Zp", "Cc", "Cs"})

# Columns (table, column) of one line; every other text column may hold tab and line breaks.
ONE_LINE = frozenset({("member", "name"), ("org", "name"), ("account", "username"),
                      ("rule_item", "code"), ("rule_item", "name"), ("rating_item", "name")})


# What shows nothing: spaces, and the invisible characters above.
_SHOWS_NOTHING = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def says_nothing(value: str | None) -> bool:
    """A reason or note that a reader would see as blank: spaces, line breaks, zero-width
    and other invisible characters only (issue 17: a reason is something said)."""
    return all(c.isspace() or unicodedata.category(c) in _SHOWS_NOTHING for c in value or "")


def bad_character(value: str, one_line: bool = False) -> str | None:
    """How the first character text may not hold is named ("U+000B VERTICAL TAB at
    character 6"), or None when there is none."""
    found = (_IN_LINE if one_line else _IN_TEXT).search(value)
    at = found.start() if found else None
    if one_line:
        at = next((i for i, c in enumerate(value[:at])
                   if unicodedata.category(c) in _NOT_IN_LINE), at)
    if at is None:
        return None
    char = value[at]
    name = ("half of a surrogate pair" if "\ud800" <= char <= "\udfff"
            else _NAMES.get(char) or unicodedata.name(char, "a control character"))
    return f"U+{ord(char):04X} {name} at character {at + 1}"


def shown(value: str, one_line: bool = False) -> str:
    """The text with each character it may not hold written as [U+202E], so a person sees
    where it is (and an override cannot turn the message around it)."""
    return "".join(f"[U+{ord(c):04X}]" if bad_character(c, one_line) else c for c in value)


def check(value: str, field: str, one_line: bool = False) -> str:
    """`value` itself, or Invalid (422 text_control_character) naming field and character."""
    problem = bad_character(value, one_line)
    if problem is not None:
        raise Invalid(f"{field} holds a character text may not hold: {problem}. Remove it "
                      "(it is often pasted from a word processor) and send again.", CODE)
    return value


def _changed_text(instance: Any, new: bool) -> list[tuple[str, str]]:
    state = sa.inspect(instance)
    found = []
    for attribute in state.mapper.column_attrs:
        value = getattr(instance, attribute.key, None)
        if not isinstance(value, str):
            continue
        if not new and not state.attrs[attribute.key].history.has_changes():
            continue
        found.append((attribute.key, value))
    return found


def refuse_stored_control_text(session: orm.Session, _context: Any, _instances: Any) -> None:
    """Before a flush: no new or changed text column holds what `bad_character` names."""
    for instances, new in ((session.new, True), (session.dirty, False)):
        for instance in instances:
            table = getattr(instance, "__tablename__", "")
            if table in UNCHECKED_TABLES:
                continue
            for key, value in _changed_text(instance, new):
                check(value, f"{table}.{key}", (table, key) in ONE_LINE)


sa.event.listen(orm.Session, "before_flush", refuse_stored_control_text)
