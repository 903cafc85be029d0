"""The pages of a step taken early (issue 17): before the quarter or year has ended, or with a
notice below the year's minimum, the page says so before the button and asks for a reason;
a missing reason is refused in the form with what was typed kept; 发布公示 asks once, saying
how long the notice runs and until when; the reason is shown afterwards.

The clock stands at 2026-01-10 10:00 in Beijing: 2025 has ended, 2026 Q1 runs to 31 March.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok
from tests.api.test_ratings_early import closed_rating
from tests.web.support import form_post, web_login

FINALIZE_EARLY = ("第一季度到3月31日才结束。现在确认，本季度剩下的日子就不能再记积分了。"
                  "如确需提前，请写明理由。")
PUBLISH_EARLY = ("第一季度到3月31日才结束。现在发布公示，季度结束前还可能有新的积分记录。"
                 "如确需提前，请写明理由。")


def text_of(html: str) -> str:
    """The words a person reads: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def panel(html: str, element_id: str = "review-actions") -> str:
    start = html.rindex("<", 0, html.index(f'id="{element_id}"'))
    return html[start:html.index("</section>", start)]


def review(world: World, year: int, quarter: int) -> str:
    review_id = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                              {"year": year, "quarter": quarter}), 201)["id"]
    return f"/committee/reviews/{review_id}"


def status(world: World, url: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(world.get("sec_a", url.removeprefix("/committee")))
    return answer


def test_publishing_early_warns_asks_for_a_reason_and_asks_once(world: World,
                                                               client: TestClient) -> None:
    url = review(world, 2026, 1)
    token = web_login(client, "sec_a")
    shown = panel(client.get(url).text)
    assert PUBLISH_EARLY in text_of(shown)
    assert re.search(r'<textarea name="reason"[^>]*required', shown)
    assert "公示不少于5天；少于5天须写明理由。" in shown
    assert "hx-confirm" not in shown  # the page asks itself, with or without JavaScript

    # No reason: refused in the form, the days typed kept, the warning read out.
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "7", "reason": "  "})
    assert refused.status_code == 422
    shown = panel(refused.text)
    assert 'value="7"' in shown and 'role="alert"' in shown and PUBLISH_EARLY in text_of(shown)
    assert re.search(r'<textarea name="reason"[^>]*aria-invalid="true"', shown)
    # Too long: said so, and every character typed is still there.
    long = "长" * 501
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "7", "reason": long})
    assert refused.status_code == 422
    shown = panel(refused.text)
    assert "原因太长了，请不超过500字。" in shown and f">{long}</textarea>" in shown

    # With a reason: asked once, with the days and the end of the notice; nothing published.
    asked = form_post(client, f"{url}/publish", token, {"notice_days": "7", "reason": "换届"})
    assert asked.status_code == 200
    shown = panel(asked.text)
    assert "公示 7 天，至 2026-01-17 10:00；公示期间党员可提出异议。" in text_of(shown)
    assert "理由：换届" in text_of(shown) and 'name="reason" value="换届"' in shown
    assert status(world, url)["status"] == "draft"
    # 返回修改: the form again, as it was typed.
    back = form_post(client, f"{url}/publish", token,
                     {"notice_days": "7", "reason": "换届", "step": "edit"})
    shown = panel(back.text)
    assert 'value="7"' in shown and ">换届</textarea>" in shown
    done = form_post(client, f"{url}/publish", token,
                     {"notice_days": "7", "reason": "换届", "step": "confirm"})
    assert (done.status_code, done.headers["location"]) == (303, url)
    assert status(world, url)["publish_reason"] == "换届"
    assert "提前发布公示理由：换届" in text_of(client.get(url).text)


def test_htmx_gets_the_panel_back_in_place(world: World, client: TestClient) -> None:
    url = review(world, 2026, 1)
    token = web_login(client, "sec_a")
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "6"}, htmx=True)
    assert refused.status_code == 422 and "<html" not in refused.text
    assert refused.text.lstrip().startswith('<section id="review-actions"')
    assert 'value="6"' in refused.text and PUBLISH_EARLY in text_of(refused.text)
    asked = form_post(client, f"{url}/publish", token, {"notice_days": "6", "reason": "换届"},
                      htmx=True)
    assert asked.status_code == 200 and "公示 6 天，至 2026-01-16 10:00" in asked.text
    done = form_post(client, f"{url}/publish", token,
                     {"notice_days": "6", "reason": "换届", "step": "confirm"}, htmx=True)
    assert (done.status_code, done.headers["HX-Redirect"]) == (204, url)


