"""Every main page on a phone, full of the demo's data: accessibility (axe-core), the phone
quality bars (text size, touch targets, no sideways scrolling), the weight of the first
load, and the screenshots of docs/screenshots (written there only when JIFEN_SCREENSHOTS
names that directory)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, Response, expect

from tests.e2e.support import PHONE, Api, Phones, settled, shoot

BRANCH = "机关党支部"  # the demo's first branch: shuji1, zhiwei1, dangyuan01..11
VILLAGE = "东村党支部"  # its 2025 rating is submitted, waiting for the 党委
PARTY = "城关镇党委"
OBJECTION = "三月我还参加了两次社区志愿服务，没有计入积分，请支委核实。"
# Text with no place to break a line (a pasted link, a held-down key) must wrap, not widen.
UNBROKEN = "x" * 2000


class Demo:
    """Ids of the demo's things, looked up through the API."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.orgs = {o["name"]: o["id"] for o in api.get("admin", "/orgs", limit=100)["items"]}

    def review(self, branch: str, year: int, quarter: int) -> int:
        rows = self.api.get("dangwei", "/reviews", org_id=self.orgs[branch], year=year)["items"]
        return next(int(r["id"]) for r in rows if r["quarter"] == quarter)

    def rating(self, branch: str, year: int) -> int:
        rows = self.api.get("dangwei", "/ratings", org_id=self.orgs[branch], year=year)["items"]
        return int(rows[0]["id"])

    def member(self, username: str) -> int:
        rows = self.api.get("admin", "/members", limit=500)["items"]
        return next(int(m["id"]) for m in rows if m["username"] == username)

    def object_to_q1(self, text: str = OBJECTION) -> int:
        """dangyuan01 objects to their line of the published 2026 Q1 sheet."""
        review = self.review(BRANCH, 2026, 1)
        self.api.post("dangyuan01", f"/reviews/{review}/objections", {"text": text}, 201)
        return review


@dataclass(frozen=True)
class Spot:
    """One page: who opens it, where it is, and its screenshot's name (if it has one)."""

    name: str
    who: str | None
    where: Callable[[Demo], str]
    shot: str | None = None
    member: bool = False  # the member's phone pages: the quality bars apply
    then: Callable[[Page], None] | None = None  # what the person does there first

    def open(self, phones: Phones, demo: Demo) -> Page:
        path = self.where(demo)
        if self.who:
            page = phones.login(self.who, then=path)
        else:
            page = phones.open()
            page.goto(path)
        expect(page.locator("main")).to_be_visible()
        if self.then:
            self.then(page)
        settled(page)
        return page


def upload(name: str, table: str, heading: str) -> Callable[[Page], None]:
    """Uploads TABLE (a CSV) through the import page's form; waits for the preview HEADING."""
    def then(page: Page) -> None:
        page.get_by_label("选择填好的文件（Excel .xlsx 或 CSV）").set_input_files(
            {"name": name, "mimeType": "text/csv", "buffer": table.encode("utf-8")})
        page.get_by_role("button", name="上传并检查").click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.locator("#import-errors > li").first).to_be_visible()
    return then


# Three rows of members, two of them wrong: an unknown branch and category, a date that is
# no date, a username the demo already has, a password too short.
BAD_MEMBERS = ("姓名,所属支部,类别,入党日期,用户名,初始密码\n"
               f"孙丽华,{BRANCH},在职,2016-06-30,sunlihua,\n"
               ",西村党支部,外星,2010-02-30,dangyuan02,\n"
               f"钱永军,{BRANCH},离退休,1979-07-01,qianyongjun,123\n")
# Entries: one good, an unknown rule, an unknown person in a month that is not one.
BAD_ENTRIES = ("用户名,姓名,支部,日期,规则编号,数量,分值,说明\n"
               "dangyuan03,,,2026-04-02,P01,2,,四月集中学习\n"
               "dangyuan03,,,2026-04-03,X99,,,\n"
               "nobody,,,2026-13-01,B01,,9,\n")


