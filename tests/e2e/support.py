"""What the browser tests share: the live server's stage, the world, people at their phones.

The live server (conftest.live_server) runs the real app in a thread; what it serves from
is a Stage: one SQLite database (a fresh copy per test) and one FixedClock the test moves.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import sqlalchemy as sa
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Response,
    ViewportSize,
    expect,
)
from sqlmodel import Session

from app.clock import FixedClock
from app.db import make_engine, transaction

PASSWORD = "correct-horse-9"
# 10:00 in Beijing on 10 January 2026: the whole of 2025 is in the past.
START = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
# The demo's moment: 2026 Q1 published (公示 until 10 April), Q2 under way, 2025 rated.
DEMO_START = datetime(2026, 4, 7, 2, 0, tzinfo=UTC)
DEMO_PASSWORD = "jifen-demo-2025"
PHONE: ViewportSize = {"width": 360, "height": 740}


# --------------------------------------------------------------------------- the server side
class Stage:
    """What the live server serves from right now: a database and a clock."""

    def __init__(self) -> None:
        self.engine: sa.Engine | None = None
        self.database: Path | None = None
        self.clock = FixedClock(START)

    def use(self, database: Path, at: datetime) -> None:
        self.release()
        self.engine = make_engine(f"sqlite:///{database}")
        self.database = database
        self.clock = FixedClock(at)

    def fingerprint(self) -> str | None:
        """What the database holds, row by row, and what the clock says, as one digest (None:
        no database): equal fingerprints, equal answers to the same requests."""
        if self.database is None:
            return None
        digest = hashlib.sha256(self.clock.now().isoformat().encode())
        with closing(sqlite3.connect(self.database)) as connection:
            tables = [name for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                digest.update(table.encode())
                for row in connection.execute(f'SELECT * FROM "{table}"'):
                    digest.update(repr(row).encode())
        return digest.hexdigest()

    def release(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None
            self.database = None

    def session(self) -> Iterator[Session]:
        """The request's session, committed or rolled back like app.db.get_session."""
        assert self.engine is not None, "no database on the stage"
        with transaction(self.engine) as session:
            yield session

    def current_clock(self) -> FixedClock:
        """The get_clock override: the clock of the moment (a test may swap or move it)."""
        return self.clock


def copy_database(template: Path, target: Path) -> Path:
    """A consistent copy of a SQLite file (WAL included), through SQLite's backup API."""
    source, copy = sqlite3.connect(template), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


