"""Real-browser tests: Debian's Chromium (through Playwright) against the real app, live.

- The app runs under uvicorn in a thread on 127.0.0.1 and a free port. Its database is a
  fresh SQLite file per test (a copy of a template built once by the migrations), its clock
  a FixedClock the test moves (get_session and get_clock are overridden while it runs).
- Two templates: the small world of tests/api/support.build_world (built through the real
  HTTP API) and the demo (`jifen demo`, for pages full of realistic data).
- Every browser context is a 360×740 phone; every request not for 127.0.0.1 is refused,
  and a test that attempted one fails, as does one whose page threw or got a 5xx.
- Playwright never downloads a browser: /usr/bin/chromium (Debian's) or the tests skip,
  except under CI=true, where a missing Chromium is a failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser
from sqlmodel import Session

from app import security
from app.clock import get_clock
from app.db import get_session, make_engine
from app.demo import load_demo
from app.main import app
from app.migrate import upgrade
from app.services.accounts import create_admin
from app.settings import get_settings
from tests.e2e.support import (
    DEMO_PASSWORD,
    DEMO_START,
    PASSWORD,
    PHONE,
    START,
    Api,
    Phones,
    Stage,
    World,
    build_world,
    copy_database,
    screenshot_dir,
)

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent

security.use_cheap_hashing()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: real-browser end-to-end tests (Chromium, live "
                            "server); deselect with -m 'not e2e'")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            # One xdist worker takes them all (--dist loadgroup): one Chromium, one live
            # server, each template built once.
            item.add_marker(pytest.mark.xdist_group("e2e"))


# --------------------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; without it the browser tests skip (fail under CI=true)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI installs it in .ci/run, so this is a failure here")
        pytest.skip(f"{reason}; the browser tests need it")
    return CHROMIUM


@pytest.fixture(autouse=True)
def _needs_chromium(chromium: Path) -> None:
    """Checked first, before any server or database is set up."""


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any],
                             chromium: Path) -> dict[str, Any]:
    """Debian's Chromium, never a downloaded one (nothing here runs `playwright install`)."""
    return {**browser_type_launch_args, "executable_path": str(chromium), "args": [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"],
        # Chinese date fields and file buttons, where Debian's chromium-l10n is installed
        # (on Linux Chromium takes its interface language from LANGUAGE, not --lang).
        "env": {**os.environ, "LANGUAGE": "zh_CN:zh"}}


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    """Relative page.goto("/me") goes to the live server (pytest-base-url's is not used)."""
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any],
                         live_server: LiveServer) -> dict[str, Any]:
    """A phone: 360×740, touch, Chinese; device scale 1 keeps screenshots small."""
    return {**browser_context_args, "base_url": live_server.url, "viewport": PHONE,
            "screen": PHONE, "device_scale_factor": 1, "locale": "zh-CN",
            "timezone_id": "Asia/Shanghai", "is_mobile": True, "has_touch": True}


@pytest.fixture
def phones(browser: Browser, browser_context_args: dict[str, Any],
           stage: Stage) -> Iterator[Phones]:
    people = Phones(browser, browser_context_args, PASSWORD, stage)
    yield people
    people.close()
    problems = people.watch.problems()
    assert not problems, "\n".join(problems)


@pytest.fixture
def demo_phones(browser: Browser, browser_context_args: dict[str, Any],
                demo: Api, stage: Stage) -> Iterator[Phones]:
    people = Phones(browser, browser_context_args, DEMO_PASSWORD, stage)
    yield people
    people.close()
    problems = people.watch.problems()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $JIFEN_SCREENSHOTS (docs/screenshots), else a temporary dir."""
    return screenshot_dir(tmp_path_factory.mktemp("screenshots"))


# --------------------------------------------------------------------------- the server
@dataclass
class LiveServer:
    url: str
    stage: Stage


def _serve(stage: Stage) -> dict[Any, Any]:
    """Point the app's session and clock at the stage; the overrides that were there."""
    before = dict(app.dependency_overrides)
    app.dependency_overrides[get_session] = stage.session
    app.dependency_overrides[get_clock] = stage.current_clock
    return before


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    uploads = tmp_path_factory.mktemp("uploads")
    patch = pytest.MonkeyPatch()
    patch.setenv("JIFEN_UPLOAD_DIR", str(uploads))
    get_settings.cache_clear()
    stage = Stage()
    before = _serve(stage)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="e2e-uvicorn")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", stage=stage)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        stage.release()
        app.dependency_overrides.clear()
        app.dependency_overrides.update(before)
        patch.undo()
        get_settings.cache_clear()


@pytest.fixture
def stage(live_server: LiveServer) -> Iterator[Stage]:
    """The live server's stage, with the overrides (re)applied for this test."""
    before = _serve(live_server.stage)
    try:
        yield live_server.stage
    finally:
        live_server.stage.release()
        app.dependency_overrides.clear()
        app.dependency_overrides.update(before)


@dataclass
class Template:
    path: Path
    world: World | None = None


@pytest.fixture(scope="session")
def world_template(live_server: LiveServer,
                   tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The small world, built once through the real API of the live server."""
    path = tmp_path_factory.mktemp("templates") / "world.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        create_admin(session, "admin", PASSWORD, START)
        session.commit()
    engine.dispose()
    stage = live_server.stage
    before = _serve(stage)
    stage.use(path, START)
    api = Api(live_server.url, stage, PASSWORD)
    try:
        world = build_world(api)
    finally:
        api.close()
        stage.release()
        app.dependency_overrides.clear()
        app.dependency_overrides.update(before)
    return Template(path, world)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """`jifen demo` as of DEMO_START (about six seconds, so once per session)."""
    path = tmp_path_factory.mktemp("templates") / "demo.db"
    upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        load_demo(session, DEMO_START)
        session.commit()
    engine.dispose()
    return Template(path)


@pytest.fixture
def world(stage: Stage, world_template: Template, live_server: LiveServer,
          tmp_path: Path) -> Iterator[World]:
    """A fresh copy of the small world on the stage, the clock at 2026-01-10 10:00 Beijing."""
    assert world_template.world is not None
    stage.use(copy_database(world_template.path, tmp_path / "world.db"), START)
    api = Api(live_server.url, stage, PASSWORD)
    template = world_template.world
    world = World(party=template.party, branch_a=template.branch_a,
                  branch_b=template.branch_b, members=dict(template.members), api=api,
                  stage=stage)
    yield world
    api.close()


@pytest.fixture
def demo(stage: Stage, demo_template: Template, live_server: LiveServer,
         tmp_path: Path) -> Iterator[Api]:
    """A fresh copy of the demo on the stage, the clock at 2026-04-07 10:00 Beijing."""
    stage.use(copy_database(demo_template.path, tmp_path / "demo.db"), DEMO_START)
    api = Api(live_server.url, stage, DEMO_PASSWORD)
    yield api
    api.close()
