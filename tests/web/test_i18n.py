"""The pages in English, and in Chinese by default.

A small world with ASCII names (organisations, people, notes, reasons) is built through the
API, so that in English any CJK character left on a page is a text not translated. The one
exception is the language switch's "中文", which stays Chinese on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock
from app.services.accounts import create_admin
from tests.api.support import NO_NOTICE, PASSWORD, World, approve_rating, login, ok
from tests.web.support import form_post, web_login

CJK = re.compile(r"[\u3001-\u303f\u4e00-\u9fff\uff00-\uffef]")
PO = Path(__file__).resolve().parents[2] / "app/locale/en/LC_MESSAGES/messages.po"
# Attributes people read (or hear): tooltips, labels, confirmations, mobile table labels.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "hx-confirm", "label",
                   "data-label", "data-short"}


class VisibleText(HTMLParser):
    """The text of a page a person sees or hears: no scripts, styles or data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(v for k, v in attrs if k in READ_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


@dataclass
class Ascii:
    world: World
    branch: int
    review_q4: int
    review_2026: int
    rating: int


def english_world(client: TestClient, db: Session, clock: FixedClock) -> Ascii:
    """North Branch of Riverside Committee: 2025 reviewed, a rating drafted, 2026 begun."""
    create_admin(db, "admin", PASSWORD, clock.now())
    db.commit()
    admin = login(client, "admin")
    world = World(client=client, clock=clock, admin=admin, party=0, branch_a=0, branch_b=0)
    world.headers["admin"] = (admin, clock.now())
    world.party = ok(world.post("admin", "/orgs", {"name": "Riverside Committee",
                                                   "kind": "committee"}), 201)["id"]
    branch = world.branch_a = ok(world.post("admin", "/orgs", {
        "name": "North Branch", "parent_id": world.party, "kind": "branch"}), 201)["id"]
    for username, name, category in (("sam", "Sam Lee", "active"),
                                     ("alice", "Alice Wong", "active"),
                                     ("bob", "Bob Chan", "retired"),
                                     ("carol", "Carol Ho", "mobile")):
        world.add_member(username, branch, category=category, name=name)
    ok(world.post("admin", f"/orgs/{branch}/committee", {"member_id": world.members["sam"]}),
       201)
    ok(world.patch("admin", f"/members/{world.members['carol']}",
                   {"exempt": True, "exempt_reason": "Long illness"}))
    ok(world.put("admin", f"/members/{world.members['carol']}/exemptions/2025",
                 {"reason_kind": "other", "note": "Long illness",
                  "parent_consent_on": "2025-12-01", "meeting_on": "2025-12-10"}))

    days = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}
    world.entry("sam", "alice", "P01", days[1], quantity=3, note="Town study session")
    world.entry("sam", "alice", "P07", days[1], quantity=5)
    world.entry("sam", "bob", "P02", days[1], quantity=1)
    world.entry("sam", "bob", "N01", days[2], quantity=1)
    world.entry("sam", "alice", "B01", days[2], points=4)
    world.entry("sam", "bob", "V02", days[3], note="Convicted of fraud")
    world.entry("sam", "alice", "P10", days[4], quantity=2)
    wrong = world.entry("alice", "alice", "P03", days[1])
    ok(world.post("sam", f"/entries/{wrong['id']}/reject", {"reason": "Not on the list"}))
    twice = world.entry("sam", "alice", "P05", days[1])
    ok(world.post("sam", f"/entries/{twice['id']}/revoke", {"reason": "Recorded twice"}))
    review_q4 = 0
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sam", f"/orgs/{branch}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.put("sam", f"/reviews/{review['id']}/scores", {"scores": {
            str(world.members["alice"]): 5, str(world.members["bob"]): 4}}))
        ok(world.post("sam", f"/reviews/{review['id']}/publish",
                      {"notice_days": 5} if quarter == 4 else NO_NOTICE))
        if quarter == 4:
            review_q4 = review["id"]
            objection = ok(world.post("alice", f"/reviews/{review_q4}/objections",
                                      {"text": "I went to two more meetings"}), 201)
            ok(world.post("sam", f"/objections/{objection['id']}/resolve",
                          {"response": "Checked the sign-in sheet"}))
            world.clock.advance(days=6)
        ok(world.post("sam", f"/reviews/{review['id']}/finalize"))
    rating = ok(world.post("sam", f"/orgs/{branch}/ratings", {"year": 2025}), 201)
    ok(world.patch("sam", f"/ratings/{rating['id']}/items/{world.members['alice']}",
                   {"grade": "basically_qualified", "reason": "Good effort"}))

    # 2026 (the clock stands in January): a pending self-report and a draft review.
    world.entry("alice", "alice", "P01", "2026-01-05", quantity=1)
    world.entry("sam", "bob", "P04", "2026-01-06", quantity=1)
    review_2026 = ok(world.post("sam", f"/orgs/{branch}/reviews",
                                {"year": 2026, "quarter": 1}), 201)["id"]
    return Ascii(world=world, branch=branch, review_q4=review_q4, review_2026=review_2026,
                 rating=rating["id"])


