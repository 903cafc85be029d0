"""The rule set of a year, grouped by kind; edited inline until the year is frozen."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import RuleItemRow
from app.points import Kind, RatingParams
from app.present.i18n import N_, _
from app.present.messages import message_for
from app.present.rule_words import grade_bands, star_bands
from app.schemas import Year
from app.services import directory, rule_procedure, rules, rules_file
from app.services.access import Actor, require_admin, require_committee
from app.services.errors import DomainError, Invalid, NotFound, WorkflowConflict, attempt
from app.web.deps import WebActor
from app.web.forms import parse_category, parse_int, parse_name
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

YearQuery = Annotated[Year | None, Query()]
Text = Annotated[str, Form(max_length=200)]
# An edit row's state: "edit" mode, a refusal, a confirmation, the values typed.
RowState = dict[str, Any]


def _find(session: SessionDep, year: int, code: str, clock: ClockDep) -> RuleItemRow:
    for row in rules.rule_rows(session, year, clock.now()):
        if row.code == code.upper():
            return row
    raise NotFound(f"There is no rule item {code} in {year}.", "unknown_rule")


def _rules_page(request: Request, session: SessionDep, actor: Actor, year: int, clock: ClockDep,
                *, rows: dict[str, RowState] | None = None, status_code: int = 200,
                upload: dict[str, Any] | None = None,
                procedure: dict[str, Any] | None = None) -> Response:
    require_committee(actor, "open this page")
    items = rules.rule_rows(session, year, clock.now())
    params = rules.load_rule_set(session, year, clock.now()).params
    frozen = rules.year_is_frozen(session, year)
    this_year = clock.today().year
    years = sorted({*directory.rule_years(session), this_year, this_year + 1, year})
    groups = [(kind.value, [r for r in items if r.kind == kind.value]) for kind in Kind]
    context = {"year": year, "years": years, "frozen": frozen,
               "editable": actor.is_admin and not frozen,
               "groups": [(k, rs) for k, rs in groups if rs], "rows": rows or {},
               "upload": upload or {}, "params": params, "procedure": procedure or {},
               "star_bands": star_bands(params), "grade_bands": grade_bands(params),
               "notice_days_max": rules.MAX_NOTICE_DAYS,
               "rectify_months_max": rules.MAX_RECTIFY_MONTHS}
    return render(request, "pages/admin/rules.html", context, status_code=status_code)


@router.get("/admin/rules")
def rules_page(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
               year: YearQuery = None, edit: str | None = None,
               saved: str | None = None) -> Response:
    """The rules of a year (this year by default); `edit` opens a row and `saved` marks the
    row just changed (the pages without JavaScript)."""
    rows: dict[str, RowState] = {}
    if saved:
        rows[saved.upper()] = {"saved": True}
    if edit:
        rows[edit.upper()] = {"mode": "edit"}
    return _rules_page(request, session, actor, year or clock.today().year, clock, rows=rows)


def _row(request: Request, session: SessionDep, actor: Actor, year: int, row: RuleItemRow,
         state: RowState, clock: ClockDep, status_code: int = 200) -> Response:
    """The item's row for HTMX; without it, the whole page with the row in that state."""
    if not is_htmx(request):
        return _rules_page(request, session, actor, year, clock, rows={row.code: state},
                           status_code=status_code)
    frozen = rules.year_is_frozen(session, year)
    if frozen and state.get("mode") == "edit":
        # Frozen since the page was drawn: the row goes back to plain text, with the reason.
        state = {"error": message_for(WorkflowConflict(f"The {year} rules are frozen.",
                                                       "rules_frozen"))}
    context = {"item": row, "year": year, "state": state,
               "editable": actor.is_admin and not frozen}
    return render(request, "partials/admin/rule_row.html", context, status_code=status_code)


