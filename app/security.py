"""Password hashing (argon2 through passlib) and signed, expiring bearer tokens."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import jwt
from passlib.context import CryptContext

from app.settings import get_settings

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
_ALGORITHM = "HS256"


def use_cheap_hashing() -> None:
    """Fast argon2 parameters, for the test suite only: real hashes take ~50 ms each."""
    global _passwords, _dummy_hash
    _dummy_hash = None
    _passwords = CryptContext(schemes=["argon2"], argon2__memory_cost=1024,
                              argon2__time_cost=1, argon2__parallelism=1)


# argon2 takes 64 MiB and a core for each hash it computes: a burst of logins on every
# worker thread at once would need a gigabyte and gain nothing on a few cores. At most
# JIFEN_HASH_CONCURRENCY at a time per process; the others wait their turn.
_hashing = threading.BoundedSemaphore(get_settings().hash_concurrency)


def hash_password(password: str) -> str:
    with _hashing:
        return str(_passwords.hash(password))


def hash_passwords(passwords: Sequence[str]) -> list[str]:
    """Many hashes, JIFEN_HASH_CONCURRENCY at a time (argon2 leaves the GIL while it works)."""
    if len(passwords) < 2:
        return [hash_password(p) for p in passwords]
    with ThreadPoolExecutor(max_workers=get_settings().hash_concurrency) as pool:
        return list(pool.map(hash_password, passwords))


def verify_password(password: str, hashed: str) -> bool:
    try:
        with _hashing:
            return bool(_passwords.verify(password, hashed))
    except (ValueError, TypeError):
        return False


_dummy_hash: str | None = None


def burn_verify(password: str) -> None:
    """Verify against a throw-away hash, so an unknown username costs as much as a known one."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("timing-equaliser")
    verify_password(password, _dummy_hash)


def issue_token(account_id: int, password_changed_at: datetime, now: datetime) -> str:
    settings = get_settings()
    claims = {
        "sub": str(account_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.token_ttl_minutes)).timestamp()),
        # A password change makes older tokens useless.
        "pwd": int(password_changed_at.timestamp()),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


def read_token(token: str, now: datetime) -> tuple[int, int] | None:
    """The account id and password stamp of a valid token, or None."""
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "pwd"], "verify_exp": False},
        )
        if int(claims["exp"]) <= now.timestamp():
            return None
        return int(claims["sub"]), int(claims["pwd"])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
