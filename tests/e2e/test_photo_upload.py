"""A photo on a slow phone (issue 17): the browser shrinks it before sending (long side ≤ 1600
px, JPEG, upright), sends a small one unchanged, shows how far the upload has got (at 400
kbps, throttled through the DevTools protocol), says so when the network fails and keeps
what was typed; without JavaScript the form sends the photo as it is and the server shrinks
it. Screenshots mid-upload, in Chinese and in English."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect

from app.services import evidence
from app.services import uploads as uploads_service
from tests.e2e.support import PASSWORD, Phones, World, settled, shoot
from tests.e2e.test_ballot_phone import accessible, fits

NOTE = "1月9日下午在党员活动室参加集中学习"
ORIENTATION = 0x0112
KB = 1024
# The phone: 400 kbps each way, a tenth of a second away.
SLOW = {"offline": False, "latency": 100, "downloadThroughput": 50_000,
        "uploadThroughput": 50_000}


def camera_photo(path: Path, size: tuple[int, int] = (4000, 3000),
                 orientation: int | None = None) -> Path:
    """A phone camera's JPEG: 12 MP with grain (about 3 MB), maybe stored sideways with an
    EXIF orientation that turns it upright."""
    width, height = size
    ramp = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", [ramp, ramp.transpose(Image.Transpose.ROTATE_180),
                                Image.new("L", size, 120)])
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 5, height // 3, width // 2, height - 60], fill=(180, 30, 30))
    draw.ellipse([width // 2, height // 6, width - 80, height // 2], fill=(240, 200, 60))
    grain = Image.effect_noise(size, 40)
    image = Image.blend(image, Image.merge("RGB", [grain] * 3), 0.2)
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION] = orientation
    image.save(path, "JPEG", quality=85, exif=exif.tobytes())
    return path


def colour_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    """The average colour of the 40×40 square around (x, y): the grain averaged out."""
    square = image.convert("RGB").crop((x - 20, y - 20, x + 20, y + 20)).resize((1, 1))
    colour: tuple[int, ...] = square.getpixel((0, 0))  # type: ignore[assignment]
    return colour


def small_png(path: Path) -> Path:
    image = Image.new("RGB", (800, 600), (230, 240, 250))
    ImageDraw.Draw(image).rectangle([100, 100, 500, 400], fill=(163, 21, 21))
    image.save(path, "PNG")
    return path


class Received(list[bytes]):
    """The photos as the server received them (before it decodes one), in order."""

    # Seconds the server takes over each beyond decoding it: what the member sees between
    # the upload's end and the next page, made long enough to be seen.
    delay = 0.0


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Iterator[Received]:
    seen = Received()
    prepare = evidence.prepare_photo_async

    async def spy(source: BinaryIO, max_bytes: int) -> Any:
        # The self-report page decodes its photo ahead, from the event loop (issue 20).
        seen.append(source.read())
        source.seek(0)
        await asyncio.sleep(seen.delay)
        return await prepare(source, max_bytes)

    monkeypatch.setattr(uploads_service, "prepare_photo_async", spy)
    yield seen


def open_form(page: Page) -> None:
    page.goto("/me/report")
    page.get_by_text("参加集中学习", exact=True).click()
    page.get_by_label("4. 说明").fill(NOTE)


def sent(page: Page) -> str:
    """Wait for the entries page; the id of the new entry (the one with the note)."""
    expect(page).to_have_url(re.compile(r"/me/entries$"), timeout=30_000)
    row = page.locator("li.entry", has_text=NOTE)
    expect(row).to_have_count(1)
    entry = row.get_attribute("data-entry")
    assert entry
    return entry


def stored(page: Page, entry: str) -> Image.Image:
    """The photo the server keeps for the entry, as it serves it back."""
    answer = page.request.get(f"/evidence/{entry}")
    assert answer.status == 200, answer.status
    image = Image.open(BytesIO(answer.body()))
    image.load()
    return image


def shrunk(page: Page) -> int | None:
    """Wait until the browser is done with the album input's photo; the size of the smaller
    one it will send (None: it sends the photo as it is)."""
    album = page.locator("input[type=file]").nth(1)
    album.evaluate("input => new Promise(done => (function wait() {"
                   " input.files.length && !input.shrinking ? done() : setTimeout(wait, 50)"
                   " })())")
    size: int | None = album.evaluate("input => input.shrunk ? input.shrunk.size : null")
    return size


# Browsers the tests stand in for, by changing what Chromium offers before the page loads.
NO_DATA_TRANSFER = "window.DataTransfer = undefined"  # iOS Safari before 14.1
BEFORE_2020 = """(() => { const supports = CSS.supports.bind(CSS);
    CSS.supports = (...args) => args[0] === 'image-orientation' ? false : supports(...args);
})()"""  # decoding does not turn photos upright (Chrome before 81)
SLOW_DECODING = """(() => { const decode = window.createImageBitmap;
    window.createImageBitmap = (...args) =>
        new Promise(later => setTimeout(later, 1500)).then(() => decode(...args));
})()"""  # a cheap phone, busy


@pytest.mark.parametrize("browser_has", ["DataTransfer", "no DataTransfer"])
def test_a_big_photo_is_shrunk_upright_before_it_is_sent(
        world: World, phones: Phones, received: Received, tmp_path: Path,
        browser_has: str) -> None:
    # 4000×3000 stored sideways; EXIF orientation 6 turns it into a portrait 3000×4000.
    photo = camera_photo(tmp_path / "IMG_20260109.jpg", orientation=6)
    assert photo.stat().st_size > 2000 * KB
    page = phones.login("a1")
    if browser_has == "no DataTransfer":  # the smaller photo goes into htmx's form data
        page.add_init_script(NO_DATA_TRANSFER)
    open_form(page)
    album = page.get_by_label("或者从手机相册里选")
    album.set_input_files(photo)
    assert (shrunk(page) or 0) < 600 * KB
    # Where it can, the browser puts the smaller photo into the input, under the same name.
    held = album.evaluate("i => [i.files[0].name, i.files[0].size]")
    assert held[0] == "IMG_20260109.jpg"
    assert (held[1] < 600 * KB) == (browser_has == "DataTransfer"), held
    page.get_by_role("button", name="提交申报").click()
    entry = sent(page)

    # What went over the network: a JPEG at most 1600 px long, upright, no EXIF left.
    assert len(received) == 1
    body = received[0]
    assert len(body) < 600 * KB, len(body)
    sent_image = Image.open(BytesIO(body))
    assert sent_image.format == "JPEG"
    assert sent_image.size == (1200, 1600)
    assert sent_image.getexif().get(ORIENTATION, 1) == 1
    # Turned the right way (clockwise): the red block is now upper left, the yellow sun
    # lower right (turned the other way, they would be lower right and upper left).
    red, sun = colour_at(sent_image, 400, 560), colour_at(sent_image, 800, 1184)
    assert red[0] > red[1] + 80 and red[0] > red[2] + 80, red
    assert sun[0] > 180 and sun[1] > 150 and sun[2] < 120, sun
    # And what the server keeps: a JPEG, no longer side over 1600 px, still a portrait.
    kept = stored(page, entry)
    assert kept.format == "JPEG" and max(kept.size) <= 1600 and kept.height > kept.width


def test_a_small_png_is_sent_unchanged(world: World, phones: Phones, received: Received,
                                       tmp_path: Path) -> None:
    photo = small_png(tmp_path / "截图.png")
    assert photo.stat().st_size < 300 * KB
    page = phones.login("a1")
    open_form(page)
    page.get_by_label("或者从手机相册里选").set_input_files(photo)
    page.get_by_role("button", name="提交申报").click()
    entry = sent(page)
    assert received == [photo.read_bytes()]
    kept = stored(page, entry)
    assert kept.format == "JPEG" and kept.size == (800, 600)


@pytest.mark.parametrize(("orientation", "redrawn"), [(6, False), (1, True), (None, True)])
def test_a_browser_that_does_not_turn_photos_upright_redraws_only_upright_ones(
        world: World, phones: Phones, received: Received, tmp_path: Path,
        orientation: int | None, redrawn: bool) -> None:
    """Its EXIF orientation read by the script: a sideways photo goes as it is (the server
    turns it), an upright one is shrunk."""
    photo = camera_photo(tmp_path / "IMG_20260109.jpg", orientation=orientation)
    page = phones.login("a1")
    page.add_init_script(BEFORE_2020)
    open_form(page)
    page.get_by_label("或者从手机相册里选").set_input_files(photo)
    assert (shrunk(page) is not None) == redrawn
    page.get_by_role("button", name="提交申报").click()
    entry = sent(page)
    assert (received[0] != photo.read_bytes()) == redrawn
    assert Image.open(BytesIO(received[0])).size == ((1600, 1200) if redrawn else (4000, 3000))
    kept = stored(page, entry)
    assert kept.size == ((1200, 1600) if orientation == 6 else (1600, 1200))


def test_a_tap_before_the_photo_is_shrunk_waits_for_it(
        world: World, phones: Phones, received: Received, tmp_path: Path) -> None:
    page = phones.login("a1")
    page.add_init_script(SLOW_DECODING)
    open_form(page)
    page.get_by_label("或者从手机相册里选").set_input_files(
        camera_photo(tmp_path / "IMG_20260109.jpg"))
    button = page.get_by_role("button", name="提交申报")
    button.click()
    expect(page.locator("[data-upload-text]")).to_have_text("正在压缩照片，请稍等…")
    expect(page.locator("[data-upload-said]")).to_have_text("正在压缩照片，请稍等…")
    button.click()  # tapped again while waiting: still one report
    sent(page)
    assert len(received) == 1 and len(received[0]) < 600 * KB


def test_a_file_the_browser_cannot_read_goes_as_it_is_and_the_server_says_why(
        world: World, phones: Phones, received: Received, tmp_path: Path) -> None:
    fake = tmp_path / "照片.jpg"
    fake.write_bytes(b"not a photo at all " * 30_000)
    page = phones.login("a1")
    open_form(page)
    page.get_by_label("或者从手机相册里选").set_input_files(fake)
    assert shrunk(page) is None
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator("#report-error")).to_contain_text("这个文件不是照片")
    assert received == [fake.read_bytes()]
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    expect(page.locator("#report-sending")).to_be_hidden()
    expect(page.get_by_label("4. 说明")).to_have_value(NOTE)


def throttle(page: Page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW)


PROGRESS = ("() => { const box = document.querySelector('[data-upload-progress]');"
            " const bar = box && box.querySelector('progress');"
            " return box && !box.hidden && bar.value >= 10 && bar.value <= 90 }")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_upload_shows_its_progress_on_a_slow_network(
        world: World, phones: Phones, received: Received, tmp_path: Path, shots: Path,
        language: str) -> None:
    received.delay = 1.5
    page = phones.login("a1")
    if language == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/me/report")
    page.locator("input[name=rule_code][value=P01]").check()
    page.locator("textarea[name=note]").fill(NOTE)
    page.locator("input[type=file]").nth(1).set_input_files(
        camera_photo(tmp_path / "IMG_20260109.jpg"))
    shrunk(page)
    throttle(page)
    box = page.locator("[data-upload-progress]")
    expect(box).to_be_hidden()
    page.locator("button[type=submit]").click()

    # Mid-upload: the bar and the percentage, readable, on the phone's width.
    page.wait_for_function(PROGRESS, timeout=20_000)
    text = box.locator("[data-upload-text]")
    pattern = r"^正在上传 \d{1,2}%$" if language == "zh" else r"\d{1,2}%"
    expect(text).to_have_text(re.compile(pattern))
    size = text.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 20, size
    assert box.locator("progress").bounding_box()["height"] >= 18  # type: ignore[index]
    # The plain "正在提交…" line gives way to the bar; screen readers hear the quarters.
    expect(page.locator("#report-sending")).to_be_hidden()
    said = page.locator("[data-upload-said]")
    expect(said).to_have_attribute("role", "status")
    expect(said).to_have_text(re.compile(r"\d+%"))
    assert int(re.findall(r"(\d+)%", said.inner_text())[0]) % 25 == 0
    expect(page.locator("button[type=submit]")).to_be_disabled()
    found = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert found <= 360, found
    page.locator("button[type=submit]").scroll_into_view_if_needed()
    shoot(page, shots, "29-upload-progress" + ("-en.png" if language == "en" else ".png"))

    # Sent: the server's turn, then the entries page.
    expect(box.locator("progress")).to_have_attribute("value", "100", timeout=30_000)
    if language == "zh":
        expect(text).to_have_text("照片已送到，正在保存…")
    else:
        expect(text).not_to_have_text(re.compile(r"\d%"))
    expect(page).to_have_url(re.compile(r"/me/entries$"), timeout=30_000)
    assert len(received) == 1 and len(received[0]) < 600 * KB


def test_a_network_failure_is_said_and_the_form_can_be_sent_again(
        world: World, phones: Phones, received: Received, tmp_path: Path,
        shots: Path) -> None:
    page = phones.login("a1")
    open_form(page)
    page.get_by_label("或者从手机相册里选").set_input_files(
        camera_photo(tmp_path / "IMG_20260109.jpg"))
    shrunk(page)
    page.route("**/me/report", lambda route: route.abort("internetdisconnected")
               if route.request.method == "POST" else route.fallback())
    page.get_by_role("button", name="提交申报").click()

    error = page.locator("#report-error [role=alert]")
    expect(error).to_contain_text("网络不通，申报没有送出去")
    expect(error).to_contain_text("提交申报")
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    expect(page.get_by_role("button", name="提交申报")).to_be_enabled()
    # Nothing typed or picked is lost.
    expect(page).to_have_url(re.compile(r"/me/report$"))
    expect(page.get_by_label("4. 说明")).to_have_value(NOTE)
    expect(page.locator("input[name=rule_code][value=P01]")).to_be_checked()
    assert page.locator("input[type=file]").nth(1).evaluate("i => i.files.length") == 1
    assert received == []
    fits(page, member=True)
    accessible(page)
    error.scroll_into_view_if_needed()
    shoot(page, shots, "29-upload-failed.png")

    # The network is back: the same tap sends it all.
    page.unroute("**/me/report")
    page.get_by_role("button", name="提交申报").click()
    entry = sent(page)
    assert len(received) == 1 and len(received[0]) < 600 * KB
    assert max(stored(page, entry).size) == 1600


def test_offline_is_said_before_anything_is_sent(world: World, phones: Phones,
                                                 received: Received) -> None:
    page = phones.login("a1")
    open_form(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="提交申报").click()
    expect(page.locator("#report-error [role=alert]")).to_contain_text("网络不通")
    page.context.set_offline(False)
    page.get_by_role("button", name="提交申报").click()
    sent(page)
    assert received == []  # no photo with this one


def test_without_javascript_the_photo_is_sent_as_it_is_and_shrunk_by_the_server(
        world: World, browser: Browser, browser_context_args: dict[str, Any],
        received: Received, tmp_path: Path) -> None:
    people = Phones(browser, {**browser_context_args, "java_script_enabled": False}, PASSWORD)
    try:
        page = people.login("a1")
        open_form(page)
        photo = camera_photo(tmp_path / "IMG_20260109.jpg", orientation=6)
        page.get_by_label("或者从手机相册里选").set_input_files(photo)
        page.get_by_role("button", name="提交申报").click()
        entry = sent(page)
        assert received == [photo.read_bytes()]
        kept = stored(page, entry)
        assert kept.format == "JPEG" and kept.size == (1200, 1600)
    finally:
        people.close()
    assert not people.watch.problems(), people.watch.problems()


def test_the_report_page_loads_in_under_60_kb(world: World, phones: Phones) -> None:
    """The first load of the form, script included, as sent (gzip) to a fresh browser."""
    signed_in = phones.login("a1")
    page = phones.open()  # nothing cached: only the session cookie comes along
    page.context.add_cookies(signed_in.context.cookies())  # type: ignore[arg-type]
    page.goto("/me/report")
    settled(page)
    scripts = page.evaluate("() => [...document.scripts].map(s => [s.src, s.defer])")
    assert [s for s in scripts if s[0].endswith("/static/photo-upload.js")] == [
        [page.url.split("/me/")[0] + "/static/photo-upload.js", True]]
    total = page.evaluate("""() => performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((sum, e) => sum + e.transferSize, 0)""")
    assert 20 * KB < total <= 60 * KB, total  # (htmx alone is 17 KB)
    # Pages without a photo input do not load it.
    page.goto("/me")
    assert "photo-upload.js" not in page.content()


def test_the_progress_box_is_quiet_until_a_photo_is_sent(world: World, phones: Phones) -> None:
    page = phones.login("a1")
    open_form(page)
    expect(page.locator("[data-upload-progress]")).to_be_hidden()
    expect(page.locator("[data-upload-said]")).to_have_text("")
    fits(page, member=True)
    accessible(page)
    # Without a photo it is the plain "正在提交…" line, and the form is sent as before.
    page.get_by_role("button", name="提交申报").click()
    sent(page)