@pytest.fixture
def ascii_world(client: TestClient, db: Session, clock: FixedClock) -> Ascii:
    return english_world(client, db, clock)


def member_pages(w: Ascii) -> list[str]:
    return ["/me", "/me?year=2025", "/me/entries", "/me/entries?year=2025", "/me/report",
            "/me/results", f"/me/results/{w.review_q4}", "/password", "/me/notices"]


def committee_pages(w: Ascii) -> list[str]:
    alice = w.world.members["alice"]
    return ["/committee", "/committee?year=2025", "/committee/entries",
            "/committee/entries?year=2026&quarter=1", "/committee/record",
            "/committee/members", f"/committee/members/{alice}?year=2025",
            f"/committee/reviews/{w.review_q4}", f"/committee/reviews/{w.review_2026}",
            f"/committee/ratings/{w.rating}", "/committee/reviews/999999",
            "/committee/import", "/committee/import/entries"]


def admin_pages(w: Ascii) -> list[str]:
    return ["/admin", f"/admin?grant_org={w.branch}&q=li", f"/admin/members?org_id={w.branch}",
            f"/admin/members?org_id={w.branch}&edit={w.world.members['bob']}",
            "/admin/members", "/admin/rules", "/admin/rules?year=2025",
            f"/members/{w.world.members['bob']}/password-reset"]


def switch(client: TestClient, token: str, language: str) -> None:
    answer = form_post(client, "/language", token, {"language": language, "next": "/"})
    assert answer.status_code == 303


def assert_english(client: TestClient, path: str, switch: bool = True) -> str:
    page = client.get(path)
    assert page.status_code in (200, 404), (path, page.status_code)
    assert '<html lang="en">' in page.text, path
    parts = visible(page.text)
    # The language switch, always in its own language; a print page has none.
    assert parts.count("中文") == (1 if switch else 0), path
    left = [p for p in parts if p != "中文" and CJK.search(p)]
    assert not left, f"{path}: not translated: {left}"
    return " ".join(parts)


def english_phrases() -> set[str]:
    """Stretches of the English catalogue long enough not to occur in the world's data."""
    with PO.open("rb") as source:
        catalog = read_po(source, locale="en")
    phrases = set()
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            for piece in re.split(r"\{[^}]*\}|%\(\w+\)[sd]|<[^>]+>", text or ""):
                piece = piece.strip(" .,:;()")
                if " " in piece and len(piece) >= 10:
                    phrases.add(piece)
    return phrases


def test_member_pages_in_english(ascii_world: Ascii, client: TestClient) -> None:
    approve_rating(ascii_world.world, ascii_world.rating, branch="sam", above="admin")
    token = web_login(client, "alice")
    switch(client, token, "en")
    texts = {path: assert_english(client, path) for path in member_pages(ascii_world)}
    assert "My score in 2026" in texts["/me"]
    assert "Self-report" in texts["/me"] and "My entries" in texts["/me"]
    assert "Annual rating 2025: Basically qualified" in texts["/me"]
    assert "Annual grade: Basically qualified" in texts["/me?year=2025"]
    assert "The branch changed the grade. Reason: Good effort" in texts["/me?year=2025"]
    assert "Score by quarter" in texts["/me"] and "Q1" in texts["/me"]
    entries = texts["/me/entries?year=2025"]
    assert "Attend group study" in entries and "Volunteer service" in entries
    assert "+6 points" in entries and "5 hours" in entries and "3 times" in entries
    assert "Reason for rejection: Not on the list" in entries
    assert "Reason for revoking: Recorded twice" in entries
    assert "Pending" in texts["/me/entries"]
    report = texts["/me/report"]
    assert "1. What you did" in report and "2 points each time, up to 8 a year" in report
    assert "1 point per hour" in report and "Performance bonus" in report
    assert "Send report" in report
    assert "Q4 2025" in texts["/me/results"] and "Finalized" in texts["/me/results"]
    sheet = texts[f"/me/results/{ascii_world.review_q4}"]
    assert "Q4 2025 review results" in sheet and "My objections" in sheet
    assert "Committee’s answer: Checked the sign-in sheet" in sheet
    # A refusal on a page, in English too.
    refused = form_post(client, "/me/report", token,
                        {"rule_code": "P01", "occurred_on": "2030-01-01", "quantity": "1"})
    assert refused.status_code == 422
    assert not [p for p in visible(refused.text) if p != "中文" and CJK.search(p)]


