"""The member's score page is kept while nothing on it changes (app/web/page_cache.py).

Each test looks at the page, changes something through the API as a committee or an admin
would, and looks again: the change is on the very next page (the kept page was not used),
and the page after that is the kept one again. The clock stands at 2026-01-10.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.clock import FixedClock
from app.settings import get_settings
from app.web.page_cache import PageCache
from tests.api.support import NO_NOTICE, PASSWORD, World, approve_rating, ok
from tests.web.support import web_login

PAGE = "/me?year=2025"


def cache_of(client: TestClient) -> PageCache:
    cache: PageCache = client.app.state.page_cache  # type: ignore[attr-defined]
    return cache


def look(client: TestClient, path: str = PAGE) -> tuple[str, bool]:
    """The page's text, and whether it was made afresh (not answered from the cache)."""
    cache = cache_of(client)
    hits = cache.hits
    page = client.get(path, follow_redirects=False)
    assert page.status_code == 200, page.text
    return page.text, cache.hits == hits


def score_on(page: str) -> int:
    match = re.search(r'class="big score-number">(\d+)<', page)
    assert match, "no score on the page"
    return int(match.group(1))


def badge(page: str, quarter: int) -> str:
    match = re.search(rf'<li data-quarter="{quarter}">.*?class="badge badge-(\w+)"', page, re.S)
    assert match, f"no quarter {quarter}"
    return match.group(1)