def test_a_short_notice_after_the_quarter_needs_a_reason_too(world: World,
                                                            client: TestClient) -> None:
    url = review(world, 2025, 4)
    token = web_login(client, "sec_a")
    shown = panel(client.get(url).text)
    assert "请写明理由" not in shown and 'name="reason"' not in shown  # ended, 5 days
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "2"})
    assert refused.status_code == 422
    shown = panel(refused.text)
    assert ("公示2天，少于本年度规定的最短公示期5天。如确需缩短公示期，请写明理由。"
            in text_of(shown))
    assert 'value="2"' in shown and re.search(r'<textarea name="reason"[^>]*required', shown)
    # A number out of range: said so in the form, as typed, and no talk of -1 days.
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "-1"})
    shown = panel(refused.text)
    assert refused.status_code == 422 and "公示天数须为0到60之间的整数。" in shown
    assert 'value="-1"' in shown and "公示-1天" not in shown
    assert re.search(r'name="notice_days"[^>]*aria-invalid="true"', shown)
    asked = form_post(client, f"{url}/publish", token, {"notice_days": "5"})
    assert "公示 5 天，至 2026-01-15 10:00；公示期间党员可提出异议。" in text_of(asked.text)


def test_finalizing_early_warns_and_keeps_what_was_typed(world: World,
                                                         client: TestClient) -> None:
    url = review(world, 2026, 1)
    ok(world.post("sec_a", f"{url.removeprefix('/committee')}/publish", NO_NOTICE))
    token = web_login(client, "sec_a")
    shown = panel(client.get(url).text)
    assert "可以确认" in shown and FINALIZE_EARLY in text_of(shown)
    assert re.search(r'<textarea name="reason"[^>]*required', shown)
    assert "确认后本季度锁定，不能再修改。现在确认吗？" in shown  # the confirmation, as before
    assert "提前发布公示理由：" + EARLY_REASON in text_of(client.get(url).text)

    refused = form_post(client, f"{url}/finalize", token, {"reason": " "})
    assert refused.status_code == 422 and 'role="alert"' in panel(refused.text)
    long = "长" * 501
    refused = form_post(client, f"{url}/finalize", token, {"reason": long})
    assert refused.status_code == 422 and f">{long}</textarea>" in panel(refused.text)
    assert status(world, url)["status"] == "published"
    done = form_post(client, f"{url}/finalize", token, {"reason": "年初集中学习后确认"})
    assert done.status_code == 303
    page = text_of(client.get(url).text)
    assert "提前确认理由：年初集中学习后确认" in page and "已确认" in page


def test_the_rating_steps_warn_before_the_year_ends(world: World, client: TestClient) -> None:
    rating = closed_rating(world, 2026)
    url = f"/committee/ratings/{rating}"
    token = web_login(client, "sec_a")
    notice = panel(client.get(url).text, "step-notice")
    assert ("2026年到12月31日才结束。现在公示，年度结束前本支部党员就会看到评定结果。"
            "如确需提前，请写明理由。") in text_of(notice)
    refused = form_post(client, f"{url}/publish", token, {"notice_days": "5"})
    assert refused.status_code == 422 and 'value="5"' in panel(refused.text, "step-notice")
    asked = form_post(client, f"{url}/publish", token, {"notice_days": "5", "reason": "换届"})
    assert "公示 5 天，至 2026-10-10 10:00；公示期间党员可提出异议。" in text_of(asked.text)
    done = form_post(client, f"{url}/publish", token,
                     {"notice_days": "5", "reason": "换届", "step": "confirm"})
    assert done.status_code == 303
    world.clock.advance(days=6)
    token = web_login(client, "sec_a")
    submit = text_of(panel(client.get(url).text, "step-submit"))
    assert ("2026年到12月31日才结束。现在上报，年度结束前就交上级党委审批。"
            "如确需提前，请写明理由。") in submit
    refused = form_post(client, f"{url}/submit", token, {"reason": ""})
    assert refused.status_code == 422
    assert ok(world.get("sec_a", f"/ratings/{rating}"))["status"] == "published"
    done = form_post(client, f"{url}/submit", token, {"reason": "党委要求年内报齐"})
    assert done.status_code == 303
    page = text_of(client.get(url).text)
    assert "提前发布公示理由：换届" in page and "提前上报理由：党委要求年内报齐" in page
