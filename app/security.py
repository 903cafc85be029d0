"""Password hashing (argon2 through passlib), signed expiring bearer tokens, API keys (SHA-256)
and device tokens (the login throttle)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from passlib.context import CryptContext

from app.settings import get_settings

_passwords = CryptContext(schemes=["argon2"], deprecated="auto")
_ALGORITHM = "HS256"
# The longest session id read back (RevokedSession.session_id holds 32).
SESSION_ID_MAX = 32


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


@dataclass(frozen=True)
class SessionClaims:
    """What a login session says of itself: a bearer token's claims, or the page cookie's.

    Signed, so it is what the app issued; whether it still holds is decided against the
    account and the ended sessions (app/services/access.py: session_actor).
    """

    account_id: int
    # The account's password stamp (whole seconds) when the session was opened.
    password_stamp: int
    # The account's session generation then (退出所有设备 moves it on).
    generation: int
    # Random, unique to the session: what a logout ends (app/models.py RevokedSession).
    session_id: str
    expires_at: datetime

    def admits(self, password_changed_at: datetime, generation: int) -> bool:
        """Opened since the account's last password change and last 退出所有设备."""
        return self.password_stamp == int(password_changed_at.timestamp()) and \
            self.generation == generation


def new_session_id() -> str:
    """128 random bits, 22 characters."""
    return secrets.token_urlsafe(16)


def issue_token(account_id: int, password_changed_at: datetime, session_generation: int,
                now: datetime) -> str:
    settings = get_settings()
    claims = {
        "sub": str(account_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=settings.token_ttl_minutes)).timestamp()),
        # A password change makes older tokens useless; so does 退出所有设备 (gen), and
        # a logout this one (jti).
        "pwd": int(password_changed_at.timestamp()),
        "gen": session_generation,
        "jti": new_session_id(),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=_ALGORITHM)


def read_token(token: str, now: datetime) -> SessionClaims | None:
    """The claims of a well-signed token that has not expired, or None."""
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "exp", "pwd", "gen", "jti"], "verify_exp": False},
        )
        expires = int(claims["exp"])
        session_id = claims["jti"]
        if expires <= now.timestamp() or not isinstance(session_id, str) or \
                not 0 < len(session_id) <= SESSION_ID_MAX:
            return None
        return SessionClaims(account_id=int(claims["sub"]), password_stamp=int(claims["pwd"]),
                             generation=int(claims["gen"]), session_id=session_id,
                             expires_at=datetime.fromtimestamp(expires, UTC))
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError):
        return None


# --- API keys (service accounts) -----------------------------------------------------------

# `jfk_<prefix>_<secret>`: the prefix finds the key's row, the secret (256 random bits) is
# what makes it a credential. Random enough that SHA-256 is the right hash: a key is never
# guessed from its hash, and a slow hash (argon2) on every request would only cost time.
KEY_START = "jfk_"
KEY_PREFIX_LENGTH = 8
_PREFIX_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read out loud safely
KEY_LENGTH = len(KEY_START) + KEY_PREFIX_LENGTH + 1 + 43


def new_api_key() -> tuple[str, str]:
    """(the key, its prefix): shown once, kept as key_hash(key)."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(KEY_PREFIX_LENGTH))
    return f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_prefix(key: str) -> str | None:
    """The prefix of something shaped as an API key, else None (then it is no key)."""
    if len(key) != KEY_LENGTH or not key.startswith(KEY_START) or \
            key[len(KEY_START) + KEY_PREFIX_LENGTH] != "_":
        return None
    prefix = key[len(KEY_START):len(KEY_START) + KEY_PREFIX_LENGTH]
    return prefix if all(c in _PREFIX_ALPHABET for c in prefix) else None


def looks_like_api_key(credential: str) -> bool:
    """Sent as a bearer credential: an API key (jfk_...), not a token."""
    return credential.startswith(KEY_START)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """Constant-time: how much of the hash matched says nothing."""
    return hmac.compare_digest(key_hash(key), stored_hash)


# --- device tokens (the login throttle) ------------------------------------------------------

_DEVICE = "device"


def _device_key() -> str:
    # Its own key: a device token can never pass for a bearer token, nor the reverse.
    return f"{get_settings().secret_key}:{_DEVICE}"


@dataclass(frozen=True)
class DeviceClaims:
    """A device that logged in to the account before: its id and the account's username."""

    device_id: str
    account_id: int
    username: str


def issue_device_token(device_id: str, account_id: int, username: str, now: datetime) -> str:
    """Given at a successful login (a cookie to a browser, `device_token` to a program): sent
    back at later logins, the device is known and throttled by its own failures only."""
    claims = {"typ": _DEVICE, "dev": device_id, "sub": str(account_id), "usr": username,
              "iat": int(now.timestamp()),
              "exp": int((now + timedelta(days=get_settings().device_days)).timestamp())}
    return jwt.encode(claims, _device_key(), algorithm=_ALGORITHM)


def read_device_token(token: str, now: datetime) -> DeviceClaims | None:
    """The claims of a device token this app issued and that has not expired, or None (no
    token, a forged or expired one: an unknown device, never an error)."""
    if not token or len(token) > DEVICE_TOKEN_MAX:
        return None
    try:
        claims = jwt.decode(token, _device_key(), algorithms=[_ALGORITHM],
                            options={"require": ["typ", "dev", "sub", "usr", "exp"],
                                     "verify_exp": False})
        device_id, username = claims["dev"], claims["usr"]
        if claims["typ"] != _DEVICE or int(claims["exp"]) <= now.timestamp() or \
                not isinstance(device_id, str) or not 0 < len(device_id) <= SESSION_ID_MAX \
                or not isinstance(username, str):
            return None
        return DeviceClaims(device_id=device_id, account_id=int(claims["sub"]),
                            username=username)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError):
        return None


# Longer is no device token of this app's (they are about 250 characters).
DEVICE_TOKEN_MAX = 1000
