"""Hostile text in a real browser: shown as text on every page, never run.

The names, notes, reasons, objections and answers of a small world are the payloads of
tests/web/hostile.PAYLOADS. Chromium opens every page a member, a committee member and the
administrator would, swaps parts in with htmx (a year, an edit row, a search, an answer),
and hovers over the names. No dialog may open but the one hx-confirm asks (whose text is the
name as typed, not run), no Content-Security-Policy violation may be reported (an injected
handler would be one), and the DOM may hold no event handler attribute, no script but the
app's own and no javascript: URL.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.api.support import NO_NOTICE
from tests.e2e.support import PHONE, Phones, World, settled
from tests.web.hostile import PAYLOADS

ALL = " | ".join(PAYLOADS.values())
NAMES = {"a1": PAYLOADS["attribute"], "a2": PAYLOADS["script"], "a3": PAYLOADS["textarea"],
         "a4": PAYLOADS["template"], "vice_a": PAYLOADS["single-quote"], "sec_b": PAYLOADS["url"]}

_WATCH = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
}"""
_INSPECT = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (/^(data-)?(on|hx-on)/i.test(a.name)) bad.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'hx-get', 'hx-post'].includes(a.name)
          && /^\\s*(javascript|vbscript|data:text\\/html)/i.test(a.value))
        bad.push(el.tagName + ' ' + a.name + '=' + a.value);
    }
  }
  for (const s of document.scripts)
    if (!s.src || !new URL(s.src).pathname.startsWith('/static/'))
      bad.push('script: ' + s.outerHTML.slice(0, 100));
  for (const f of document.querySelectorAll('iframe, object, embed, base'))
    bad.push(f.outerHTML.slice(0, 100));
  const values = [...document.querySelectorAll('input, textarea, select')].map(e => e.value);
  return {bad, width: document.documentElement.scrollWidth,
          violations: window.__violations || [], text: document.body.textContent,
          values, attributes: [...document.querySelectorAll('[hx-confirm], [aria-label]')]
            .map(e => (e.getAttribute('hx-confirm') || '') + ' ' + e.getAttribute('aria-label'))};
}"""


class Inspector:
    """One browser page, looked at after every load and swap."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.pages = 0
        page.on("dialog", lambda dialog: self.dialogs.append(f"{dialog.type}: "
                                                             f"{dialog.message}"))
        page.add_init_script(f"({_WATCH})()")

    def check(self, *shown: str) -> None:
        """Nothing runnable in the DOM, no violation, no dialog; `shown` texts present as
        text (or in a form field, or an attribute read out as text)."""
        settled(self.page)
        found: dict[str, Any] = self.page.evaluate(_INSPECT)
        where = self.page.url
        assert not found["bad"], f"{where}: {found['bad']}"
        assert not found["violations"], f"{where}: CSP violations {found['violations']}"
        assert not self.dialogs, f"{where}: dialogs {self.dialogs}"
        # Long text typed without spaces wraps: the phone never scrolls sideways.
        assert found["width"] <= PHONE["width"], f"{where}: {found['width']} px wide"
        visible = found["text"] + "\n".join(found["values"]) + "\n".join(found["attributes"])
        for text in shown:
            assert text in visible, f"{where}: {text!r} is not shown as text"
        self.pages += 1

    def visit(self, path: str, *shown: str) -> None:
        self.page.goto(path)
        self.check(*shown)

    def hover_names(self) -> None:
        """Where an injected onmouseover would fire."""
        for name in NAMES.values():
            target = self.page.get_by_text(name, exact=False).first
            if target.count() and target.is_visible():
                target.hover()
        self.check()


def _prepare(world: World) -> dict[str, int]:
    """The world's free text turned hostile, through the API; the ids the pages need."""
    api = world.call
    for username, name in NAMES.items():
        api.call("admin", "PATCH", f"/members/{world.members[username]}", json={"name": name})
    api.call("admin", "PATCH", f"/members/{world.members['a3']}",
             json={"exempt": True, "exempt_reason": ALL})
    for year in (2025, 2026):
        api.put("admin", f"/rules/P02?year={year}", {"name": PAYLOADS["script"] + " 参加"})
    half = len(PAYLOADS) // 2
    values = list(PAYLOADS.values())
    for part in (values[:half], values[half:]):
        api.post("admin", "/orgs", {"name": "".join(part)[:100], "kind": "branch",
                                    "parent_id": world.party}, 201)
    world.entry("a1", "a1", "P02", "2026-01-05", note=ALL)
    rejected = world.entry("a1", "a1", "P02", "2025-12-01", note=ALL)
    api.post("sec_a", f"/entries/{rejected['id']}/reject", {"reason": ALL})
    revoked = world.entry("sec_a", "a1", "P01", "2025-11-14", quantity=2, note=ALL)
    api.post("vice_a", f"/entries/{revoked['id']}/revoke", {"reason": ALL})
    world.entry("sec_a", "a2", "P02", "2025-03-01", note=ALL)
    for quarter in (1, 2, 3, 4):
        review = api.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                          {"year": 2025, "quarter": quarter}, 201)
        api.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE)
        if quarter == 4:
            objection = api.post("a1", f"/reviews/{review['id']}/objections",
                                 {"text": ALL}, 201)
            api.post("sec_a", f"/objections/{objection['id']}/resolve", {"response": ALL})
        api.post("sec_a", f"/reviews/{review['id']}/finalize")
    rating = api.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}, 201)
    api.call("sec_a", "PATCH", f"/ratings/{rating['id']}/items/{world.members['a1']}",
             json={"grade": "basically_qualified", "reason": ALL})
    for step in ("ballot/open", "ballot/close"):
        api.post("sec_a", f"/ratings/{rating['id']}/{step}")
    api.post("sec_a", f"/ratings/{rating['id']}/publish", NO_NOTICE)
    api.post("sec_a", f"/ratings/{rating['id']}/submit")
    api.post("party_sec", f"/ratings/{rating['id']}/approve")
    return {"review": review["id"], "rating": rating["id"]}