SPOTS = [
    Spot("login", None, lambda d: "/login", "01-login.png", member=True),
    Spot("member score", "dangyuan01", lambda d: "/me", "02-member-score.png", member=True),
    Spot("self-report", "dangyuan01", lambda d: "/me/report", "03-self-report.png",
         member=True),
    Spot("my entries", "dangyuan01", lambda d: "/me/entries", "04-my-entries.png",
         member=True),
    Spot("results", "dangyuan01", lambda d: "/me/results", member=True),
    Spot("results sheet with objection", "dangyuan01",
         lambda d: f"/me/results/{d.object_to_q1()}", "05-results-sheet-objection.png",
         member=True),
    Spot("results sheet with an unbroken objection", "dangyuan01",
         lambda d: f"/me/results/{d.object_to_q1(UNBROKEN)}", member=True),
    Spot("change password", "dangyuan01", lambda d: "/password", member=True),
    Spot("committee home", "shuji1", lambda d: "/committee", "06-committee-home.png"),
    Spot("pending entries", "shuji1", lambda d: "/committee/entries",
         "07-committee-pending.png"),
    Spot("review sheet", "shuji1", lambda d: f"/committee/reviews/{d.object_to_q1()}",
         "08-review-sheet.png"),
    Spot("review sheet with an unbroken objection", "shuji1",
         lambda d: f"/committee/reviews/{d.object_to_q1(UNBROKEN)}"),
    Spot("draft review sheet", "shuji1",
         lambda d: f"/committee/reviews/{d.review(BRANCH, 2026, 2)}"),
    Spot("rating sheet", "shuji2", lambda d: f"/committee/ratings/{d.rating(VILLAGE, 2025)}",
         "09-rating-sheet.png"),
    Spot("record an entry", "shuji1", lambda d: "/committee/record"),
    Spot("roster", "shuji1", lambda d: "/committee/members"),
    Spot("admin organisations", "admin", lambda d: "/admin", "10-admin-orgs.png"),
    Spot("admin members", "admin", lambda d: f"/admin/members?org_id={d.orgs[BRANCH]}",
         "11-admin-members.png"),
    Spot("admin rules", "admin", lambda d: "/admin/rules", "12-admin-rules.png"),
    Spot("password reset", "admin", lambda d: "/members/{}/password-reset".format(
        d.api.get("admin", "/members", limit=1)["items"][0]["id"])),
    Spot("members import", "shuji1", lambda d: "/committee/import"),
    Spot("members import with errors", "shuji1", lambda d: "/committee/import",
         "13-committee-import-errors.png",
         then=upload("名单.csv", BAD_MEMBERS, "文件有问题，未导入")),
    Spot("entries import", "shuji1", lambda d: "/committee/import/entries"),
    Spot("entries import with errors", "shuji1", lambda d: "/committee/import/entries",
         "14-committee-import-entries-errors.png",
         then=upload("四月.csv", BAD_ENTRIES, "文件有错误，未导入")),
    Spot("notices", "dangyuan01", lambda d: "/me/notices", "15-member-notices.png",
         member=True),
    Spot("review notice print", "shuji1",
         lambda d: f"/committee/reviews/{d.review(BRANCH, 2026, 1)}/print"),
    Spot("draft rating print", "shuji2",
         lambda d: f"/committee/ratings/{d.rating(VILLAGE, 2025)}/print"),
    Spot("rating notice print", "shuji1",
         lambda d: f"/committee/ratings/{d.rating(BRANCH, 2025)}/print"),
    Spot("member notice print", "dangyuan01",
         lambda d: f"/me/results/{d.review(BRANCH, 2026, 1)}/print", "16-print-notice.png",
         member=True),
    Spot("my annual rating", "dangyuan01",
         lambda d: f"/me/ratings/{d.rating(BRANCH, 2025)}", "17-my-rating.png", member=True),
    Spot("approvals of the level above", "dangwei", lambda d: "/committee/approvals",
         "18-approvals.png"),
    Spot("submitted rating before the level above", "dangwei",
         lambda d: f"/committee/ratings/{d.rating(VILLAGE, 2025)}#step-approval",
         "19-rating-approval.png"),
    Spot("appraisal summary", "dangwei",
         lambda d: f"/committee/appraisal/{d.orgs[PARTY]}?year=2025", "20-appraisal-summary.png"),
    Spot("a probationary member's standing", "shuji1",
         lambda d: f"/committee/members/{d.member('dangyuan34')}#standing"),
]
MEMBER_SPOTS = [s for s in SPOTS if s.member]


def _ids(spots: list[Spot]) -> list[str]:
    return [s.name.replace(" ", "-") for s in spots]


# --------------------------------------------------------------------------- axe-core
SERIOUS = ("serious", "critical")


def axe_report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:240]}")
    return "\n".join(lines)


@pytest.mark.parametrize("spot", SPOTS, ids=_ids(SPOTS))
def test_page_accessible_and_screenshot(spot: Spot, demo: Api, demo_phones: Phones,
                                        shots: Path) -> None:
    """No serious or critical axe-core violation; not wider than the phone; its picture."""
    page = spot.open(demo_phones, Demo(demo))
    if spot.shot:
        shoot(page, shots, spot.shot)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{spot.name} ({page.url}) scrolls sideways: {width}px"
    results = Axe().run(page)
    violations = results.response["violations"]
    serious = [v for v in violations if v["impact"] in SERIOUS]
    others = [v for v in violations if v["impact"] not in SERIOUS]
    print(f"{spot.name}: axe-core {results.response['testEngine']['version']}, "
          f"{len(results.response['passes'])} rules passed, {len(violations)} violated")
    if others:
        print(f"{spot.name}: minor or moderate axe findings:\n{axe_report(others)}")
    assert not serious, f"{spot.name} ({page.url}):\n{axe_report(serious)}"