def test_a_page_seen_again_is_answered_from_the_cache(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-10", quantity=3)
    web_login(client, "a1")
    first, fresh = look(client)
    assert fresh and score_on(first) == 6
    answer = client.get(PAGE)
    assert answer.text == first
    assert cache_of(client).hits >= 1
    # Stored compressed and sent as it is; the browser may keep it but must ask again.
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["cache-control"] == "private, no-cache"
    assert "Accept-Encoding" in answer.headers["vary"] and "HX-Request" in answer.headers["vary"]
    etag = answer.headers["etag"]
    assert etag.startswith('W/"')
    # A phone that has the page gets 304 and no body: nothing sent again on a slow network.
    again = client.get(PAGE, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    # A client that takes no gzip gets the same page uncompressed.
    plain = client.get(PAGE, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == first
    # A change: the old ETag no longer matches, the new page comes whole.
    world.entry("sec_a", "a1", "P01", "2025-02-11", quantity=1)
    changed = client.get(PAGE, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and score_on(changed.text) == 8
    assert changed.headers["etag"] != etag


def test_every_change_to_the_branch_is_on_the_next_page(world: World, client: TestClient,
                                                       clock: FixedClock) -> None:
    web_login(client, "a1")
    a1, branch = world.members["a1"], world.branch_a
    look(client)

    def step(change: Callable[[], Any], check: Callable[[str], bool] | None = None) -> str:
        change()
        page, fresh = look(client)
        assert fresh, f"{change.__name__}: the kept page was answered after the change"
        assert check is None or check(page), change.__name__
        assert look(client) == (page, False), f"{change.__name__}: not kept afterwards"
        return page

    recorded: dict[str, int] = {}

    def record() -> None:
        recorded["p01"] = world.entry("sec_a", "a1", "P01", "2025-02-10", quantity=3)["id"]

    step(record, lambda p: score_on(p) == 6)

    def self_report() -> None:
        recorded["p03"] = world.entry("a1", "a1", "P03", "2025-02-12")["id"]

    step(self_report, lambda p: "有1条申报正在等待支委审核" in p)

    def approve() -> None:
        ok(world.post("sec_a", f"/entries/{recorded['p03']}/approve"))

    step(approve, lambda p: "等待支委审核" not in p and score_on(p) > 6)
    with_p03 = score_on(look(client)[0])

    def reject() -> None:
        pending = world.entry("a1", "a1", "P03", "2025-02-13")["id"]
        ok(world.post("sec_a", f"/entries/{pending}/reject", {"reason": "没有记录"}))

    step(reject, lambda p: "等待支委审核" not in p and score_on(p) == with_p03)

    def revoke() -> None:
        ok(world.post("sec_a", f"/entries/{recorded['p01']}/revoke", {"reason": "记错了人"}))

    step(revoke, lambda p: score_on(p) == with_p03 - 6)

    # The quarter's review, as the member sees it move.
    def create_review() -> None:
        recorded["q1"] = ok(world.post("sec_a", f"/orgs/{branch}/reviews",
                                       {"year": 2025, "quarter": 1}), 201)["id"]

    step(create_review, lambda p: badge(p, 1) == "draft")
    q1 = recorded["q1"]
    step(lambda: ok(world.put("sec_a", f"/reviews/{q1}/scores", {"scores": {str(a1): 3}})))

    def publish() -> None:
        ok(world.post("sec_a", f"/reviews/{q1}/publish", NO_NOTICE))

    step(publish, lambda p: badge(p, 1) == "published" and ">3/5<" in p)

    def object_() -> None:
        recorded["objection"] = ok(world.post("a1", f"/reviews/{q1}/objections",
                                              {"text": "评议分偏低"}), 201)["id"]

    step(object_)
    step(lambda: ok(world.post("sec_a", f"/objections/{recorded['objection']}/resolve",
                               {"response": "已复核"})))
    step(lambda: ok(world.post("sec_a", f"/reviews/{q1}/reopen")),
         lambda p: badge(p, 1) == "draft")
    step(publish, lambda p: badge(p, 1) == "published")
    step(lambda: ok(world.post("sec_a", f"/reviews/{q1}/finalize")),
         lambda p: badge(p, 1) == "finalized")

    # The annual rating: made, then approved.
    for quarter in (2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{branch}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))

    def rate() -> None:
        recorded["rating"] = ok(world.post("sec_a", f"/orgs/{branch}/ratings",
                                           {"year": 2025}), 201)["id"]

    step(rate, lambda p: "暂定分数" in p)
    step(lambda: approve_rating(world, recorded["rating"]),
         lambda p: "年度等次" in p and "暂定分数" not in p)

    # The member's record and roles, changed by an admin.
    step(lambda: ok(world.patch("admin", f"/members/{a1}", {"name": "王改名"})),
         lambda p: "王改名" in p)
    step(lambda: ok(world.post("admin", f"/orgs/{branch}/committee", {"member_id": a1}), 201),
         lambda p: 'href="/committee"' in p)
    step(lambda: world.client.delete(f"/api/v1/orgs/{branch}/committee/{a1}",
                                     headers=world.as_("admin")),
         lambda p: 'href="/committee"' not in p)

    # Another branch's work leaves this page as it was kept.
    world.entry("sec_b", "b1", "P01", "2025-02-10")
    assert look(client)[1] is False


def test_a_rule_change_is_on_the_next_page(world: World, client: TestClient) -> None:
    web_login(client, "a1")
    look(client, "/me?year=2026")
    assert look(client, "/me?year=2026")[1] is False
    ok(world.put("admin", "/rules/P01", {"points": 3}, year=2026))
    assert look(client, "/me?year=2026")[1] is True


def test_a_year_without_rules_of_its_own_follows_the_year_it_reads_as(
        world: World, client: TestClient) -> None:
    # 2026 has no rule set: its page is made with the rules it would start from, 2025's.
    ok(world.put("admin", "/rules/P01", {"points": 3}, year=2025))
    web_login(client, "a1")
    look(client, "/me?year=2026")
    assert look(client, "/me?year=2026")[1] is False
    ok(world.put("admin", "/rules/P01", {"points": 4}, year=2025))
    assert look(client, "/me?year=2026")[1] is True
    # Its first entry stores 2026's own rule set: a new revision, a new page.
    assert look(client, "/me?year=2026")[1] is False
    world.entry("sec_b", "b1", "P01", "2026-01-05")  # another branch: only the rules move
    assert look(client, "/me?year=2026")[1] is True


def test_a_kept_page_needs_the_same_login(world: World, client: TestClient,
                                          clock: FixedClock) -> None:
    """A password change or an expired session ends the login, kept page or not."""
    world.entry("sec_a", "a1", "P01", "2025-02-10")
    web_login(client, "a1")
    look(client)
    assert look(client)[1] is False
    ok(world.post("a1", "/auth/password", {"current_password": PASSWORD,
                                           "new_password": "Another-long-pass-2026"}))
    gone = client.get(PAGE, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")

    web_login(client, "a2")
    look(client)
    assert look(client)[1] is False
    clock.advance(minutes=get_settings().token_ttl_minutes + 1)
    expired = client.get(PAGE, follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")


def test_each_session_language_and_fragment_has_its_own_page(world: World,
                                                             client: TestClient) -> None:
    token = web_login(client, "a1")
    chinese, _ = look(client)
    fragment = client.get(PAGE, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "<html" in chinese
    answer = client.post("/language", data={"language": "en", "next": "/",
                                            "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    english, fresh = look(client)
    assert fresh and "My score" in english and "我的积分" not in english
    # Another session of the same member: its own CSRF token, so its own page.
    other = TestClient(client.app)
    other.cookies.clear()
    with other:
        web_login(other, "a1")
        page = other.get(PAGE)
        token_here = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token_here and token_here.group(1) not in chinese


def test_a_message_shown_once_is_not_kept(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    look(client, "/me")
    answer = client.post("/me/report", data={"rule_code": "P01", "occurred_on": "2026-01-05",
                                             "quantity": "1", "csrf_token": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    with_message = client.get(answer.headers["location"])
    assert 'class="flash' in with_message.text
    after, _ = look(client, "/me")
    assert 'class="flash' not in after


@pytest.mark.parametrize("size", [0, 1])
def test_the_cache_keeps_at_most_its_size(world: World, client: TestClient, size: int) -> None:
    client.app.state.page_cache = PageCache(size)  # type: ignore[attr-defined]
    web_login(client, "a1")
    first, _ = look(client, "/me?year=2025")
    look(client, "/me?year=2026")
    page, fresh = look(client, "/me?year=2025")
    # 0 keeps nothing; 1 keeps only the latest page (2026), so 2025 is made again.
    assert fresh and page == first
    assert len(cache_of(client)) == size
    assert look(client, "/me?year=2025")[1] is (size == 0)