class Api:
    """The JSON API of the live server, as one person or another (for preparing data)."""

    def __init__(self, base_url: str, stage: Stage, password: str) -> None:
        # An idle connection is dropped here before uvicorn closes it (its keep-alive is 5
        # s): reused just as the server closed it, a request met "Server disconnected
        # without sending a response" (a flake after a long browser step).
        self.http = httpx2.Client(base_url=f"{base_url}/api/v1", timeout=30,
                                  limits=httpx2.Limits(keepalive_expiry=2))
        self.stage = stage
        self.password = password
        self._tokens: dict[str, tuple[str, datetime]] = {}

    def close(self) -> None:
        self.http.close()

    def headers(self, who: str) -> dict[str, str]:
        cached = self._tokens.get(who)
        now = self.stage.clock.now()
        if cached is None or abs(now - cached[1]) > timedelta(hours=1):
            answer = self.http.post("/auth/token", data={"username": who,
                                                         "password": self.password})
            assert answer.status_code == 200, answer.text
            cached = self._tokens[who] = (answer.json()["access_token"], now)
        return {"Authorization": f"Bearer {cached[0]}"}

    def call(self, who: str, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, headers=self.headers(who), **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def post(self, who: str, path: str, json: Any = None, status: int = 200) -> Any:
        return self.call(who, "POST", path, status, json=json)

    def put(self, who: str, path: str, json: Any = None, status: int = 200) -> Any:
        return self.call(who, "PUT", path, status, json=json)

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.call(who, "GET", path, params=params)


# The small world of tests/api/support.build_world, with names a person would have.
PEOPLE = {
    # username: (name, branch)
    "sec_a": ("王建国", "a"), "vice_a": ("李秀英", "a"), "a1": ("张伟", "a"),
    "a2": ("刘芳", "a"), "a3": ("陈静", "a"), "a4": ("杨洋", "a"),
    "sec_b": ("赵磊", "b"), "b1": ("黄敏", "b"), "party_sec": ("周强", "b"),
}


@dataclass
class World:
    """党委 → 第一支部 (committee sec_a, vice_a; a1..a4), 第二支部 (sec_b; b1, party_sec);
    party_sec on the 党委's committee. The ids are the same in every copy."""

    party: int = 0
    branch_a: int = 0
    branch_b: int = 0
    members: dict[str, int] = field(default_factory=dict)
    api: Api | None = None
    stage: Stage | None = None

    @property
    def clock(self) -> FixedClock:
        assert self.stage is not None
        return self.stage.clock

    @property
    def call(self) -> Api:
        assert self.api is not None
        return self.api

    def entry(self, who: str, member: str, code: str, on: str, status: int = 201,
              **extra: Any) -> Any:
        body = {"member_id": self.members[member], "rule_code": code, "occurred_on": on,
                **extra}
        return self.call.post(who, "/entries", body, status)


def build_world(api: Api) -> World:
    """Organisations, members and committee grants through the real API (as admin)."""
    world = World()
    world.party = api.post("admin", "/orgs", {"name": "城东镇党委", "kind": "committee"},
                           201)["id"]
    world.branch_a = api.post("admin", "/orgs", {"name": "第一支部", "kind": "branch",
                                                 "parent_id": world.party}, 201)["id"]
    world.branch_b = api.post("admin", "/orgs", {"name": "第二支部", "kind": "branch",
                                                 "parent_id": world.party}, 201)["id"]
    for username, (name, branch) in PEOPLE.items():
        org = world.branch_a if branch == "a" else world.branch_b
        world.members[username] = api.post("admin", "/members", {
            "name": name, "org_id": org, "category": "active", "joined_on": "2010-07-01",
            "username": username, "password": PASSWORD}, 201)["id"]
    for username, org in (("sec_a", world.branch_a), ("vice_a", world.branch_a),
                          ("sec_b", world.branch_b), ("party_sec", world.party)):
        api.post("admin", f"/orgs/{org}/committee", {"member_id": world.members[username]},
                 201)
    return world


# --------------------------------------------------------------------------- the browser side
@dataclass
class Watch:
    """What every page of a test did that it must not: leave 127.0.0.1, throw, answer 5xx."""

    external: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return ([f"external request attempted (blocked): {u}" for u in self.external]
                + [f"JavaScript error on the page: {e}" for e in self.page_errors]
                + [f"server error: {s}" for s in self.server_errors])


@dataclass(frozen=True)
class _LoggedIn:
    """A browser just logged in through the form: its cookies, and where it landed."""

    state: Any  # the context's storage_state (cookies and local storage)
    landing: str | None  # the path the app sent it to (None: it was sent where it asked)


# Logins through the form, by (the stage's fingerprint, username, password, the context's
# settings): the same database at the same moment answers the same login the same way.
_LOGGED_IN: dict[tuple[str, str, str, str], _LoggedIn] = {}


class Phones:
    """People at their phones: each open() is a new browser context (its own cookies).

    With the live server's stage, a login a test repeats on an unchanged database at the
    same moment (every test starts from a fresh copy of the same world) is the form's
    cookies of the first time, not the form again: a second a login saved across the suite.
    The form is filled whenever anything differs (a write since the copy, the clock moved,
    another password) and wherever the test hands a page or a destination of its own."""

    def __init__(self, browser: Browser, context_args: dict[str, Any], password: str,
                 stage: Stage | None = None) -> None:
        self.browser = browser
        self.context_args = context_args
        self.password = password
        self.stage = stage
        self.watch = Watch()
        self.contexts: list[BrowserContext] = []

    def open(self, state: Any = None) -> Page:
        """A new context (with STATE's cookies if given) and a page in it."""
        context = self.browser.new_context(**self.context_args, storage_state=state)
        context.set_default_timeout(10_000)
        context.route("**/*", self._guard)
        context.on("page", self._watch_page)
        self.contexts.append(context)
        page = context.new_page()
        # htmx's hx-confirm asks with window.confirm: the person says yes.
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    def _guard(self, route: Any) -> None:
        """No external requests at all: anything not for 127.0.0.1 is refused and recorded."""
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.watch.external.append(url)
            route.abort("blockedbyclient")

    def _watch_page(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.watch.page_errors.append(str(error)))

        def on_response(response: Response) -> None:
            if response.status >= 500:
                request: Request = response.request
                self.watch.server_errors.append(f"{request.method} {response.url} "
                                                f"{response.status}")
        page.on("response", on_response)

    def login(self, username: str, page: Page | None = None, then: str | None = None) -> Page:
        """Log in through the form, typing like a person; lands where the app sends them, or
        at THEN (opened first: the login form comes on the way and leads back to it)."""
        key = self._login_key(username) if page is None else None
        kept = _LOGGED_IN.get(key) if key is not None else None
        if kept is not None and (then or kept.landing):
            page = self.open(kept.state)
            page.goto(then or kept.landing)
            page.wait_for_load_state()
            return page
        page = page or self.open()
        if then is not None:
            page.goto(then)
        if "/login" not in page.url:
            page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(self.password)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page).not_to_have_url(_LOGIN)
        page.wait_for_load_state()  # htmx is deferred: wired at load, not at the URL
        if key is not None:
            parts = urlsplit(page.url)
            landing = None if then else parts.path + (f"?{parts.query}" if parts.query else "")
            _LOGGED_IN[key] = _LoggedIn(page.context.storage_state(), landing)
        return page

    def _login_key(self, username: str) -> tuple[str, str, str, str] | None:
        fingerprint = self.stage.fingerprint() if self.stage is not None else None
        if fingerprint is None:
            return None
        return (fingerprint, username, self.password,
                repr(sorted(self.context_args.items(), key=lambda item: item[0])))

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


