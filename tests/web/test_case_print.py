"""A disposal case printed as the A4 审批表 for the file (appraisal.md §5): the print page
and its PDF from one template, every step in order, the signature and seal lines; only the
committees that read the case on the committee side may print it."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from tests.api.case_scene import INVESTIGATE, file_case, reach, step
from tests.api.support import World, ok
from tests.web.support import web_login
from tests.web.test_print import pdf_pages


def test_the_case_prints_with_every_step_and_the_seals(world: World,
                                                       client: TestClient) -> None:
    case = reach(world, "decided", "rectify")
    web_login(client, "sec_a")
    page = client.get(f"/committee/cases/{case}")
    assert f'href="/committee/cases/{case}/print"' in page.text
    assert f'href="/committee/cases/{case}/case.pdf"' in page.text
    answer = client.get(f"/committee/cases/{case}/print")
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert "不合格党员处置审批表" in html
    assert '<link rel="stylesheet" href="/static/print.css">' in html
    assert f'href="/committee/cases/{case}/case.pdf"' in html and "data-print>打印</button>" in html
    assert "a4" in html and "第一支部" in html and "失去联系六个月以上" in html
    assert "2026" in html and "失联半年" in html
    titles = ["启动组织处置", "调查核实", "谈话", "支委会提出处置意见", "上级预审",
              "支部大会表决", "上级审批"]
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    places = [body.index(f'<td class="step">{t}</td>') for t in titles]
    assert places == sorted(places)  # every step, in order
    assert "半年未参加组织生活" in body and "赞成 4，反对 1，弃权 0" in body
    assert '<span class="fact">表决通过</span>' in body  # not 通过, an entry's Approve
    assert "谈话人：a1、a2" in body and "sec_a" in body and "party_sec" in body
    assert "限期改正中" in html and "改正期限：" in html
    assert "支部书记（签字）" in html and "党委书记（签字）" in html
    assert html.count("（盖章）") == 2 and html.count("　　　　年　　月　　日") == 2
    assert 'class="tabs"' not in html and "退出登录" not in html

    pdf = client.get(f"/committee/cases/{case}/case.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(pdf_pages(pdf.content))
    assert "a4" in text and "支部大会表决" in text and "半年未参加组织生活" in text
    assert "打印" not in text and "下载" not in text

    web_login(client, "party_sec")  # the committee above reads it
    assert client.get(f"/committee/cases/{case}/print").status_code == 200
    web_login(client, "admin")
    assert client.get(f"/committee/cases/{case}/print").status_code == 200


def test_only_the_committees_of_the_case_may_print_it(world: World,
                                                      client: TestClient) -> None:
    case = reach(world, "proposed")
    web_login(client, "sec_b")  # another branch's committee: no such case for them
    assert client.get(f"/committee/cases/{case}/print").status_code == 404
    assert client.get(f"/committee/cases/{case}/case.pdf").status_code == 404
    for member in ("a1", "a4"):  # a member (the case's own one too): not the committee side
        web_login(client, member)
        assert client.get(f"/committee/cases/{case}/print").status_code == 403
        assert client.get(f"/committee/cases/{case}/case.pdf").status_code == 403
    web_login(client, "sec_a")
    assert client.get("/committee/cases/999999/print").status_code == 404


def test_words_are_text_in_the_print(world: World, client: TestClient) -> None:
    case = ok(file_case(world, note='<b>失联</b>&'), 201)["id"]
    web_login(client, "sec_a")
    html = client.get(f"/committee/cases/{case}/print").text
    assert "&lt;b&gt;失联&lt;/b&gt;&amp;" in html and "<b>" not in html


def test_the_form_prints_what_holds_on_the_day_it_is_read(world: World,
                                                          client: TestClient) -> None:
    """A filed form is read long after: the deadline as a date, never the days left; each
    label once and bold (review 16, finding 8)."""
    case = reach(world, "decided", "rectify")
    web_login(client, "sec_a")
    assert "还有 181 天" in client.get(f"/committee/cases/{case}").text  # the page counts
    html = client.get(f"/committee/cases/{case}/print").text
    facts = html[html.index('<dl class="case-facts">'):html.index("</dl>", html.index(
        '<dl class="case-facts">'))]
    assert "<dt>改正期限：</dt><dd>2026年7月10日</dd>" in facts
    assert "<dt>待办：</dt><dd>期满考察（支部委员会办理）</dd>" in facts
    assert "下一步" not in html and "还有" not in html and "天" not in facts
    pdf = client.get(f"/committee/cases/{case}/case.pdf")
    text = "".join(pdf_pages(pdf.content))
    assert "待办：期满考察（支部委员会办理）" in text and "还有" not in text
    # The file's name: in Chinese for today's clients, the case's number for old ones.
    name = quote("第一支部a42026年处置审批表.pdf", safe="")
    assert pdf.headers["content-disposition"] == \
        f"inline; filename=\"case-{case}.pdf\"; filename*=UTF-8''{name}"


def test_a_step_an_administrator_recorded_prints_no_login_name(world: World,
                                                               client: TestClient) -> None:
    case = ok(file_case(world), 201)["id"]
    ok(step(world, case, "admin", INVESTIGATE[1]))
    web_login(client, "sec_a")
    printed = client.get(f"/committee/cases/{case}/print").text
    steps = printed[printed.index("<tbody>"):]
    assert '<td class="who">系统管理员<br>' in steps and '<td class="who">sec_a<br>' in steps
    page = client.get(f"/committee/cases/{case}").text
    for steps in (printed[printed.index("<tbody>"):], page[page.index('id="steps"'):]):
        assert "系统管理员" in steps and "admin" not in steps


def test_the_opinions_keep_with_the_last_step(world: World, client: TestClient) -> None:
    """Never the signature and seal boxes alone on a page: as the steps grow past the first
    page, the last step goes over with them."""
    case = reach(world, "talked")
    web_login(client, "sec_a")
    for n in range(1, 40):
        words = f"申辩{n}：" + "我一直在外地务工。" * 12
        ok(step(world, case, "a4", {"kind": "defence", "text": words}))
        pages = pdf_pages(client.get(f"/committee/cases/{case}/case.pdf").content)
        if len(pages) > 1:
            break
    assert len(pages) == 2
    assert "党委书记（签字）" in pages[1] and f"申辩{n}：" in pages[1]


def test_on_a_phone_the_print_page_reflows(client: TestClient) -> None:
    """At 360 px the 审批表 is as wide as the screen (each step a block, the opinions one
    under the other); print media and the PDF keep the A4 table."""
    css = client.get("/static/print-case.css").text
    phone = css[css.index("@media screen and (max-width: 640px)"):]
    assert re.search(r"table\.case-steps thead\s*{\s*display:\s*none", phone)
    assert re.search(r"\.sign\.case-sign\s*{\s*flex-direction:\s*column", phone)
    assert re.search(r"\.sign\.case-sign\s*{[^}]*break-before:\s*avoid", css)


def test_the_filing_is_said_once_in_the_forms_head(world: World, client: TestClient) -> None:
    """The head says the ground, the year and the filing's note; its step only its date."""
    case = reach(world, "investigated")  # file_case's note: 失联半年
    web_login(client, "sec_a")
    html = client.get(f"/committee/cases/{case}/print").text
    assert html.count("失联半年") == 1 and html.count("失去联系六个月以上") == 1
    assert "启动日期：2026年1月10日" in html
