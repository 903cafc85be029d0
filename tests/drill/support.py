"""What the drill's tests read back: its password file."""

from __future__ import annotations

from pathlib import Path


def passfile_fields(line: str) -> list[str]:
    """The fields of a libpq password file's line (`:` separates; `\\` escapes)."""
    fields: list[str] = []
    field, escaped = "", False
    for char in line:
        if escaped:
            field, escaped = field + char, False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields, field = [*fields, field], ""
        else:
            field += char
    return [*fields, field]


def passwords(passfile: Path) -> dict[str, str]:
    """user → password, from a libpq password file."""
    return {fields[3]: fields[4] for fields in map(passfile_fields,
                                                   passfile.read_text().splitlines())}
