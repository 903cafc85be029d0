"""All configuration, from JIFEN_ environment variables."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keys that were printed in Jifen's source: anyone can sign tokens with them, so none is ever
# used, in development either (a token forged with one would open the demo as admin).
PUBLISHED_KEYS = frozenset({"development-only-key-do-not-use-in-production-000"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIFEN_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./jifen.db"
    secret_key: str = ""
    # Development without JIFEN_SECRET_KEY: a random key made on the first run and kept in
    # this file (readable by its owner only), which every later run and every worker reads.
    secret_key_file: str = "./jifen-secret.key"
    token_ttl_minutes: int = 12 * 60
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # Login attempts are kept this long (the throttle needs only the window).
    login_history_days: int = Field(default=90, ge=1, le=3650)
    # A device that logged in is known this long after its last login (its device token:
    # throttled by its own failed logins only, docs/api/keys.md).
    device_days: int = Field(default=365, ge=1, le=400)
    # Evidence photos are kept on disk here. With several app servers, one filesystem that
    # every server mounts (an NFS export, CephFS...), at any path on each: a photo written
    # through one server is served by any other, and nothing of it is kept per process
    # (docs/deployment.md). Full, uploads are refused with 507 `storage_full`.
    upload_dir: str = "./uploads"
    max_upload_mb: int = 8
    # Largest request body other than a photo upload (JSON, forms): 413 above.
    max_body_kb: int = 1024
    # Send the session cookie only over HTTPS (on by default in production).
    cookie_secure: bool | None = None
    # Database connections each server process keeps (pool) and may open beyond it
    # (overflow). A process serves at most min(pool + overflow, worker_threads) requests at
    # once; more wait their turn (app/limits.py RequestSlots: no request then waits for a
    # thread while holding a connection or a lock another needs).
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    # Threads per process running the blocking work of requests (AnyIO's default is 40).
    # Few: the work holds Python's GIL, and every thread more that is runnable costs each
    # request CPU. With a request's work in one hop (app/hops.py), 2 beat 1, 4 and 8 on
    # SQLite and PostgreSQL alike: the score API at 100 a second answered with a p99 of
    # 15-24 ms (8 threads: 20-97 ms), a page made afresh 54-123 ms (356-872 ms)
    # (docs/performance.md, round two, part five). More when requests wait on something
    # other than the CPU: a distant database, several processes writing to one SQLite file.
    worker_threads: int = Field(default=2, ge=1, le=500)
    # Password hashes (argon2: 64 MiB and ~0.2 s of a core each) computed at once per process.
    hash_concurrency: int = Field(default=2, ge=1, le=64)
    # Evidence photos decoded at once per process: a 25-megapixel PNG takes up to ~250 MB while
    # it becomes a small JPEG (a JPEG, decoded at reduced size, ~50 MB); the other uploads
    # wait their turn (app/services/evidence.py).
    image_concurrency: int = Field(default=2, ge=1, le=64)
    # Member score pages each process keeps (about 3 KB each, compressed), answered again
    # while nothing on them changes (app/web/page_cache.py); 0 keeps none.
    page_cache_size: int = Field(default=5000, ge=0, le=1_000_000)
    # How long the Idempotency-Key of a request whose server died (kill -9, a crash) stays
    # its own before a retry may run it (docs/api/retries.md): longer than any request runs
    # (a members import hashing a password per row takes a while). 409
    # `idempotency_in_progress` answers the retries meanwhile.
    idempotency_lease_seconds: int = Field(default=300, ge=5, le=86_400)
    # Log lines on stderr: one JSON object per line (default in production) or text.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # /metrics counts this year's entries and reviews at most this often per process.
    metrics_db_seconds: int = Field(default=30, ge=0, le=86_400)
    # If set, /metrics answers only "Authorization: Bearer <this>" (else anyone who can
    # reach it: keep it on the internal network).
    metrics_token: str = ""
    # The address members type, printed on login slips (https://jifen.example.gov.cn); empty:
    # the address the request came to, which behind a proxy may be an internal one.
    public_url: str = Field(default="", max_length=200, pattern=r"^(https?://[^\s/]+[^\s]*)?$")
    # Web origins whose pages may call /api/v1 from a browser (CORS), comma-separated, e.g.
    # "https://h5.example.gov.cn,https://admin.example.gov.cn", or "*" alone for any; empty
    # (the default): none. Bearer tokens only: cookies are never allowed across origins.
    cors_origins: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if self.cookie_secure is None:
            self.cookie_secure = self.env == "production"
        if self.log_format is None:
            self.log_format = "json" if self.env == "production" else "text"
        cors_origins(self.cors_origins)  # refused here, at startup, with what is wrong
        if self.secret_key in PUBLISHED_KEYS:
            raise ValueError("JIFEN_SECRET_KEY is a key published in Jifen's source; unset it "
                             "(development makes its own) or set a random one.")
        if self.env == "development":
            if not self.secret_key:
                self.secret_key = development_key(Path(self.secret_key_file))
            return self
        if len(self.secret_key) < 32 or len(set(self.secret_key)) < 10:
            raise ValueError(
                "JIFEN_SECRET_KEY must be set to a random string of at least 32 characters "
                "outside development, e.g. the output of\n"
                "  python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self


_ORIGIN = re.compile(r"(https?)://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*"
                     r"|\[[0-9a-f:.]+\])(:(\d{1,5}))?")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def cors_origins(text: str) -> tuple[str, ...]:
    """JIFEN_CORS_ORIGINS as origins a browser sends (scheme://host[:port], lower case), or
    ValueError saying which one is wrong and how to write it."""
    given = [part.strip() for part in text.split(",") if part.strip()]
    if given == ["*"]:
        return ("*",)
    for origin in given:
        if problem := _origin_problem(origin):
            raise ValueError(f"JIFEN_CORS_ORIGINS: {origin!r}: {problem}. Give origins "
                             "separated by commas, or leave it empty for none.")
    return tuple(dict.fromkeys(origin.lower() for origin in given))


def _origin_problem(origin: str) -> str | None:
    if origin == "*":
        return "'*' allows every origin: give it alone, or list the origins"
    if "*" in origin:
        return "a wildcard in a host is not supported: list each origin"
    match = _ORIGIN.fullmatch(origin.lower())
    if match is None:
        return ("an origin is scheme://host[:port] with no path, not even a trailing /, "
                "e.g. https://h5.example.gov.cn")
    scheme, port = match.group(1), match.group(7)
    if port == _DEFAULT_PORTS[scheme]:
        return f"browsers send the default port of {scheme} as none: leave out :{port}"
    if port and not 0 < int(port) < 65536:
        return "the port must be from 1 to 65535"
    return None


def development_key(path: Path) -> str:
    """The key kept in `path`; made first if there is none: random, mode 0600.

    Written whole under a temporary name and linked into place, so processes starting at the
    same moment (uvicorn's workers) all end up reading the one key that was linked first.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, written = tempfile.mkstemp(dir=path.parent, prefix=".jifen-secret-")  # 0600
        try:
            with os.fdopen(handle, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
            with contextlib.suppress(FileExistsError):  # another process was first: its key
                os.link(written, path)
        finally:
            os.unlink(written)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 32:
        raise ValueError(f"{path} holds no usable secret key (32 or more random characters); "
                         "delete it to have a new one made, or set JIFEN_SECRET_KEY.")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
