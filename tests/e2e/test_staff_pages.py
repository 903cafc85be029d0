"""Every committee page (/committee and below) and every admin page (/admin and below) on a
360×740 phone, in Chinese and in English, keeps the bars the member's pages keep
(test_pages.py):

- the first load (the page, its CSS, JavaScript, icon, and any fragment it loads at once)
  transfers under 60 KB, as test_pages.py weighs /me: bytes on the wire, gzip-compressed,
  headers included, no HTTP cache;
- text ≥ 16 px, by the member's pages' rule (test_pages.QUALITY): every visible p, li,
  td, label, input, button, textarea and select, secondary notes included (a p.muted
  cm-small is 16.2 px); a span inside them (a badge, a unit) and a column heading (th)
  are not measured;
- touch targets ≥ 44 px high (buttons also wide): buttons, fields, summaries and every
  link in <main>, except an inline link in the flow of a paragraph, as on the member's
  pages;
- nothing wider than the phone (no sideways scrolling), nor at 320 px (a margin for other
  phones' fonts, and the narrowest phones), and no button, link or line wider than its own
  box (a label running out of its button);
- axe-core finds no violation at all (of any impact).

The print views (/print, the 登记表, the 测评表, the 审批表) are held to the same bars on the
phone, where they are read before printing (their paper keeps its own sizes: print.css).

Each page is opened by the person who would open it: the demo's secretaries, committee
members, the 党委 and the administrator, or (for a ballot still open, which the demo at
its moment has none of) the small test world's secretary. One copy of each database and one
logged-in phone per person and language serve the whole file (the pages are only read; what
a page needs first is done once, up front).

Also: the language switch keeps the page's query (its year, its branch).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    Page,
    Response,
    ViewportSize,
    expect,
)

from app.clock import get_clock
from app.db import get_session
from app.main import app
from tests.e2e.support import (
    DEMO_PASSWORD,
    DEMO_START,
    PASSWORD,
    PHONE,
    START,
    Api,
    Phones,
    World,
    copy_database,
    settled,
    shoot,
)
from tests.e2e.test_ballot_phone import rating_ready
from tests.e2e.test_pages import (
    BAD_ENTRIES,
    BAD_MEMBERS,
    BRANCH,
    PARTY,
    QUALITY,
    VILLAGE,
    Demo,
    axe_report,
)

LIGHT = 60 * 1024  # bytes: the first load of a page
NARROW: ViewportSize = {"width": 320, "height": 740}
LANGUAGES = {"zh": ("中文", "zh-CN"), "en": ("English", "en")}


# --------------------------------------------------------------------------- the pages
@dataclass
class Ids:
    """What the pages' addresses need, looked up or made once per file."""

    demo: Demo
    objected_review: int  # 2026 Q1 of 机关党支部, published, with dangyuan01's objection
    case: int
    case_member: int
    world_rating: int  # the small world's 2025 rating of 第一支部, its ballot open


@dataclass(frozen=True)
class Spot:
    """One page: where the person goes, who they are, and which database they are in."""

    name: str
    who: str
    where: Callable[[Ids], str]
    site: str = "demo"  # or "world"
    then: Callable[[Page], None] | None = None  # what the person does there first
    shot: str | None = None  # its English picture, docs/screenshots/NAME (JIFEN_SCREENSHOTS)


def record_a_veto(page: Page) -> None:
    """Fills the record form with a 一票否决 item and saves: the confirmation it asks."""
    form = page.locator("form.cm-record")
    form.locator("select[name=member_id]").select_option(index=1)
    form.locator("select[name=rule_code]").select_option("V01")
    form.locator("input[name=occurred_on]").fill("2026-04-01")
    form.locator("textarea[name=note]").fill("受到党内警告处分，党委通报。")
    form.locator("button.primary").click()
    expect(page.locator(".cm-confirm").first).to_be_visible()