def test_hostile_text_never_runs_in_the_browser(world: World, phones: Phones) -> None:
    ids = _prepare(world)
    review, rating, a1 = ids["review"], ids["rating"], world.members["a1"]

    # The member: score, entries, results, the form; the year swapped in by htmx.
    member = Inspector(phones.login("a1"))
    member.visit("/me", NAMES["a1"])
    member.page.get_by_role("link", name="看2025年").click()
    expect(member.page.get_by_role("heading", level=1)).to_have_text("2025年我的积分")
    member.check(NAMES["a1"], ALL)  # the grade's reason
    member.visit("/me/entries", ALL, PAYLOADS["script"] + " 参加")
    member.visit("/me/entries?year=2025", ALL)
    member.visit("/me/results")
    member.visit(f"/me/results/{review}", NAMES["a1"], NAMES["a2"], NAMES["vice_a"], ALL)
    member.visit("/me/report", PAYLOADS["script"] + " 参加")
    # Refused by the server (before the member joined): the form stays as typed.
    member.page.locator("input[name=rule_code][value=P02]").check()
    member.page.locator("input[name=occurred_on]").fill("2009-01-05")
    member.page.locator("textarea[name=note]").fill(ALL)
    member.page.get_by_role("button", name="提交申报").click()
    expect(member.page.locator("#report-error")).to_contain_text("这个日期在您入党（转入）之前")
    member.check(ALL)
    member.hover_names()

    # The committee: home, pending, members, a member, the review, the rating, recording.
    committee = Inspector(phones.login("sec_a"))
    for path, shown in (("/committee", ()), ("/committee/entries", (NAMES["a1"], ALL)),
                        ("/committee/members", tuple(NAMES[m] for m in ("a1", "a2", "a3"))),
                        (f"/committee/members/{a1}?year=2025", (NAMES["a1"], ALL)),
                        (f"/committee/reviews/{review}", (NAMES["a1"], ALL)),
                        (f"/committee/ratings/{rating}", (NAMES["a1"], ALL)),
                        ("/committee/record", (NAMES["a4"], PAYLOADS["script"] + " 参加"))):
        committee.visit(path, *shown)
        committee.hover_names()
    committee.page.goto("/committee/record")
    committee.page.locator("select[name=member_id]").select_option(str(a1))
    committee.page.locator("select[name=rule_code]").select_option("P01")
    committee.page.locator("input[name=occurred_on]").fill("2009-01-05")
    committee.page.locator("textarea[name=note]").fill(ALL)
    committee.page.get_by_role("button", name="保存").click()
    expect(committee.page.locator("#record-error")).to_contain_text("日期早于入党")
    committee.check(ALL, NAMES["a1"])

    # The administrator: the tree, a search typed in, members, an edit row, the rules.
    admin = Inspector(phones.login("admin"))
    admin.visit("/admin", NAMES["vice_a"], "".join(list(PAYLOADS.values())[:3]))
    search = admin.page.locator(f"#committee-{world.branch_a}")
    search.locator("summary").click()
    search.get_by_role("searchbox").fill(PAYLOADS["attribute"])
    expect(search.locator(f"#candidates-{world.branch_a}")).to_contain_text(
        PAYLOADS["attribute"])
    admin.check(PAYLOADS["attribute"])
    admin.visit(f"/admin/members?org_id={world.branch_a}",
                *(NAMES[m] for m in ("a1", "a2", "a3", "a4", "vice_a")), ALL)
    admin.page.get_by_role("link", name=f"编辑{NAMES['a2']}").click()
    expect(admin.page.locator(f"#member-{world.members['a2']} input[name=name]")) \
        .to_have_value(NAMES["a2"])
    admin.check(NAMES["a2"])
    admin.visit("/admin/rules?year=2026", PAYLOADS["script"] + " 参加")
    admin.hover_names()

    # hx-confirm asks with the name as typed: text in a dialog, never markup or script.
    admin.page.goto("/admin")
    confirmed: list[str] = []
    admin.page.once("dialog", lambda dialog: confirmed.append(dialog.message))
    person = admin.page.locator(f"#committee-{world.branch_a} .person",
                                has_text=NAMES["vice_a"])
    person.get_by_role("button", name="免去").click()
    expect(admin.page.locator(f"#committee-{world.branch_a} .committee-list")) \
        .not_to_contain_text(NAMES["vice_a"])
    assert confirmed == [f"确定免去{NAMES['vice_a']}在第一支部的支委职务？"]
    admin.dialogs.clear()
    admin.check()

    # A failed login gives the typed name back in the field, as typed.
    stranger = Inspector(phones.open())
    stranger.page.goto("/login")
    stranger.page.get_by_label("用户名").fill(PAYLOADS["attribute"])
    stranger.page.get_by_label("密码").fill("wrong password")
    stranger.page.get_by_role("button", name="登录", exact=True).click()
    expect(stranger.page.get_by_label("用户名")).to_have_value(PAYLOADS["attribute"])
    stranger.check(PAYLOADS["attribute"])
    assert member.pages + committee.pages + admin.pages + stranger.pages >= 25
