"""Hostile text in every field a person can write renders inert on every page that shows it.

For each payload of tests/web/hostile.PAYLOADS, one branch is built through the real pages
(the API where a page has no form for it), with the payload in every free-text field, each
value tagged with the field it went into: organisation names, member names, the exemption
reason, a rule item's name, notes, rejection and revocation reasons, objections and their
answers, the reason for a changed grade. Values that are only echoed back (a failed login,
a search, a form sent back to be corrected, a `next` link) are tried as well. Then every
page, htmx partial, flash message and error page that shows them is fetched, and each one

- shows every field it should, escaped (`&lt;script&gt;`, `&#34;`, `&#39;`),
- never carries any value unescaped,
- has no event handler attribute, no script but the app's own /static/ ones, no
  javascript: URL, no frame (hostile.unsafe_markup parses it).

Usernames are not free text: a payload is refused there (and echoed back escaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, select

from app.models import Account, Entry, Org
from app.present.templating import TEMPLATES_DIR
from app.web.render import templates
from tests.api.support import NO_NOTICE, PASSWORD, World, approve_rating, ok
from tests.web.hostile import PAYLOADS, unsafe_markup
from tests.web.support import csrf_of, web_login

# Stored fields: what the tag means (the value is the payload followed by the tag).
STORED = {
    "PAR": "name of a 党委 (organisation)", "ORG": "name of a branch (organisation)",
    "SEC": "name of the branch's committee member", "MEM": "name of a member",
    "EXR": "exemption (免评) reason", "RUL": "rule item name (administrator)",
    "NOT": "note of a self-report", "REP": "note of a self-report then rejected",
    "REC": "note of an entry recorded by the committee", "REJ": "rejection reason",
    "REV": "revocation reason", "OBJ": "objection text", "OBQ": "second objection text",
    "RSP": "answer to an objection (htmx)", "RSQ": "answer to an objection (plain form)",
    "RAT": "reason for a changed grade",
    "PUB": "reason for publishing a review with a short notice",
}
# Echoed fields: typed in, sent back on the page (never stored).
ECHOED = {
    "LOG": "username of a failed login", "NXT": "`next` of the login page",
    "BCK": "`next` of the password-reset page", "QRY": "committee candidate search",
    "USR": "username refused on the new-member form", "NEW": "name on that refused form",
    "EDT": "name on a refused member edit", "ORX": "name on a refused new organisation",
    "RUX": "name on a refused rule edit", "RET": "note on a refused committee record",
    "RPT": "note on a refused self-report",
    "RAX": "reason of a refused grade change",
    "PBX": "reason in 发布公示's question, before it is confirmed",
}
FIELDS = {**STORED, **ECHOED}
# What the test counted, per payload: pages fetched, (field, page) pairs checked.
COUNTS: dict[str, tuple[int, int]] = {}


@dataclass
class Look:
    """One payload's values, and the pages seen so far."""

    client: TestClient
    payload: str
    pages: int = 0
    checks: int = 0
    seen: list[str] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)

    def __call__(self, tag: str) -> str:
        return f"{self.payload}{tag}"

    def at(self, answer: Any, expect: str, what: str) -> str:
        """Check one HTML answer: the fields of `expect` (space-separated tags) escaped,
        nothing unescaped, nothing that runs."""
        assert answer.status_code < 500, f"{what}: {answer.status_code}"
        assert answer.headers["content-type"].startswith("text/html"), what
        html: str = answer.text
        problems = unsafe_markup(html)
        assert not problems, f"{what}: {problems}"
        for tag in FIELDS:
            raw = self(tag)
            if str(escape(raw)) != raw:
                assert raw not in html, f"{what}: {tag} ({FIELDS[tag]}) unescaped"
        for tag in expect.split():
            assert str(escape(self(tag))) in html, f"{what}: {tag} ({FIELDS[tag]}) not shown"
        self.pages += 1
        self.checks += len(expect.split())
        self.shown |= set(expect.split())
        self.seen.append(what)
        return html

    def get(self, path: str, expect: str, *, htmx: bool = False, status: int = 200) -> str:
        answer = self.client.get(path, headers={"HX-Request": "true"} if htmx else {},
                                 follow_redirects=False)
        assert answer.status_code == status, f"GET {path}: {answer.status_code}"
        return self.at(answer, expect, f"{'htmx ' if htmx else ''}GET {path}")

    def post(self, path: str, token: str, data: dict[str, Any], *, flash: str = "",
             then: str = "", back: str = "/", htmx: bool = False, status: int | None = None,
             expect: str = "") -> Any:
        """A form post as a browser sends it. The page a redirect leads to must show the
        fields of `flash` in its message (the flash) and those of `then` anywhere; an
        answer with a body, those of `expect`."""
        headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else \
            {"referer": f"http://testserver{back}"}
        body = data if htmx else {**data, "csrf_token": token}
        answer = self.client.post(path, data=body, headers=headers, follow_redirects=False)
        if status is not None:
            assert answer.status_code == status, f"POST {path}: {answer.status_code} " \
                                                 f"{answer.text[:500]}"
        if answer.status_code == 303:
            html = self.get(answer.headers["location"], f"{flash} {then}")
            messages = " ".join(_FLASH.findall(html))
            for tag in flash.split():
                assert str(escape(self(tag))) in messages, f"POST {path}: {tag} not flashed"
        elif answer.content:
            self.at(answer, expect, f"{'htmx ' if htmx else ''}POST {path}")
        return answer