def upload(name: str, table: str) -> Callable[[Page], None]:
    """Uploads TABLE (a CSV) through the import page's form (in either language); waits
    for its list of errors."""
    def then(page: Page) -> None:
        form = page.locator("form", has=page.locator("input[type=file]"))
        form.locator("input[type=file]").set_input_files(
            {"name": name, "mimeType": "text/csv", "buffer": table.encode("utf-8")})
        form.locator("button.primary").click()
        expect(page.locator("#import-errors > li").first).to_be_visible()
    return then


def _member(username: str) -> Callable[[Ids], str]:
    return lambda i: f"/committee/members/{i.demo.member(username)}"


COMMITTEE = [
    Spot("committee home", "shuji1", lambda i: "/committee"),
    Spot("committee home of the party committee", "dangwei", lambda i: "/committee"),
    Spot("approvals", "dangwei", lambda i: "/committee/approvals"),
    Spot("pending entries", "shuji1", lambda i: "/committee/entries"),
    Spot("record an entry", "shuji1", lambda i: "/committee/record"),
    Spot("record a veto: the confirmation", "shuji1", lambda i: "/committee/record",
         then=record_a_veto),
    Spot("review sheet with an objection", "shuji1",
         lambda i: f"/committee/reviews/{i.objected_review}"),
    Spot("draft review sheet", "shuji1",
         lambda i: f"/committee/reviews/{i.demo.review(BRANCH, 2026, 2)}"),
    Spot("rating sheet submitted", "shuji2",
         lambda i: f"/committee/ratings/{i.demo.rating(VILLAGE, 2025)}"),
    Spot("rating sheet before the party committee", "dangwei",
         lambda i: f"/committee/ratings/{i.demo.rating(VILLAGE, 2025)}"),
    Spot("rating sheet approved", "shuji1",
         lambda i: f"/committee/ratings/{i.demo.rating(BRANCH, 2025)}"),
    Spot("rating sheet with the ballot open", "sec_a",
         lambda i: f"/committee/ratings/{i.world_rating}", site="world"),
    Spot("paper ballots", "sec_a", lambda i: f"/committee/ratings/{i.world_rating}/paper",
         site="world"),
    Spot("appraisal summary", "dangwei",
         lambda i: f"/committee/appraisal/{i.demo.orgs[PARTY]}?year=2025"),
    Spot("cases of the party committee", "dangwei", lambda i: "/committee/cases"),
    Spot("case", "shuji3", lambda i: f"/committee/cases/{i.case}"),
    Spot("case read by the party committee", "dangwei",
         lambda i: f"/committee/cases/{i.case}"),
    Spot("roster", "shuji1", lambda i: "/committee/members"),
    Spot("member", "shuji1", _member("dangyuan01")),
    Spot("probationary member", "shuji1", _member("dangyuan34")),
    Spot("member with a case", "shuji3", lambda i: f"/committee/members/{i.case_member}"),
    Spot("standing", "shuji1", lambda i: f"/members/{i.demo.member('dangyuan34')}/standing"),
    Spot("password reset by the secretary", "shuji1",
         lambda i: f"/members/{i.demo.member('dangyuan02')}/password-reset"),
    Spot("members import", "shuji1", lambda i: "/committee/import"),
    Spot("members import with errors", "shuji1", lambda i: "/committee/import",
         then=upload("名单.csv", BAD_MEMBERS)),
    Spot("entries import", "shuji1", lambda i: "/committee/import/entries"),
    Spot("entries import with errors", "shuji1", lambda i: "/committee/import/entries",
         then=upload("四月.csv", BAD_ENTRIES)),
    Spot("review notice print", "shuji1",
         lambda i: f"/committee/reviews/{i.objected_review}/print"),
    Spot("rating notice print", "shuji1",
         lambda i: f"/committee/ratings/{i.demo.rating(BRANCH, 2025)}/print"),
    Spot("ballot form print", "shuji1",
         lambda i: f"/committee/ratings/{i.demo.rating(BRANCH, 2025)}/ballot-form"),
    Spot("register print", "shuji1",
         lambda i: f"/committee/members/{i.demo.member('dangyuan01')}/register?year=2025"),
    Spot("case print", "shuji3", lambda i: f"/committee/cases/{i.case}/print"),
    Spot("appraisal summary print", "dangwei",
         lambda i: f"/committee/appraisal/{i.demo.orgs[PARTY]}/print?year=2025"),
]
ADMIN = [
    Spot("organisations", "admin", lambda i: "/admin", shot="32-admin-en.png"),
    Spot("organisations choosing a committee member", "admin",
         lambda i: f"/admin/orgs/{i.demo.orgs[BRANCH]}/candidates?q=%E5%BD%AD"),
    Spot("removing a committee member", "admin",
         lambda i: f"/admin/orgs/{i.demo.orgs[BRANCH]}/committee/"
                   f"{i.demo.member('zhiwei1')}/revoke"),
    Spot("rules", "admin", lambda i: "/admin/rules", shot="33-admin-rules-en.png"),
    Spot("rules editing one", "admin", lambda i: "/admin/rules?year=2026&edit=D01"),
    Spot("members", "admin", lambda i: "/admin/members"),
    Spot("members of a branch", "admin",
         lambda i: f"/admin/members?org_id={i.demo.orgs[BRANCH]}",
         shot="34-admin-members-en.png"),
    Spot("members editing one", "admin",
         lambda i: f"/admin/members?org_id={i.demo.orgs[BRANCH]}"
                   f"&edit={i.demo.member('dangyuan01')}"),
    Spot("password reset by the administrator", "admin",
         lambda i: f"/members/{i.demo.member('dangyuan02')}/password-reset"),
    Spot("service accounts", "admin", lambda i: "/admin/service-accounts"),
]
# Issue 17's pages, and the member's pages in English too (tests/e2e/test_pages.py holds
# the member's pages to these bars in Chinese).
NEW = [
    Spot("attendance register", "shuji1",
         lambda i: f"/committee/register?org_id={i.demo.orgs[BRANCH]}"),
    Spot("member score", "dangyuan01", lambda i: "/me"),
    Spot("how scores work", "dangyuan01", lambda i: "/me/rules"),
    Spot("my entries", "dangyuan01", lambda i: "/me/entries"),
    Spot("self-report", "dangyuan01", lambda i: "/me/report"),
    Spot("results", "dangyuan01", lambda i: "/me/results"),
    Spot("results sheet", "dangyuan01",
         lambda i: f"/me/results/{i.demo.review(BRANCH, 2026, 1)}"),
]
SPOTS = COMMITTEE + ADMIN + NEW
CASES = [pytest.param(spot, language, id=f"{spot.name.replace(' ', '-')}-{language}")
         for spot in SPOTS for language in LANGUAGES]


