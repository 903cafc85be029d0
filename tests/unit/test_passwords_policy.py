"""The password policy as a table: what is too simple, and what is not."""

from __future__ import annotations

import pytest

from app.services.errors import Invalid
from app.services.passwords import check_policy


@pytest.mark.parametrize(("password", "simple"), [
    ("11111111", True), ("12345678", True), ("23456789", True), ("98765432", True),
    ("abcdefgh", True), ("hgfedcba", True), ("12121212", True), ("123123123", True),
    ("abababab", True),
    ("12345679", False), ("13572468", False), ("12341234", False), ("a1b2c3d4", False),
    ("jifen-demo-2025", False), ("74918501", False),
])
def test_too_simple(password: str, simple: bool) -> None:
    if simple:
        with pytest.raises(Invalid) as refused:
            check_policy(password, "wang")
        assert refused.value.code == "password_too_simple"
    else:
        check_policy(password, "wang")
