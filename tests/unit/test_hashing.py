"""At most JIFEN_HASH_CONCURRENCY password hashes at once per process (app/security.py)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import app.security as security


class _CountingContext:
    """Stands in for passlib's CryptContext: counts how many verify at the same time."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def verify(self, password: str, hashed: str) -> bool:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        with self._lock:
            self.now -= 1
        return password == hashed


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_burst_of_logins_hashes_at_most_the_limit_at_once(
        limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    context = _CountingContext()
    monkeypatch.setattr(security, "_passwords", context)
    monkeypatch.setattr(security, "_hashing", threading.BoundedSemaphore(limit))
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda i: security.verify_password(f"p{i % 2}", "p0"),
                                range(12)))
    assert results == [i % 2 == 0 for i in range(12)]
    assert context.most == limit


def test_many_hashes_keep_their_order_and_verify() -> None:
    passwords = [f"password-{i}" for i in range(5)]
    hashes = security.hash_passwords(passwords)
    assert len(set(hashes)) == 5
    for password, hashed in zip(passwords, hashes, strict=True):
        assert security.verify_password(password, hashed)
        assert not security.verify_password(password + "x", hashed)
    assert security.hash_passwords([]) == []