# --------------------------------------------------------------------------- the phones
class Site:
    """The live server's stage on one database or the other, and one logged-in phone per
    person and language, kept for the whole file."""

    def __init__(self, live_server: Any, browser: Browser, context_args: dict[str, Any],
                 databases: dict[str, Path]) -> None:
        self.stage = live_server.stage
        self.url = live_server.url
        self.databases = databases
        self.moments = {"demo": DEMO_START, "world": START}
        self.passwords = {"demo": DEMO_PASSWORD, "world": PASSWORD}
        self.phones = {site: Phones(browser, context_args, password)
                       for site, password in self.passwords.items()}
        self.pages: dict[tuple[str, str, str], Page] = {}
        self.on: str | None = None
        self.seen = 0

    def use(self, site: str) -> None:
        if self.on != site or self.stage.engine is None:
            self.stage.use(self.databases[site], self.moments[site])
            self.on = site

    def page(self, site: str, who: str, language: str) -> Page:
        """WHO's phone, logged in, in LANGUAGE: the page the last test left (everything it
        loaded has come by the end of its checks), or a blank one."""
        self.use(site)
        key = (site, who, language)
        if key not in self.pages:
            page = self.phones[site].open()
            log_in(page, who, self.passwords[site], language)
            self.pages[key] = page
        return self.pages[key]

    def problems(self) -> list[str]:
        """What pages did that they must not (5xx, script errors, requests elsewhere), since
        the last look."""
        found = [p for phones in self.phones.values() for p in phones.watch.problems()]
        fresh, self.seen = found[self.seen:], len(found)
        return fresh

    def close(self) -> None:
        for phones in self.phones.values():
            phones.close()


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(page: Page, who: str, password: str, language: str) -> None:
    """Logs the phone in and sets its language through the forms' own POSTs (no page is
    drawn: the pages under test are what the tests open)."""
    token = _TOKEN.search(page.request.get("/login").text())
    assert token, "no CSRF token on /login"
    landed = page.request.post("/login", form={"csrf_token": token[1], "username": who,
                                               "password": password})
    assert landed.ok and "/login" not in landed.url, f"{who} could not log in: {landed.url}"
    if language != "zh":
        token = _TOKEN.search(landed.text())
        assert token, f"no CSRF token on {landed.url}"
        switched = page.request.post("/language", form={"csrf_token": token[1],
                                                        "language": language, "next": "/"})
        assert switched.ok, switched.status