_LOGIN = re.compile(r"/login(\?|$)")


def settled(page: Page) -> None:
    """Wait until htmx has no request in flight and no swap still settling (a page measured
    mid-swap may be laid out as neither the old content nor the new)."""
    page.wait_for_load_state()
    page.wait_for_function("() => !document.querySelector("
                           "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


# --------------------------------------------------------------------------- screenshots
def screenshot_dir(fallback: Path) -> Path:
    """JIFEN_SCREENSHOTS (e.g. docs/screenshots) when set, a temporary directory otherwise."""
    chosen = os.environ.get("JIFEN_SCREENSHOTS")
    target = Path(chosen) if chosen else fallback
    target.mkdir(parents=True, exist_ok=True)
    return target


def shoot(page: Page, directory: Path, name: str) -> Path:
    """The page as a phone shows it: NAME.png the whole page, NAME.screen.png its first
    screen (360×740). Kept small: a 128-colour PNG reads the same.

    For the whole page the screen is made as tall as the page, so that sticky bars (the
    bulk-approve bar, #flash) sit where they belong, not over the middle of the picture.
    """
    path = directory / name
    screen = path.with_suffix(".screen.png")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(screen), animations="disabled", caret="hide")
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": PHONE["width"], "height": max(PHONE["height"], height)})
    try:
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    finally:
        page.set_viewport_size(PHONE)
    for picture in (path, screen):
        _squeeze(picture)
    return path


def _squeeze(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def jpeg(path: Path, size: tuple[int, int] = (1200, 900)) -> Path:
    """A real photo-like JPEG: a gradient with a few shapes, as a phone would send."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    width, height = size
    for y in range(height):
        shade = int(200 * y / height)
        draw.line([(0, y), (width, y)], fill=(40 + shade // 2, 90 + shade // 3, 160 - shade // 3))
    draw.rectangle([width // 5, height // 3, width // 2, height - 60], fill=(180, 30, 30))
    draw.ellipse([width // 2, height // 6, width - 80, height // 2], fill=(240, 200, 60))
    image.save(path, "JPEG", quality=85)
    return path