# --------------------------------------------------------------------------- phone quality bars
QUALITY = """() => {
  const visible = el => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = el => {
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '')
      .trim().replace(/\\s+/g, ' ').slice(0, 40);
    const cls = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} "${text}"`;
  };
  const ownText = el => [...el.childNodes].some(n => n.nodeType === 3 && n.data.trim());
  const small = [];
  for (const el of document.querySelectorAll('p, li, td, label, input, button, textarea, select')) {
    if (!visible(el) || el.type === 'hidden') continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 16) small.push(`${name(el)}: ${size}px`);
  }
  // An inline text link inside a paragraph may be as tall as its line (WCAG 2.5.5's
  // exception); those alone in their paragraph are noted, not failed.
  const inParagraph = a => getComputedStyle(a).display === 'inline' && a.closest('p');
  const alone = a => a.closest('p').innerText.replace(a.innerText, '').trim() === '';
  const tiny = [], lone = [];
  const targets = [
    ...document.querySelectorAll('button, input, select, textarea, summary'),
    ...document.querySelectorAll('main a[href]'),
  ];
  for (const el of targets) {
    if (el.type === 'hidden' || !visible(el)) continue;
    if (el.tagName === 'A' && inParagraph(el)) {
      const r = el.getBoundingClientRect();
      if (alone(el) && r.height < 44) {
        lone.push(`${name(el)}: ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
      continue;
    }
    // A radio button or checkbox is tapped through its label.
    const box = (['radio', 'checkbox'].includes(el.type) && el.closest('label')) || el;
    const r = box.getBoundingClientRect();
    const needsWidth = el.tagName === 'BUTTON' || box !== el;
    if (r.height < 44 || (needsWidth && r.width < 44)) {
      tiny.push(`${name(el)}: ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return {small, tiny, lone, scrollWidth: document.scrollingElement.scrollWidth};
}"""


@pytest.mark.parametrize("spot", MEMBER_SPOTS, ids=_ids(MEMBER_SPOTS))
def test_member_page_fits_a_phone(spot: Spot, demo: Api, demo_phones: Phones) -> None:
    """≥ 16 px text, ≥ 44 px touch targets, nothing wider than the 360 px screen."""
    page = spot.open(demo_phones, Demo(demo))
    found = page.evaluate(QUALITY)
    if found["lone"]:
        print(f"{spot.name}: links alone in a paragraph, under 44px tall (allowed as inline "
              "text links):\n    " + "\n    ".join(found["lone"]))
    problems = []
    if found["small"]:
        problems.append("text under 16px:\n    " + "\n    ".join(found["small"]))
    if found["tiny"]:
        problems.append("touch targets under 44px:\n    " + "\n    ".join(found["tiny"]))
    if found["scrollWidth"] > PHONE["width"]:
        problems.append(f"scrolls sideways: {found['scrollWidth']}px wide")
    assert not problems, f"{spot.name} ({page.url}):\n" + "\n".join(problems)


# --------------------------------------------------------------------------- page weight
def test_first_load_of_my_score_is_light(demo: Api, demo_phones: Phones) -> None:
    """/me, with its CSS, htmx and icon, transfers < 60 KB, gzip-compressed."""
    page = demo_phones.login("dangyuan01")
    page.wait_for_load_state("networkidle")
    loaded: list[Response] = []
    page.on("response", lambda response: loaded.append(response))
    page.goto("/me", wait_until="networkidle")  # routing in the context: no HTTP cache
    expect(page.locator(".score-number")).to_be_visible()
    rows = []
    total = 0
    for response in loaded:
        sizes = response.request.sizes()
        size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        total += size
        encoding = response.header_value("content-encoding") or "-"
        body = len(response.body())
        rows.append((response.url.split("/", 3)[-1], response.status, encoding,
                     sizes["responseBodySize"], body))
        if body >= 1000 and response.status == 200:
            assert encoding == "gzip", f"{response.url} is sent uncompressed ({body} bytes)"
    print("first load of /me:\n" + "\n".join(
        f"  /{url:40} {status} {enc:5} {sent:6} bytes sent, {body:6} bytes unpacked"
        for url, status, enc, sent, body in rows) + f"\n  total {total} bytes with headers")
    kinds = {url.rsplit(".", 1)[-1] for url, *_ in rows}
    assert {"css", "js"} <= kinds, json.dumps(rows)
    assert total < 60 * 1024, f"/me weighs {total} bytes on first load"
