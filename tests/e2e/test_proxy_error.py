"""nginx answering for the app (issue 19): while no app server answers, nginx sends its own
502/503/504 page. Sent by htmx, that page is never put into the form (static/htmx-guard.js
swaps only answers marked by the app): the form keeps what was typed and the photo chosen,
and says, in the member's language, that nothing was saved and to send it again. Sent
again, it is saved once, even when the first send was saved and only its answer was lost
(the form's one-time key, app/web/once.py). Screenshots of the message, in Chinese and in
English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import Phones, World, jpeg, settled, shoot
from tests.e2e.test_ballot_phone import accessible, english, fits

NOTE = "1月9日下午在党员活动室参加集中学习"
# What nginx sends itself when no upstream answers (its built-in page, as on Debian).
NGINX = ("<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}"
         "</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")
BAD_GATEWAY = "502 Bad Gateway"


def nginx_answers(status: int, marked: bool = False, reach_app: bool = False
                  ) -> Callable[[Any], None]:
    """A route handler: POSTs answered by "nginx" with its own page (marked
    X-Jifen-Unavailable as the deployment's error_page is, or not: nginx's built-in page);
    with `reach_app`, the app gets the request first and its answer is lost."""
    words = {502: BAD_GATEWAY, 503: "503 Service Temporarily Unavailable",
             504: "504 Gateway Time-out"}[status]

    def handle(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        if reach_app:
            # Saved by the app; its answer never reaches the phone. (Without a photo: the
            # request Playwright hands on has no bytes of a file the page picked.)
            assert route.fetch().status == 204
        headers = {"Server": "nginx/1.22.1"} | ({"X-Jifen-Unavailable": "1"} if marked else {})
        route.fulfill(status=status, headers=headers, content_type="text/html",
                      body=NGINX.format(status=words))
    return handle


def expected_errors(phones: Phones, status: int, path: str) -> None:
    """The proxy errors the test made are not the app's: taken off the watch's list."""
    made = [e for e in phones.watch.server_errors if e.endswith(f"{path} {status}")]
    assert made, phones.watch.server_errors
    for error in made:
        phones.watch.server_errors.remove(error)


def open_report(page: Page, photo: Path | None) -> None:
    page.goto("/me/report")
    page.get_by_text("参加集中学习", exact=True).click()
    page.get_by_label("4. 说明").fill(NOTE)
    if photo is not None:
        page.get_by_label("或者从手机相册里选").set_input_files(photo)


def kept(page: Page, photos: int = 1) -> None:
    """Nothing swapped: the form as typed, the photo still chosen, no nginx page anywhere."""
    expect(page).to_have_url(re.compile(r"/me/report$"))
    expect(page.get_by_label("4. 说明")).to_have_value(NOTE)
    expect(page.locator("input[name=rule_code][value=P01]")).to_be_checked()
    assert page.locator("input[type=file]").nth(1).evaluate("i => i.files.length") == photos
    expect(page.get_by_text("nginx")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("提交申报|Send report"))).to_be_enabled()


def reports(world: World) -> list[Any]:
    found = world.call.get("a1", "/entries", member_id=world.members["a1"], year=2026)
    return [e for e in found["items"] if e["note"] == NOTE]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_proxy_error_keeps_the_form_and_sending_again_saves_it_once(
        world: World, phones: Phones, tmp_path: Path, shots: Path, status: int) -> None:
    page = phones.login("a1")
    open_report(page, jpeg(tmp_path / "IMG_20260109.jpg"))
    page.route("**/me/report", nginx_answers(status, marked=status == 503))
    page.get_by_role("button", name="提交申报").click()

    error = page.locator("#report-error [role=alert]")
    expect(error).to_have_text("系统暂时无法访问，申报还没有保存。您填写的内容和照片都还在，"
                               "请稍等一会儿再点“提交申报”。")
    expect(page.locator("#report-error > *")).to_have_count(1)
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    kept(page)
    assert reports(world) == []
    expected_errors(phones, status, "/me/report")
    if status == 502:
        fits(page, member=True)
        accessible(page)
        error.scroll_into_view_if_needed()
        shoot(page, shots, "35-proxy-error.png")

    # The app servers are back: the same tap sends it all, once.
    page.unroute("**/me/report")
    page.get_by_role("button", name="提交申报").click()
    expect(page).to_have_url(re.compile(r"/me/entries$"))
    expect(page.locator("#flash")).to_contain_text("已提交，等待支委审核")
    [entry] = reports(world)
    assert entry["evidence"]  # the photo went with it


def test_saved_but_its_answer_lost_is_not_saved_twice(world: World, phones: Phones) -> None:
    """nginx gave up waiting (504) while the app saved the report: the member is told to
    send it again, and doing so saves nothing more; the page says it was received."""
    page = phones.login("a1")
    open_report(page, None)
    page.route("**/me/report", nginx_answers(504, reach_app=True))
    page.get_by_role("button", name="提交申报").click()
    error = page.locator("#report-error [role=alert]")
    expect(error).to_contain_text("系统暂时无法访问，申报还没有保存。")
    kept(page, photos=0)
    assert len(reports(world)) == 1  # it was saved after all
    expected_errors(phones, 504, "/me/report")

    page.unroute("**/me/report")
    page.get_by_role("button", name="提交申报").click()
    expect(page).to_have_url(re.compile(r"/me/entries$"))
    expect(page.locator("#flash")).to_contain_text("这条申报刚才已经提交了，没有重复提交。")
    assert len(reports(world)) == 1


def test_the_message_in_english(world: World, phones: Phones, tmp_path: Path,
                                shots: Path) -> None:
    page = phones.login("a1")
    page.goto("/me/report")
    english(page)
    page.get_by_text("Attend group study", exact=True).click()
    page.get_by_label("4. Details").fill(NOTE)
    page.locator("input[type=file]").nth(1).set_input_files(jpeg(tmp_path / "IMG.jpg"))
    page.route("**/me/report", nginx_answers(502))
    page.get_by_role("button", name="Send report").click()
    error = page.locator("#report-error [role=alert]")
    expect(error).to_have_text("The system cannot be reached just now, so your report was not "
                               "saved yet. What you filled in and your photo are still here: "
                               "wait a moment and tap “Send report” again.")
    expect(page.get_by_label("4. Details")).to_have_value(NOTE)
    expected_errors(phones, 502, "/me/report")
    fits(page, member=True)
    error.scroll_into_view_if_needed()
    shoot(page, shots, "35-proxy-error-en.png")


def test_any_htmx_form_and_link_is_guarded_the_same(world: World, phones: Phones) -> None:
    """The objection form has no place of its own for the message: it is put before its
    button. A page part fetched (hx-get) is not replaced by nginx's page either."""
    review = world.call.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                             {"year": 2025, "quarter": 4}, 201)
    world.call.post("sec_a", f"/reviews/{review['id']}/publish", {"notice_days": 5})
    page = phones.login("a1")
    page.goto(f"/me/results/{review['id']}")
    page.get_by_label(re.compile("不同意见")).fill("我12月参加了志愿服务，评议分偏低")
    path = f"/me/results/{review['id']}/objections"
    page.route(f"**{path}", nginx_answers(503, marked=True))
    page.get_by_role("button", name="提交异议").click()
    said = page.locator("#objections form [data-send-error] [role=alert]")
    expect(said).to_have_text("系统暂时无法访问，刚才提交的内容没有保存。"
                              "您填写的内容还在，请稍等一会儿再提交一次。")
    assert said.evaluate("p => p.parentElement.nextElementSibling.tagName") == "BUTTON"
    expect(page.get_by_label(re.compile("不同意见"))).to_have_value("我12月参加了志愿服务，评议分偏低")
    expected_errors(phones, 503, path)
    page.unroute(f"**{path}")
    page.get_by_role("button", name="提交异议").click()
    expect(page.locator("#objections")).to_contain_text("异议已提交，等待支委答复。")
    expect(page.locator("#objections [data-send-error]")).to_have_count(0)  # a new form

    page.goto("/me")
    settled(page)
    page.route("**/me?year=2025", lambda route: route.fulfill(
        status=502, content_type="text/html", body=NGINX.format(status=BAD_GATEWAY)))
    page.get_by_role("link", name="看2025年").click()
    expect(page.locator("#flash [role=alert]")).to_have_text("系统暂时无法访问，请稍等一会儿再试。")
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年我的积分")
    expect(page.get_by_text("nginx")).to_have_count(0)
    expected_errors(phones, 502, "/me?year=2025")