def test_committee_pages_in_english(ascii_world: Ascii, client: TestClient) -> None:
    token = web_login(client, "sam")
    switch(client, token, "en")
    texts = {path: assert_english(client, path) for path in committee_pages(ascii_world)}
    home = texts["/committee"]
    assert "Branch work" in home and "Quarterly reviews 2026" in home and "Pending: 1" in home
    assert "Not finalized yet: Q1, Q2, Q3, Q4" in home
    assert "The annual rating for 2025 is not finished yet" in home
    last_year = texts["/committee?year=2025"]
    assert "Quarterly reviews 2025" in last_year and "Open the rating" in last_year
    pending = texts["/committee/entries"]
    assert "Pending entries" in pending and "Approve" in pending and "Reject" in pending
    assert "Attend group study" in pending and "Waiting for me: 1" in pending
    assert "Showing only entries of Q1 2026." in texts["/committee/entries?year=2026&quarter=1"]
    record = texts["/committee/record"]
    assert "Record points" in record and "Bob Chan (Retired)" in record
    assert "P01 Attend group study (2 points each time, up to 8 a year)" in record
    member = texts[f"/committee/members/{ascii_world.world.members['alice']}?year=2025"]
    assert "Reason for revoking: Recorded twice" in member and "5 hours" in member
    q4 = texts[f"/committee/reviews/{ascii_world.review_q4}"]
    assert "Q4 2025 review" in q4 and "Objections (1)" in q4 and "Answered" in q4
    draft = texts[f"/committee/reviews/{ascii_world.review_2026}"]
    assert "Cannot publish yet" in draft and "Save all" in draft and "Not scored" in draft
    rating = texts[f"/committee/ratings/{ascii_world.rating}"]
    assert "Annual rating 2025" in rating and "Exempt" in rating and "Veto" in rating
    assert "Reason for the change: Good effort" in rating and "Proposed" in rating
    assert "Not found" in texts["/committee/reviews/999999"]

    # What the workflow says, in English: a decision's message, a refusal in a bulk approval.
    pending = ok(ascii_world.world.get("sam", "/entries", status="pending"))["items"]
    sams_own = ascii_world.world.entry("sam", "sam", "P03", "2026-01-07")["id"]
    answer = form_post(client, "/committee/entries/bulk-approve", token, {
        "entry_ids": [pending[0]["id"], sams_own], "scope": "selected",
        "next": "/committee/entries"}, htmx=True)
    bulk = " ".join(visible(answer.text))
    assert "1 approved." in bulk and "Not approved (1):" in bulk
    assert "Sam Lee P03 Attend the themed Party day" in bulk
    assert ": You cannot decide on or revoke entries about yourself" in answer.text
    assert not [p for p in visible(answer.text) if CJK.search(p)]
    review = f"/committee/reviews/{ascii_world.review_2026}"
    answer = client.post(f"{review}/publish", data={"notice_days": "3", "csrf_token": token},
                         headers={"referer": f"http://testserver{review}"},
                         follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, review)
    refusal = assert_english(client, review)
    assert "Entries of this quarter are still pending; approve or reject them first." in refusal


def test_admin_pages_in_english(ascii_world: Ascii, client: TestClient) -> None:
    token = web_login(client, "admin")
    switch(client, token, "en")
    texts = {path: assert_english(client, path) for path in admin_pages(ascii_world)}
    assert "Organisations" in texts["/admin"] and "Party committee" in texts["/admin"]
    assert "Sam Lee" in texts["/admin"] and "New organisation" in texts["/admin"]
    members = texts[f"/admin/members?org_id={ascii_world.branch}"]
    assert "Members: 4" in members and "Long illness" in members and "Mobile" in members
    assert "North Branch committee" in members
    rules = texts["/admin/rules"]
    assert "Point rules for 2026" in rules and "Breach of the central Eight-point Rules" in rules
    assert "Employed, Mobile, Retired" in rules or "All" in rules
    # Logged out, the login page keeps the language.
    form_post(client, "/logout", token)
    login_page = assert_english(client, "/login")
    assert "Log in" in login_page and "Password" in login_page


def test_chinese_is_the_default(ascii_world: Ascii, client: TestClient) -> None:
    phrases = english_phrases()
    assert len(phrases) > 100
    for who, pages in (("alice", member_pages(ascii_world)),
                       ("sam", committee_pages(ascii_world)),
                       ("admin", admin_pages(ascii_world))):
        web_login(client, who)
        for path in pages:
            page = client.get(path)
            assert '<html lang="zh-CN">' in page.text, path
            text = " ".join(visible(page.text))
            assert CJK.search(text), path
            found = sorted(p for p in phrases if p in text)
            assert not found, f"{path}: English in the Chinese page: {found}"
            for word in ("My score", "Self-report", "Pending", "Log out", "Review score",
                         "Annual rating", "Approve", "Objection"):
                assert word not in text, (path, word)
    web_login(client, "alice")
    page = " ".join(visible(client.get("/me").text))
    assert "我的积分" in page and "申报积分" in page and "English" in page