_FLASH = re.compile(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>')


def _id(answer: Any, pattern: str) -> int:
    """The id in the Location (or HX-Redirect) of a redirect."""
    target = answer.headers.get("location") or answer.headers.get("hx-redirect") or ""
    match = re.search(pattern, target)
    assert match, target
    return int(match.group(1))


def _member_id(db: Session, username: str) -> int:
    account = db.exec(select(Account).where(Account.username == username)).one()
    assert account.member_id is not None
    return account.member_id


def _entry_id(db: Session, note: str) -> int:
    entry = db.exec(select(Entry).where(Entry.note == note)).one()
    assert entry.id is not None
    return entry.id


@pytest.mark.parametrize("payload", list(PAYLOADS.values()), ids=list(PAYLOADS))
def test_hostile_text_renders_inert_everywhere(world: World, client: TestClient, db: Session,
                                               payload: str) -> None:
    v = Look(client, payload)

    # The administrator: organisations, members, the committee, an exemption, a rule.
    token = web_login(client, "admin")
    v.post("/admin/orgs", token, {"name": v("PAR"), "kind": "committee", "parent_id": ""},
           status=303, flash="PAR")
    party = db.exec(select(Org).where(Org.name == v("PAR"))).one().id
    answer = v.post("/admin/orgs", token, {"name": v("ORG"), "kind": "branch",
                                           "parent_id": str(party)}, status=303,
                    flash="ORG", then="PAR")
    branch = _id(answer, r"#org-(\d+)")
    people = {"xss_sec": v("SEC"), "xss_m1": v("MEM"), "xss_m2": "王芳"}
    for username, name in people.items():
        v.post(f"/admin/members?page_org={branch}", token, {
            "name": name, "org_id": str(branch), "category": "active",
            "joined_on": "2010-07-01", "username": username, "password": PASSWORD},
            status=303, then="ORG", flash={"xss_sec": "SEC", "xss_m1": "MEM"}.get(username, ""))
    sec, m1, m2 = (_member_id(db, u) for u in people)
    v.post(f"/admin/orgs/{branch}/committee", token, {"member_id": str(sec)}, status=303,
           flash="SEC ORG", then="PAR")
    v.post(f"/admin/members/{m2}/exempt", token, {"exempt_reason": v("EXR")}, status=303,
           then="EXR MEM SEC ORG")
    # That is this year's (2026) exemption; the 2025 rating below reads 2025's.
    assert world.put("admin", f"/members/{m2}/exemptions/2025", {
        "reason_kind": "other", "note": v("EXR"), "parent_consent_on": "2025-12-01",
        "meeting_on": "2025-12-10"}).status_code == 200
    for year in (2025, 2026):
        v.post(f"/admin/rules/P02?year={year}", token, {"name": v("RUL"), "shown": ""},
               status=303, then="RUL")

    # A member reports; the committee records, revokes, rejects.
    token = web_login(client, "xss_m1")
    v.post("/me/report", token, {"rule_code": "P02", "occurred_on": "2026-01-05",
                                 "quantity": "1", "note": v("NOT")}, status=303, then="NOT")
    v.post("/me/report", token, {"rule_code": "P02", "occurred_on": "2025-12-01",
                                 "quantity": "1", "note": v("REP")}, status=303, then="NOT")
    token = web_login(client, "xss_sec")
    v.post("/committee/record", token, {
        "member_id": str(m1), "rule_code": "P01", "occurred_on": "2025-11-14",
        "quantity": "2", "note": v("REC")}, status=303, flash="MEM", then="ORG SEC RUL")
    v.post("/committee/record", token, {
        "member_id": str(m1), "rule_code": "P02", "occurred_on": "2025-03-01",
        "quantity": "1", "note": ""}, status=303, flash="MEM RUL", then="ORG SEC")
    v.post(f"/committee/entries/{_entry_id(db, v('REC'))}/revoke", token,
           {"reason": v("REV"), "next": f"/committee/members/{m1}?year=2025", "view": "member"},
           status=303, flash="MEM", then="ORG REC REV REP RUL")
    v.post(f"/committee/entries/{_entry_id(db, v('REP'))}/reject", token,
           {"reason": v("REJ"), "next": "/committee/entries", "view": "pending"}, htmx=True,
           status=200, expect="MEM ORG REP REJ RUL")
    rejected = _entry_id(db, v("REP"))
    v.post("/committee/entries/bulk-approve", token, {
        "entry_ids": str(rejected), "scope": "selected", "next": "/committee/entries"},
        status=303, flash="MEM RUL", then="NOT")
    v.post("/committee/entries/bulk-approve", token, {
        "entry_ids": str(rejected), "scope": "selected", "next": "/committee/entries"},
        htmx=True, status=200, expect="MEM RUL NOT")

    # The quarterly review: three quarters final, the fourth published with objections.
    for quarter in (1, 2, 3):
        review = ok(world.post("admin", f"/orgs/{branch}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("admin", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("admin", f"/reviews/{review['id']}/finalize"))
    answer = v.post("/committee/reviews", token, {"org_id": str(branch), "year": "2025",
                                                  "quarter": "4"}, status=303,
                    then="ORG MEM SEC")
    review = _id(answer, r"/committee/reviews/(\d+)")
    # A short notice: the reason is echoed in the question 发布公示 asks, then stored and shown.
    v.post(f"/committee/reviews/{review}/publish", token,
           {"notice_days": "3", "reason": v("PBX")}, status=200, expect="ORG PBX")
    v.post(f"/committee/reviews/{review}/publish", token,
           {"notice_days": "3", "reason": v("PUB"), "step": "confirm"}, status=303,
           then="ORG MEM SEC PUB")
    token = web_login(client, "xss_m1")
    v.post(f"/me/results/{review}/objections", token, {"text": v("OBJ")}, status=303,
           then="OBJ MEM SEC")
    v.post(f"/me/results/{review}/objections", token, {"text": v("OBQ")}, htmx=True,
           status=201, expect="OBJ OBQ")
    token = web_login(client, "xss_sec")
    v.get(f"/committee/reviews/{review}", "ORG MEM SEC OBJ OBQ")
    objections = ok(world.get("admin", f"/reviews/{review}/objections"))
    first, second = (o["id"] for o in sorted(objections, key=lambda o: o["id"]))
    v.post(f"/committee/objections/{first}/resolve", token, {"response": v("RSP")}, htmx=True,
           status=200, expect="MEM OBJ RSP")
    v.post(f"/committee/objections/{second}/resolve", token, {"response": v("RSQ")},
           status=303, back=f"/committee/reviews/{review}", then="MEM OBJ OBQ RSP RSQ")
    world.clock.advance(days=4)
    token = web_login(client, "xss_sec")
    v.post(f"/committee/reviews/{review}/finalize", token, {}, status=303,
           then="ORG MEM SEC OBJ OBQ RSP RSQ")

    # The annual rating: a grade changed with a reason, one refused, then approved.
    answer = v.post("/committee/ratings", token, {"org_id": str(branch), "year": "2025"},
                    status=303, then="ORG MEM SEC")
    rating = _id(answer, r"/committee/ratings/(\d+)")
    v.post(f"/committee/ratings/{rating}/items/{m1}", token,
           {"grade": "qualified", "reason": v("RAT")}, htmx=True, status=200,
           expect="MEM RAT")
    v.post(f"/committee/ratings/{rating}/items/{sec}", token,
           {"grade": "excellent", "reason": v("RAX")}, htmx=True, status=409,
           expect="SEC RAX")
    v.get(f"/committee/ratings/{rating}", "ORG MEM SEC RAT")
    v.get(f"/committee/ratings/{rating}/cap", "", htmx=True)
    approve_rating(world, rating, branch="xss_sec", above="admin")
    v.get(f"/committee/ratings/{rating}", "ORG MEM SEC RAT")
    token = web_login(client, "xss_m1")
    v.post(f"/me/results/{review}/objections", token, {"text": "又一条"}, status=409,
           htmx=True, expect="OBJ OBQ RSP RSQ")

    # Every page that shows them, as each of the three.
    member_pages = {
        "/me": "MEM ORG", "/me?year=2025": "MEM ORG RAT", "/me/entries": "NOT RUL",
        "/me/entries?year=2025": "REC REV REP REJ RUL", "/me/results": "ORG",
        f"/me/results/{review}": "MEM SEC OBJ OBQ RSP RSQ", "/me/report": "RUL",
    }
    for path, expect in member_pages.items():
        v.get(path, expect)
    v.get("/me?year=2025", "MEM ORG RAT", htmx=True)
    v.get("/me/entries?year=2025", "REC REV REP REJ RUL", htmx=True)
    v.get(f"/me/results/{review}", "OBJ OBQ RSP RSQ", htmx=True)
    v.post("/me/report", token, {"rule_code": "", "occurred_on": "2026-01-05",
                                 "note": v("RPT")}, status=422, expect="RUL RPT")
    v.post("/me/report", token, {"rule_code": "", "occurred_on": "2026-01-05",
                                 "note": v("RPT")}, htmx=True, status=422)

    token = web_login(client, "xss_sec")
    committee_pages = {
        "/committee": "ORG PAR", "/committee?year=2025": "ORG PAR",
        "/committee/entries": "ORG MEM NOT RUL", "/committee/members": "ORG MEM SEC",
        f"/committee/members/{m1}": "ORG MEM NOT RUL",
        f"/committee/members/{m1}?year=2025": "ORG MEM REC REV REP REJ RUL",
        f"/committee/reviews/{review}": "ORG MEM SEC OBJ OBQ RSP RSQ",
        f"/committee/ratings/{rating}": "ORG MEM SEC RAT",
        "/committee/record": "ORG MEM SEC RUL",
        f"/committee/record?member_id={m1}": "ORG MEM SEC RUL",
    }
    for path, expect in committee_pages.items():
        v.get(path, expect)
    v.get(f"/committee/reviews/{review}/actions", "", htmx=True)
    answer = client.get("/committee/entries/count", headers={
        "HX-Request": "true", "HX-Current-URL": "http://testserver/committee/entries"})
    v.at(answer, "", "htmx GET /committee/entries/count")
    v.post("/committee/record", token, {"member_id": "", "rule_code": "P02",
                                        "occurred_on": "2026-01-05", "note": v("RET")},
           status=422, expect="ORG MEM SEC RUL RET")

    token = web_login(client, "admin")
    admin_pages = {
        "/admin": "PAR ORG SEC", f"/admin?grant_org={branch}&q={quote(v('QRY'))}": "ORG QRY",
        f"/admin/members?org_id={branch}": "ORG SEC MEM EXR",
        f"/admin/members?org_id={branch}&edit={m1}": "ORG MEM",
        f"/admin/members?org_id={party}": "PAR ORG", "/admin/members": "ORG",
        "/admin/rules?year=2025": "RUL", "/admin/rules?year=2026&edit=P02": "RUL",
        f"/members/{m1}/password-reset?next=/{quote(v('BCK'))}": "MEM BCK",
        f"/admin/orgs/{branch}/committee/{sec}/revoke": "ORG SEC",
    }
    for path, expect in admin_pages.items():
        v.get(path, expect)
    for path, expect in {f"/admin/orgs/{branch}/candidates?q={quote(v('QRY'))}": "ORG QRY",
                         f"/admin/orgs/{branch}/candidates?q=xss": "MEM",
                         f"/admin/members/{m1}/edit": "MEM",
                         f"/admin/members/{m2}/row": "EXR",
                         "/admin/rules/P02/edit?year=2026": "RUL",
                         "/admin/rules/P02/row?year=2026": "RUL"}.items():
        v.get(path, expect, htmx=True)
    v.post(f"/admin/members?page_org={branch}", token, {
        "name": v("NEW"), "org_id": str(branch), "category": "active",
        "joined_on": "2010-07-01", "username": v("USR"), "password": PASSWORD},
        status=422, expect="ORG SEC MEM NEW USR")
    v.post(f"/admin/members/{m1}", token, {"name": v("EDT"), "category": "alien"},
           status=422, expect="ORG EDT")
    v.post(f"/admin/members/{m1}", token, {"name": v("EDT"), "category": "alien"},
           htmx=True, status=422, expect="EDT")
    v.post("/admin/orgs", token, {"name": v("ORX"), "kind": "castle", "parent_id": ""},
           status=422, expect="PAR ORG ORX")
    v.post("/admin/rules/P02?year=2026", token, {"name": v("RUX"), "points": "x",
                                                 "shown": "points"},
           htmx=True, status=422, expect="RUX")
    refused = world.post("admin", "/members", {
        "name": "x", "org_id": branch, "category": "active", "joined_on": "2010-07-01",
        "username": payload, "password": PASSWORD})
    assert refused.status_code == 422  # usernames are not free text

    # Pages for nobody in particular: login, errors.
    client.cookies.clear()
    token = csrf_of(client)
    v.post("/login", token, {"username": v("LOG"), "password": "wrong", "next": "/"},
           status=401, expect="LOG")
    v.get(f"/login?next=/{quote(v('NXT'))}", "NXT")
    web_login(client, "xss_sec")
    v.get("/committee/members/999999", "", status=404)
    v.get(f"/me/{quote(payload)}", "", status=404)
    v.get(f"/committee?year={quote(payload)}", "", status=422)

    # The JSON API gives the same text as JSON, never as a page.
    for path in (f"/api/v1/members/{m1}", f"/api/v1/orgs/{branch}",
                 f"/api/v1/reviews/{review}/objections", f"/api/v1/ratings/{rating}"):
        answer = client.get(path, headers={**world.as_("admin"), "Accept": "text/html"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "<html" not in answer.text
    assert client.get("/api/v1/nowhere", headers={"Accept": "text/html"}) \
        .headers["content-type"] == "application/problem+json"

    COUNTS[payload] = (v.pages, v.checks)
    assert v.shown == set(FIELDS), set(FIELDS) - v.shown  # every field seen on some page
    assert v.pages >= 80 and v.checks >= 200 and len(set(v.seen)) >= 60, (v.pages, v.checks)


def test_autoescape_is_on_for_every_template_and_nothing_is_marked_safe() -> None:
    """Autoescaping on for every template; no |safe, Markup or {% autoescape false %}; and
    `_()` in a template (whose result Jinja marks safe) never gets data, only a msgid or a
    label table's entry."""
    env = templates.env
    assert env.autoescape is True
    names = [str(p.relative_to(TEMPLATES_DIR)) for p in TEMPLATES_DIR.rglob("*.html")]
    assert len(names) >= 40
    translated = re.compile(r"\b(?:_|gettext|ngettext)\(\s*([^\"'\s][^,)]*)")
    label = re.compile(r"(?:\w+_labels|quarter_names)\[[^\]]+\]|label")
    for name in names:
        source = (TEMPLATES_DIR / name).read_text()
        assert env.get_template(name).environment.autoescape is True
        for forbidden in ("|safe", "| safe", "Markup", "autoescape false", "|e(", "mark_safe"):
            assert forbidden not in source, f"{name}: {forbidden}"
        for argument in translated.findall(source):
            assert label.fullmatch(argument.strip()), f"{name}: _({argument}) is data"
    for module in Path(TEMPLATES_DIR.parent / "app" / "web").glob("*.py"):
        source = module.read_text()
        assert "Markup" not in source and "markupsafe" not in source, module.name