def test_back_after_saving_brings_an_empty_form_not_the_report_again(
        world: World, phones: Phones) -> None:
    """Saved, then Back: the browser does not put the typed report back into the page it
    reloads (autocomplete off), where a new one-time key would save it a second time."""
    page = phones.login("a1")
    open_report(page, None)
    page.get_by_role("button", name="提交申报").click()
    expect(page).to_have_url(re.compile(r"/me/entries$"))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/me/report$"))
    expect(page.get_by_label("4. 说明")).to_have_value("")
    expect(page.locator("input[name=rule_code]:checked")).to_have_count(0)
    assert len(reports(world)) == 1


def test_a_page_the_browser_kept_while_sending_is_given_its_button_back(
        world: World, phones: Phones) -> None:
    """Back to a page kept in the back/forward cache as it was mid-send: its button is
    enabled again and the "sending" box gone (sent again, its key answers once)."""
    page = phones.login("a1")
    open_report(page, None)
    held: list[Any] = []
    page.route("**/me/report", lambda route: held.append(route) if route.request.method ==
               "POST" else route.fallback())
    button = page.get_by_role("button", name="提交申报")
    button.click()
    expect(button).to_be_disabled()
    expect(page.locator("#report-sending")).to_be_visible()
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(button).to_be_enabled()
    expect(page.locator("#report-sending")).to_be_hidden()
    for route in held:
        route.abort()
