"""First login on a phone (360×740): a 支部书记 imports members, prints their 登录条 (A4, 8 a
sheet), and an imported member logs in with the slip's password, is sent to 设置新密码 from
any page, sets their own and lands on 我的积分. The import's password list is one card per
member on the phone (no name squeezed to a character a line), in Chinese and in English.

Screenshots: 30-login-slips(-en).png (the first A4 sheet as printed; .screen.png the phone),
31-first-login(-en).png (the forced change page).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.e2e.support import PHONE, Phones, World, settled, shoot
from tests.e2e.test_ballot_phone import accessible, chinese, english, fits

HEAD = "姓名,所属支部,类别,入党日期,用户名,初始密码\n"
NEW = "my-own-choice-8"
# 210 × 297 mm at 96 px an inch, and the print's 10 mm margin.
A4 = {"width": 794, "height": 1123}
MARGIN = "38px"


def members_file(tmp_path: Path, prefix: str, count: int) -> Path:
    """`count` members of 第一支部, the last with a password written in the file."""
    rows = [f"{name},第一支部,离退休,1968-07-01,{prefix}{n},"
            for n, name in enumerate(["欧阳建国", "钱玉珍", "张桂兰", "王德明", "刘淑珍",
                                      "陈志强", "杨玉梅", "赵国庆", "黄丽华"][:count - 1])]
    rows.append(f"孙卫东,第一支部,在职,1990-07-01,{prefix}given,given-pass-9")
    path = tmp_path / f"{prefix}.csv"
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def import_members(page: Page, path: Path, count: int) -> None:
    page.goto("/committee/import")
    page.locator("input[type=file]").set_input_files(path)
    page.locator("form[action='/committee/import'] button.primary").click()
    page.locator("form[action='/committee/import/confirm'] button.primary").click()
    expect(page.locator("#import-passwords tbody tr")).to_have_count(count)


def cards_fit(page: Page) -> None:
    """No sideways scroll, and every name on one line of its card."""
    fits(page)
    for name in page.locator("#import-passwords td.cm-card-title strong").all():
        box = name.bounding_box()
        assert box is not None
        line = float(name.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert box["height"] < 1.5 * line, f"{name.inner_text()} wraps: {box}"
        assert box["width"] > 40, f"{name.inner_text()} squeezed: {box}"


def password_of(page: Page, username: str) -> str:
    row = page.locator("#import-passwords tbody tr", has_text=username)
    return row.locator("strong.cm-code").inner_text().strip()


def open_slips(page: Page) -> Page:
    with page.context.expect_page() as opened:
        page.locator("form.cm-slips-form button").click()
    slips = opened.value
    slips.wait_for_load_state()
    return slips


def shoot_a4(slips: Page, shots: Path, name: str) -> None:
    """NAME.screen.png the phone's first screen; NAME.png the first sheet as it prints."""
    fits(slips)
    slips.screenshot(path=str(shots / name.replace(".png", ".screen.png")),
                     animations="disabled")
    slips.set_viewport_size(A4)
    slips.emulate_media(media="print")
    # Not a stylesheet (the page's CSP allows none inline): the paper's margin drawn, and
    # the first page alone (the sheets after it print on pages of their own).
    slips.evaluate(f"""() => {{
      document.body.style.padding = '{MARGIN}';
      for (const s of document.querySelectorAll('.slip-sheet + .slip-sheet'))
        s.style.display = 'none';
    }}""")
    slips.screenshot(path=str(shots / name), clip={"x": 0, "y": 0, **A4},
                     animations="disabled")
    slips.evaluate("""() => {
      document.body.style.padding = '';
      for (const s of document.querySelectorAll('.slip-sheet')) s.style.display = '';
    }""")
    slips.emulate_media(media="screen")
    slips.set_viewport_size(PHONE)


def test_import_print_slips_and_first_login(world: World, phones: Phones, tmp_path: Path,
                                            shots: Path) -> None:
    secretary = phones.login("sec_a")
    import_members(secretary, members_file(tmp_path, "zh", 10), 10)
    expect(secretary.locator("#flash")).to_contain_text("已导入10名党员。")
    cards_fit(secretary)
    shoot(secretary, shots, "30-import-passwords.png")
    password = password_of(secretary, "zh1")
    assert re.fullmatch(r"\d{8}", password)

    slips = open_slips(secretary)
    expect(slips.locator("article.slip")).to_have_count(10)
    expect(slips.locator("section.slip-sheet")).to_have_count(2)
    zh1 = slips.locator("article.slip", has_text="zh1")
    expect(zh1).to_contain_text(password)
    expect(zh1).to_contain_text("钱玉珍")
    expect(zh1).to_contain_text("第一支部")
    expect(zh1).to_contain_text(f"http://{urlsplit(slips.url).netloc}")
    expect(zh1).to_contain_text("首次登录后请修改密码")
    given = slips.locator("article.slip", has_text="zhgiven")
    expect(given.locator(".slip-blank")).to_have_count(1)
    # On paper: two sheets of A4, no slip cut across a page.
    pdf = slips.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2
    accessible(slips)
    shoot_a4(slips, shots, "30-login-slips.png")
    slips.close()

    # The same in English: the import made in English, its cards and slips.
    english(secretary)
    import_members(secretary, members_file(tmp_path, "en", 3), 3)
    cards_fit(secretary)
    shoot(secretary, shots, "30-import-passwords-en.png")
    slips = open_slips(secretary)
    expect(slips.locator("html")).to_have_attribute("lang", "en")
    expect(slips.locator("article.slip")).to_have_count(3)
    shoot_a4(slips, shots, "30-login-slips-en.png")
    slips.close()
    chinese(secretary)

    # 钱玉珍 logs in with her slip: every page sends her to set her own password first.
    member = phones.open()
    member.goto("/login")
    member.get_by_label("用户名").fill("zh1")
    member.get_by_label("密码").fill(password)
    member.get_by_role("button", name="登录", exact=True).click()
    expect(member).to_have_url(re.compile(r"/password$"))
    expect(member.get_by_role("heading", level=1)).to_have_text("设置新密码")
    expect(member.get_by_role("navigation", name="主菜单")).to_have_count(0)
    member.goto("/me/entries")
    expect(member).to_have_url(re.compile(r"/password$"))
    settled(member)
    fits(member, member=True)
    accessible(member)
    shoot(member, shots, "31-first-login.png")
    english(member)
    expect(member.get_by_role("heading", level=1)).to_be_visible()
    fits(member, member=True)
    shoot(member, shots, "31-first-login-en.png")
    chinese(member)

    member.get_by_label("当前密码").fill(password)
    member.get_by_label("新密码", exact=True).fill(NEW)
    member.get_by_label("再输入一次新密码").fill(NEW)
    member.get_by_role("button", name="设置新密码").click()
    expect(member).to_have_url(re.compile(r"/me$"))
    expect(member.locator("#flash")).to_contain_text("新密码已设置好")
    expect(member.get_by_role("navigation", name="主菜单")).to_be_visible()