def test_print_pages_in_english(ascii_world: Ascii, client: TestClient) -> None:
    approve_rating(ascii_world.world, ascii_world.rating, branch="sam", above="admin")
    w = ascii_world
    texts = {}
    for who, paths in (("alice", [f"/me/results/{w.review_q4}/print"]),
                       ("sam", [f"/committee/reviews/{w.review_q4}/print",
                                f"/committee/ratings/{w.rating}/print"])):
        token = web_login(client, who)
        switch(client, token, "en")
        texts.update({path: assert_english(client, path, switch=False) for path in paths})
        client.cookies.clear()
    review = texts[f"/committee/reviews/{w.review_q4}/print"]
    assert "Members’ points, Q4 2025: public notice" in review
    assert "Notice period: 2026-01-10 10:00 to 2026-01-15 10:00" in review
    assert texts[f"/me/results/{w.review_q4}/print"] == review
    rating = texts[f"/committee/ratings/{w.rating}/print"]
    assert "Annual rating 2025: public notice of the results" in rating
    assert "Alice Wong 43 0 stars" in rating and "Basically qualified" in rating


@pytest.mark.parametrize(("page", "expected"), [
    ("/committee/appraisal/{branch}?year=2025", "/committee/appraisal/{branch}?year=2025"),
    ("/me?year=2025", "/me?year=2025"),
    ("/me", "/me"),
])
def test_the_language_switch_comes_back_to_the_same_page_and_year(
        ascii_world: Ascii, client: TestClient, page: str, expected: str) -> None:
    """The switch posts the page's path with its query, and lands there again."""
    branch = ascii_world.world.branch_a
    token = web_login(client, "sam")
    html = client.get(page.format(branch=branch)).text
    sent = re.search(r'action="/language".*?name="next" value="([^"]*)"', html, re.S)
    assert sent is not None
    back = sent.group(1).replace("&amp;", "&")
    assert back == expected.format(branch=branch)
    answer = form_post(client, "/language", token, {"language": "en", "next": back})
    assert answer.status_code == 303 and answer.headers["location"] == back


def test_a_disposal_case_in_english(ascii_world: Ascii, client: TestClient) -> None:
    """The case's words as labels in sentence case, 限期改正 as "Correct within …", the
    printed form's labels each followed by a space (review 16, finding 6)."""
    w = ascii_world.world
    today = w.clock.today().isoformat()
    case = ok(w.post("sam", "/cases", {"member_id": w.members["bob"], "ground": "other",
                                       "year": 2026, "note": "Missed every meeting"}), 201)["id"]
    for body in ({"kind": "investigation", "findings": "Checked the sign-in sheets"},
                 {"kind": "talk", "held_on": today, "summary": "Talked it through",
                  "talker_ids": [w.members["sam"], w.members["alice"]]},
                 {"kind": "proposal", "measure": "rectify", "months": 6,
                  "reason": "He wants to change"}):
        ok(w.post("sam", f"/cases/{case}/steps", body))
    token = web_login(client, "sam")
    switch(client, token, "en")
    page = assert_english(client, f"/committee/cases/{case}")
    assert "Waiting for the prereview above" in page and "Ground: Other" in page
    assert "Measure: Correct within 6 months" in page
    assert "Next: Prereview by the committee above" in page
    assert "Investigation Sam Lee" in page and "Proposal by the branch committee Sam Lee" in page
    printed = client.get(f"/committee/cases/{case}/print").text
    for label, value in (("Party branch: ", "North Branch"), ("Ground: ", "Other"),
                         ("Measure: ", "Correct within 6 months"), ("State: ", "Waiting")):
        assert f"<dt>{label}</dt><dd>{value}" in printed
    client.cookies.clear()
    switch(client, web_login(client, "bob"), "en")
    mine = assert_english(client, f"/me/cases/{case}")
    assert "Waiting for the prereview above" in mine and "My defence" in mine

    # The vote's result is its own words, not an entry's Approve or Rejected.
    ok(w.post("admin", f"/cases/{case}/steps", {"kind": "prereview", "decision": "approve"}))
    ok(w.post("sam", f"/cases/{case}/steps", {"kind": "vote", "held_on": today, "present": 3,
                                              "for": 2, "against": 1, "abstain": 0}))
    html = client.get(f"/me/cases/{case}").text
    vote = html[html.index('class="cs-step cs-vote"'):]
    vote = " ".join(visible(vote[:vote.index("</li>")]))
    assert "For 2, against 1, abstaining 0" in vote
    assert "Passed" in vote and "Approve" not in vote and "Rejected" not in vote
