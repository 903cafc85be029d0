"""Organisations in tree order on PostgreSQL whatever the database's collation: a glibc
en_US or zh_CN collation skips the slashes of a path, which would put "/1/23/" between
"/1/2/" and its branch "/1/2/5/" (seen on a database made with ICU_LOCALE
'en-US-u-ka-shifted', which skips punctuation the same way)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from app.models import Org
from app.services.summary import tree_order


class _Session:
    def __init__(self, dialect: Any) -> None:
        self.dialect = dialect

    def get_bind(self) -> Any:
        return self


def test_paths_compare_as_bytes() -> None:
    for dialect, order in ((postgresql.dialect(), 'ORDER BY org.path COLLATE "C"'),
                           (sqlite.dialect(), "ORDER BY org.path")):
        query = select(Org.id).order_by(tree_order(_Session(dialect)))  # type: ignore[arg-type]
        assert str(query.compile(dialect=dialect)).endswith(order)