@router.get("/admin/rules/{code}/edit")
def edit_row(request: Request, code: str, session: SessionDep, actor: WebActor,
             clock: ClockDep, year: YearQuery = None) -> Response:
    require_admin(actor)
    the_year = year or clock.today().year
    row = _find(session, the_year, code, clock)
    if not is_htmx(request):
        return RedirectResponse(f"/admin/rules?year={the_year}&edit={row.code}#rule-{row.code}",
                                status_code=303)
    return _row(request, session, actor, the_year, row, {"mode": "edit"}, clock)


@router.get("/admin/rules/{code}/row")
def view_row(request: Request, code: str, session: SessionDep, actor: WebActor,
             clock: ClockDep, year: YearQuery = None) -> Response:
    require_committee(actor, "open this page")
    the_year = year or clock.today().year
    row = _find(session, the_year, code, clock)
    if not is_htmx(request):
        return RedirectResponse(f"/admin/rules?year={the_year}#rule-{row.code}",
                                status_code=303)
    return _row(request, session, actor, the_year, row, {}, clock)


# The rule file (app/services/rules_file.py): its problems as a person reads them, by code;
# {value} is the code or number concerned. Codes not here show the English text.
FILE_PROBLEMS: dict[str, str] = {
    "not_utf8": N_("不是 UTF-8 编码的文本文件，请用导出的文件修改后再上传。"),
    "not_yaml": N_("不是有效的 YAML 格式（{message}）。"),
    "not_a_mapping": N_("格式不对：这里应是“名称: 值”形式的内容。"),
    "unknown_field": N_("不认识这一项，请检查拼写。"),
    "format_missing": N_("缺少 format: jifen-rules/1，这不像是积分规则文件。"),
    "format_unknown": N_("应为 format: jifen-rules/1。"),
    "year_invalid": N_("年度应在 2000 到 2100 之间。"),
    "not_a_list": N_("应为整数列表，例如 [60, 70, 80, 90, 96]。"),
    "not_an_integer": N_("应为整数。"),
    "review_max_invalid": N_("评议分上限应在 1 到 100 之间。"),
    "review_default_invalid": N_("默认评议分应在 0 到评议分上限之间。"),
    "star_thresholds_count": N_("星级分数线应有 5 个（1 星到 5 星）。"),
    "star_thresholds_order": N_("星级分数线应从低到高排列，且不能重复。"),
    "score_invalid": N_("分数应在 0 到 1000 之间。"),
    "grade_order": N_("定级分数应满足：不合格线 ≤ 基本合格线 ≤ 优秀线。"),
    "excellent_divisor_invalid": N_("优秀比例的分母应在 1 到 100 之间。"),
    "not_a_boolean": N_("应为 true 或 false。"),
    "notice_out_of_range": N_("公示天数须为0到60之间的整数。"),
    "min_notice_out_of_range": N_("最短公示天数须为0到60之间的整数。"),
    "months_out_of_range": N_("限期改正月数须为1到12之间的整数。"),
    "items_required": N_("至少要有一条积分项目。"),
    "too_many_items": N_("积分项目太多（最多 200 条）。"),
    "code_required": N_("缺少编号（如 P01）。"),
    "code_invalid": N_("编号应为大写字母开头的字母和数字，最多 10 位（如 P01）。"),
    "code_duplicate": N_("编号 {value} 重复了。"),
    "kind_invalid": N_("类别应为 positive、negative、bonus、deduction 或 veto 之一。"),
    "name_required": N_("缺少名称。"),
    "categories_required": N_("至少要适用于一类党员。"),
    "points_signed": N_("分值不要写负号（写 {value}）：扣分还是加分由类别决定。"),
    "points_invalid": N_("分值应为 1 到 100 的整数。"),
    "points_required": N_("请填写分值 points，或填写分值范围 min_points 和 max_points。"),
    "points_and_range": N_("分值 points 和分值范围只能填一种。"),
    "range_reversed": N_("最高分不能低于最低分。"),
    "cap_invalid": N_("年度上限应为 0 到 1000 的整数，或 null 表示不设上限。"),
    "veto_points": N_("一票否决项目没有分值。"),
    "cap_not_allowed": N_("一票否决项目没有年度上限。"),
    "code_in_use": N_("编号 {value} 已被本年度的积分记录使用，不能删除。"),
    "kind_in_use": N_("编号 {value} 已被本年度的积分记录使用，不能改变类别。"),
    "int_type": N_("应为整数。"),
    "string_type": N_("应为文字。"),
    "list_type": N_("应为列表，例如 [active, retired]。"),
    "greater_than_equal": N_("数值太小。"),
    "less_than_equal": N_("数值太大。"),
    "string_too_short": N_("不能为空。"),
    "text_control_character": N_("含有看不见的控制字符（多见于从 Word 或网页复制来的文字），"
                                 "请删去后重新输入。"),
    "string_too_long": N_("太长了（最多 100 个字）。"),
    "too_short": N_("至少要有一项。"),
    "enum": N_("不是已知的党员类别（active 在职、mobile 流动、retired 离退休、rural 农村无职）。"),
}