def switch(page: Page, language: str) -> None:
    """Presses the footer's language button, as a person would."""
    label, lang = LANGUAGES[language]
    page.locator("footer").get_by_role("button", name=label, exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.fixture(scope="module")
def site(live_server: Any, browser: Browser, browser_context_args: dict[str, Any],
         demo_template: Any, world_template: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Ids]]:
    """Both databases copied once, what the pages need done once, phones kept."""
    folder = tmp_path_factory.mktemp("staff")
    databases = {"demo": copy_database(demo_template.path, folder / "demo.db"),
                 "world": copy_database(world_template.path, folder / "world.db")}
    before = dict(app.dependency_overrides)
    stage = live_server.stage
    app.dependency_overrides[get_session] = stage.session
    app.dependency_overrides[get_clock] = stage.current_clock
    here = Site(live_server, browser, browser_context_args, databases)
    apis: list[Api] = []
    try:
        here.use("world")
        api = Api(live_server.url, stage, PASSWORD)
        apis.append(api)
        template = world_template.world
        world = World(party=template.party, branch_a=template.branch_a,
                      branch_b=template.branch_b, members=dict(template.members), api=api,
                      stage=stage)
        world_rating = rating_ready(world)
        here.use("demo")
        api = Api(live_server.url, stage, DEMO_PASSWORD)
        apis.append(api)
        demo = Demo(api)
        case = api.get("dangwei", "/cases")["items"][0]
        ids = Ids(demo=demo, objected_review=demo.object_to_q1(), case=int(case["id"]),
                  case_member=int(case["member_id"]), world_rating=world_rating)
        yield here, ids
    finally:
        here.close()
        for api in apis:
            api.close()
        stage.release()
        app.dependency_overrides.clear()
        app.dependency_overrides.update(before)


