"""A real uvicorn server of the app for the benchmark, and logging in to it."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`uvicorn app.main:app` in its own process group (its workers die with it)."""

    database_url: str
    workers: int = 1
    workdir: Path = ROOT / "bench" / "data"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    # More JIFEN_ settings for the server (e.g. a small pool, in a test).
    env: dict[str, str] = field(default_factory=dict)
    # Kept across restarts, so tokens and session cookies stay valid.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"server-{self.port}.log"

    def start(self) -> None:
        self.port = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Production settings (no template reloading); plain http on localhost, so the
        # session cookie is not marked Secure.
        env = {**os.environ, "JIFEN_DATABASE_URL": self.database_url, "JIFEN_ENV": "production",
               "JIFEN_SECRET_KEY": self.secret_key, "JIFEN_COOKIE_SECURE": "false",
               "JIFEN_UPLOAD_DIR": str(self.workdir / "uploads"), **self.env}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers),
                 "--log-level", "warning", "--no-access-log"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not start: {self.log.read_text()[-3000:]}")

    def rss_mb(self) -> float:
        """Resident memory of the server and all its descendants (the workers), in MiB."""
        assert self.process is not None
        total_kb = 0
        for pid in _tree(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            total_kb += int(match.group(1)) if match else 0
        return round(total_kb / 1024, 1)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its workers."""
        assert self.process is not None
        ticks = 0
        for pid in _tree(self.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        except ProcessLookupError:
            pass
        self.process = None


def _tree(root: int) -> list[int]:
    """The pid and its descendants, from /proc (children files list the direct ones)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_login(base_url: str, username: str, password: str) -> str:
    """Log in through the login form (CSRF token and all); the session cookie's value."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        form = client.get("/login")
        match = _CSRF.search(form.text)
        if form.status_code != 200 or match is None:
            raise RuntimeError(f"GET /login gave {form.status_code} without a CSRF token")
        answer = client.post("/login", data={"username": username, "password": password,
                                             "next": "/me", "csrf_token": match.group(1)})
        if answer.status_code not in (302, 303):
            raise RuntimeError(f"POST /login as {username}: {answer.status_code}")
        cookie = client.cookies.get("jifen_session")
    if not cookie:
        raise RuntimeError(f"no session cookie after logging in as {username}")
    return cookie


def api_token(base_url: str, username: str, password: str) -> str:
    answer = httpx.post(f"{base_url}/api/v1/auth/token",
                        data={"username": username, "password": password}, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(f"POST /api/v1/auth/token as {username}: {answer.status_code} "
                           f"{answer.text[:200]}")
    return str(answer.json()["access_token"])
