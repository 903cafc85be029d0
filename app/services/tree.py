"""Organisations in tree order (党委 → 总支 → 支部): the one ORDER BY for every list of them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.models import Org


def tree_order(session: Session) -> sa.ColumnElement[Any]:
    """By path, compared byte by byte. A database collation such as glibc's en_US or zh_CN
    skips the slashes ("/1/23/" would come between "/1/2/" and "/1/2/5/", splitting a
    subtree), so PostgreSQL is told "C"; SQLite compares bytes."""
    path: sa.ColumnElement[Any] = Org.__table__.c.path  # type: ignore[attr-defined]
    return path.collate("C") if session.get_bind().dialect.name == "postgresql" else path