# --------------------------------------------------------------------------- the bars
class Scale:
    """Weighs what a tab loads while it listens: bodies as sent (gzip) and headers; no cache
    (every request goes through the context's route), as test_pages.py weighs /me."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.loaded: list[Response] = []
        page.on("response", self._note)

    def _note(self, response: Response) -> None:
        self.loaded.append(response)

    def stop(self) -> tuple[int, list[str]]:
        self.page.remove_listener("response", self._note)
        total, lines = 0, []
        for response in self.loaded:
            sizes = response.request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
            total += size
            lines.append(f"{response.url.split('/', 3)[-1]}: {size} bytes")
        return total, lines


@pytest.mark.parametrize(("spot", "language"), CASES)
def test_staff_page_keeps_the_bars(spot: Spot, language: str, site: tuple[Site, Ids],
                                   shots: Path) -> None:
    here, ids = site
    page = here.page(spot.site, spot.who, language)
    path = spot.where(ids)
    scale = Scale(page)
    page.goto(path)
    expect(page.locator("main")).to_be_visible()
    settled(page)  # what the page loads at once (hx-trigger="load") is part of its load
    weight, lines = scale.stop() if spot.then else (0, [])
    if spot.then:
        spot.then(page)
        settled(page)
    expect(page.locator("html")).to_have_attribute("lang", LANGUAGES[language][1])
    where = f"{spot.name} [{language}] ({page.url}, as {spot.who})"
    if spot.shot and language == "en":
        shoot(page, shots, spot.shot)

    problems = []
    found = page.evaluate(QUALITY)
    if found["scrollWidth"] > PHONE["width"]:
        problems.append(f"scrolls sideways: {found['scrollWidth']}px wide; wider than the "
                        "phone:\n    " + "\n    ".join(page.evaluate(WIDE, PHONE["width"])))
    # A margin for the fonts of other phones (and for the 320 px ones): nothing scrolls
    # sideways at 320 px either.
    page.set_viewport_size(NARROW)
    narrow = page.evaluate("() => document.scrollingElement.scrollWidth")
    if narrow > NARROW["width"]:
        problems.append(f"scrolls sideways at {NARROW['width']}px: {narrow}px wide; wider:"
                        "\n    " + "\n    ".join(page.evaluate(WIDE, NARROW["width"])))
    page.set_viewport_size(PHONE)
    cut = page.evaluate(CUT)
    if cut:
        problems.append("wider than its box (partly hidden):\n    " + "\n    ".join(cut))
    if found["small"]:
        problems.append("text under 16px:\n    " + "\n    ".join(found["small"]))
    if found["tiny"]:
        problems.append("touch targets under 44px:\n    " + "\n    ".join(found["tiny"]))
    violations = Axe().run(page).response["violations"]
    if violations:
        problems.append("axe-core:\n" + axe_report(violations))
    if not spot.then:  # by now the icon, fetched after the load, has come too
        weight, lines = scale.stop()
    if weight >= LIGHT or not lines:
        problems.append(f"first load {weight} bytes (≥ {LIGHT}):\n    " + "\n    ".join(lines))
    problems += here.problems()
    assert not problems, f"{where}:\n" + "\n".join(problems)


# What is wider than its own box (a button's label running out of the button): the page
# need not scroll for it, yet part of it is not seen. Scrolling boxes are meant to.
CUT = """() => {
  const out = [];
  const text = 'button, .button, a, summary, label, th, td, h1, h2, h3, p, li, dt, dd';
  for (const el of document.querySelectorAll(text)) {
    const s = getComputedStyle(el);
    if (s.display === 'inline' || s.display === 'none' || s.overflowX !== 'visible') continue;
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      out.push(`${el.tagName.toLowerCase()}${cls} "${(el.innerText || '').trim().slice(0, 40)}"`
        + `: ${el.scrollWidth}px in ${el.clientWidth}px`);
    }
  }
  return out;
}"""


# The elements that reach past the phone's right edge, the innermost first.
WIDE = """width => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > width + 0.5 && r.width > 0) {
      const inside = [...el.children].some(c => c.getBoundingClientRect().right > r.right - 0.5);
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      if (!inside) out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} `
        + `"${(el.innerText || '').trim().slice(0, 40)}": right edge ${Math.round(r.right)}px`);
    }
  }
  return out.slice(0, 12);
}"""


# --------------------------------------------------------------------------- the switch
@pytest.mark.parametrize(("who", "where", "heading"), [
    ("dangyuan01", "/me/entries?year=2025", "2025"),
    ("dangwei", "/committee/appraisal/{party}?year=2025", "2025"),
    ("admin", "/admin/members?org_id={branch}", BRANCH),
], ids=["member-entries-year", "appraisal-year", "admin-members-branch"])
def test_the_language_switch_keeps_the_query(who: str, where: str, heading: str,
                                             site: tuple[Site, Ids]) -> None:
    """The footer's language button, pressed on a page with a query (not this year, a
    branch chosen), lands on the same page with the same query, and so shows the same year
    or branch, one way and back."""
    here, ids = site
    path = where.format(party=ids.demo.orgs[PARTY], branch=ids.demo.orgs[BRANCH])
    here.use("demo")
    page = here.phones["demo"].login(who)
    page.goto(path)
    expect(page.locator("main h1")).to_contain_text(heading)
    for language in ("en", "zh"):
        switch(page, language)
        assert page.url == here.url + path, f"[{language}] {page.url}, not {path}"
        expect(page.locator("main h1")).to_contain_text(heading)
    page.context.close()
    assert not here.problems()