def file_problem_text(problem: rules_file.Problem) -> str:
    text = FILE_PROBLEMS.get(problem.code)
    return _(text).format(value=problem.value, message=problem.message) if text \
        else problem.message


@router.get("/admin/rules/export.yaml")
def export_file(session: SessionDep, actor: WebActor, clock: ClockDep,
                year: YearQuery = None) -> Response:
    """The year's rules as a rule file (the same text as the API's export)."""
    require_committee(actor, "open this page")
    the_year = year or clock.today().year
    name = f"jifen-rules-{the_year}.yaml"
    return Response(rules_file.export_rule_set(session, the_year, clock.now()),
                    media_type="text/yaml; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/admin/rules/import")
def import_file(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
                year: YearQuery = None,
                file: Annotated[UploadFile | None, File()] = None,
                dry_run: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Replace the year's rules with an uploaded rule file, or only check it."""
    require_admin(actor)
    the_year = year or clock.today().year
    checking = bool(dry_run)
    if file is None or not file.filename:
        refusal = Invalid("Choose a rule file to upload.", "rules_file_missing")
        return _rules_page(request, session, actor, the_year, clock, status_code=422,
                           upload={"error": message_for(refusal), "dry_run": checking})
    data = file.file.read(rules_file.MAX_FILE_BYTES + 1)

    def load() -> rules_file.ImportResult:
        return rules_file.import_rule_set(session, actor.account_id, the_year, data,
                                          clock.now(), dry_run=checking)

    result = attempt(session, load)
    if isinstance(result, rules_file.RulesFileInvalid):
        problems = [(p.path, file_problem_text(p)) for p in result.problems]
        return _rules_page(request, session, actor, the_year, clock, status_code=422, upload={
            "error": message_for(result), "problems": problems, "dry_run": checking,
            "filename": file.filename})
    if isinstance(result, DomainError):
        return _rules_page(request, session, actor, the_year, clock,
                           status_code=result.status_code,
                           upload={"error": message_for(result), "dry_run": checking})
    none = _("无")
    summary = _("新增：{added}；删除：{removed}；修改：{changed}。").format(
        added=_("、").join(result.added) or none, removed=_("、").join(result.removed) or none,
        changed=_("、").join(result.changed) or none)
    if checking:
        notice = _("文件检查无误，共{n}条，尚未导入。").format(n=len(result.rules.items))
        return _rules_page(request, session, actor, the_year, clock, upload={
            "notice": notice + summary, "dry_run": True})
    flash(request, _("已导入{year}年度积分规则，共{n}条。").format(
        year=the_year, n=len(result.rules.items)) + summary)
    return redirect(request, f"/admin/rules?year={the_year}")


# The form's field each refusal is about, so the page marks it.
PROCEDURE_FIELDS = {"notice_out_of_range": "rating_notice_days",
                    "months_out_of_range": "rectify_months",
                    "min_notice_out_of_range": "min_notice_days"}


@router.post("/admin/rules/procedure")
def update_procedure(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
                     year: YearQuery = None,
                     ballot_required: Annotated[str, Form(max_length=10)] = "",
                     rating_notice_days: Annotated[str, Form(max_length=20)] = "",
                     rectify_months: Annotated[str, Form(max_length=20)] = "",
                     min_notice_days: Annotated[str, Form(max_length=20)] = "") -> Response:
    """The year's procedural parameters (appraisal.md §6), also once the year is frozen. The
    form shows all four, so an unticked box is false."""
    require_admin(actor)
    the_year = year or clock.today().year

    def change() -> RatingParams:
        changes = {
            "ballot_required": bool(ballot_required),
            "rating_notice_days": parse_int(rating_notice_days, "notice_out_of_range", 0,
                                            rules.MAX_NOTICE_DAYS),
            "rectify_months": parse_int(rectify_months, "months_out_of_range", 1,
                                        rules.MAX_RECTIFY_MONTHS),
            "min_notice_days": parse_int(min_notice_days, "min_notice_out_of_range", 0,
                                         rules.MAX_NOTICE_DAYS)}
        return rule_procedure.set_procedure(session, actor.account_id, the_year, changes,
                                            clock.now())

    result = attempt(session, change)
    if isinstance(result, DomainError):
        form = {"ballot_required": bool(ballot_required),
                "rating_notice_days": rating_notice_days, "rectify_months": rectify_months,
                "min_notice_days": min_notice_days}
        return _rules_page(request, session, actor, the_year, clock,
                           status_code=result.status_code, procedure={
                               "form": form, "error": message_for(result),
                               "field": PROCEDURE_FIELDS.get(result.code)})
    flash(request, _("已保存{year}年度评定程序参数。").format(year=the_year))
    return redirect(request, f"/admin/rules?year={the_year}#procedure")


def _changes(row: RuleItemRow, name: str, points: str, cap: str, categories: list[str],
             shown: set[str]) -> dict[str, Any]:
    """The form as the service's changes. `shown` names the fields the form showed (an
    empty field arrives like a missing one): a field it did not show stays as it is."""
    changes: dict[str, Any] = {"name": parse_name(name, 100)}
    if points.strip():
        changes["points"] = parse_int(points, "points_invalid", 1, 100)
    elif "points" in shown and row.points is not None:
        raise Invalid("points cannot be empty for a fixed-point item.", "points_required")
    if cap.strip():
        changes["cap"] = parse_int(cap, "cap_invalid", 0, 1000)
    elif "cap" in shown:
        changes["cap"] = None
    if "categories" in shown or categories:
        if not categories:
            raise Invalid("Choose at least one category.", "categories_required")
        changes["categories"] = sorted({parse_category(c) for c in categories})
    return changes


@router.post("/admin/rules/{code}")
def update_rule(request: Request, code: str, session: SessionDep, actor: WebActor,
                clock: ClockDep, year: YearQuery = None, name: Text = "",
                points: Annotated[str, Form(max_length=20)] = "",
                cap: Annotated[str, Form(max_length=20)] = "",
                categories: Annotated[list[str] | None, Form()] = None,
                shown: Annotated[str, Form(max_length=100)] = "") -> Response:
    require_admin(actor)
    the_year = year or clock.today().year
    row = _find(session, the_year, code, clock)
    chosen = categories or []
    form = {"name": name, "points": points, "cap": cap, "categories": chosen}

    def change() -> RuleItemRow:
        changes = _changes(row, name, points, cap, chosen, set(shown.split(",")))
        return rules.update_rule_item(session, actor.account_id, the_year, row.code, changes,
                                      clock.now())

    result = attempt(session, change)
    if isinstance(result, DomainError):
        if result.code == "rules_frozen" and not is_htmx(request):
            raise result  # back to the page, which now shows the lock, with the message
        state = {"mode": "edit", "form": form, "error": message_for(result)}
        return _row(request, session, actor, the_year, _find(session, the_year, code, clock),
                    state, clock, result.status_code)
    done = _("已保存{code}。").format(code=result.code)
    if is_htmx(request):
        return _row(request, session, actor, the_year, result, {"notice": done}, clock)
    flash(request, done)
    return redirect(request,
                    f"/admin/rules?year={the_year}&saved={result.code}#rule-{result.code}")
