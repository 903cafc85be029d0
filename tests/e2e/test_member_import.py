"""A 支部书记 imports members from a CSV on a phone: the problems first, then the import."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.support import Phones, World

HEAD = "姓名,所属支部,类别,入党日期,用户名,初始密码\n"


def test_import_shows_problems_then_imports_and_lists_passwords(
        world: World, phones: Phones, tmp_path: Path) -> None:
    bad = tmp_path / "名单.csv"
    bad.write_bytes((HEAD + "张三,第一支部,在职,2012-03-05,zhangsan,\n"
                     ",第二支部,外星,2010-02-30,a1,\n"
                     "王五,第一支部,离退休,1980-01-01,zhangsan,123\n").encode("gb18030"))
    page = phones.login("sec_a")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/committee/import")
    expect(page.get_by_role("link", name="下载导入模板（Excel）")).to_be_visible()
    page.get_by_label("选择填好的文件（Excel .xlsx 或 CSV）").set_input_files(bad)
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_role("heading", name="文件有问题，未导入")).to_be_visible()
    row3 = page.locator("#row-3")
    expect(row3).to_contain_text("所属支部：没有这个支部")
    expect(row3).to_contain_text("用户名：用户名已被使用")
    expect(row3.locator("mark")).to_have_count(5)
    expect(page.locator("#row-4")).to_contain_text("初始密码：密码至少8位")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "committee-import-errors.png"), full_page=True)

    good = tmp_path / "名单2.csv"
    good.write_bytes((HEAD + "张三,第一支部,在职,2012-03-05,zhangsan,\n"
                      "李四,第一支部,流动,2015-07-01,lisi,lisi-pass-1\n").encode("utf-8"))
    page.get_by_label("选择填好的文件（Excel .xlsx 或 CSV）").set_input_files(good)
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_role("heading", name="检查通过")).to_be_visible()
    page.get_by_role("button", name="确认导入2名党员").click()
    expect(page.get_by_role("heading", name="导入完成")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("已导入2名党员。")
    expect(page.locator("#import-result strong.cm-code")).to_have_text(re.compile(r"^\d{8}$"))
    page.screenshot(path=str(tmp_path / "committee-import-done.png"), full_page=True)
    names = {m["username"] for m in world.api.get("admin", "/members",
                                                  org_id=world.branch_a)["items"]}
    assert {"zhangsan", "lisi"} <= names


ENTRY_HEAD = "用户名,姓名,支部,日期,规则编号,数量,分值,说明\n"


def test_entries_import_shows_errors_then_imports(
        world: World, phones: Phones, tmp_path: Path) -> None:
    bad = tmp_path / "三月.csv"
    bad.write_bytes((ENTRY_HEAD + "a1,,,2025-03-14,P01,2,,三月学习\n"
                     "a1,,,2025-03-15,X99,,,\n"
                     "nobody,,,2025-13-01,B01,,9,\n").encode("utf-8"))
    page = phones.login("sec_a")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/committee")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "committee-home-import-links.png"))
    page.get_by_role("link", name="批量导入积分").click()
    expect(page.get_by_role("link", name="下载导入模板（Excel）")).to_be_visible()
    page.get_by_label("年度").select_option("2025")
    page.get_by_label("选择填好的文件（Excel .xlsx 或 CSV）").set_input_files(bad)
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_role("heading", name="文件有错误，未导入")).to_be_visible()
    expect(page.locator("#row-3")).to_contain_text("“规则编号”列（X99）：没有这个积分项目。")
    expect(page.locator("#row-4")).to_contain_text("“用户名”列（nobody）")
    expect(page.get_by_role("button", name=re.compile("确认导入"))).to_have_count(0)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "committee-import-entries-errors.png"), full_page=True)

    good = tmp_path / "三月2.csv"
    good.write_bytes((ENTRY_HEAD + "a1,,,2025-03-14,P01,2,,三月学习\n").encode("utf-8"))
    page.get_by_label("年度").select_option("2025")
    page.get_by_label("选择填好的文件（Excel .xlsx 或 CSV）").set_input_files(good)
    page.get_by_role("button", name="上传并检查").click()
    expect(page.get_by_role("heading", name="检查通过")).to_be_visible()
    page.get_by_role("button", name="确认导入1条记录").click()
    expect(page.locator("#flash")).to_contain_text("已导入1条积分记录。")
    entries = world.api.get("sec_a", "/entries", member_id=world.members["a1"],
                            year=2025)["items"]
    assert [(e["rule_code"], e["quantity"], e["status"]) for e in entries] == \
        [("P01", 2, "approved")]
