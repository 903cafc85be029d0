"""The rule set of a year, grouped by kind; edited inline until the year is frozen."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.api.deps import ClockDep
from app.db import SessionDep
from app.models import RuleItemRow
from app.points import Kind
from app.schemas import Year
from app.services import directory, rules
from app.services.access import Actor, require_admin
from app.services.errors import DomainError, Invalid, NotFound, WorkflowConflict
from app.web.admin_common import attempt, parse_category, parse_int, parse_name, require_staff
from app.web.deps import WebActor
from app.web.i18n import _
from app.web.messages import message_for
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

YearQuery = Annotated[Year | None, Query()]
Text = Annotated[str, Form(max_length=200)]
# An edit row's state: "edit" mode, a refusal, a confirmation, the values typed.
RowState = dict[str, Any]


def _find(session: Session, year: int, code: str, clock: ClockDep) -> RuleItemRow:
    for row in rules.rule_rows(session, year, clock.now()):
        if row.code == code.upper():
            return row
    raise NotFound(f"There is no rule item {code} in {year}.", "unknown_rule")


def _rules_page(request: Request, session: Session, actor: Actor, year: int, clock: ClockDep,
                *, rows: dict[str, RowState] | None = None, status_code: int = 200) -> Response:
    require_staff(actor)
    items = rules.rule_rows(session, year, clock.now())
    frozen = rules.year_is_frozen(session, year)
    this_year = clock.today().year
    years = sorted({*directory.rule_years(session), this_year, this_year + 1, year})
    groups = [(kind.value, [r for r in items if r.kind == kind.value]) for kind in Kind]
    context = {"year": year, "years": years, "frozen": frozen,
               "editable": actor.is_admin and not frozen,
               "groups": [(k, rs) for k, rs in groups if rs], "rows": rows or {}}
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


def _row(request: Request, session: Session, actor: Actor, year: int, row: RuleItemRow,
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
    require_staff(actor)
    the_year = year or clock.today().year
    row = _find(session, the_year, code, clock)
    if not is_htmx(request):
        return RedirectResponse(f"/admin/rules?year={the_year}#rule-{row.code}",
                                status_code=303)
    return _row(request, session, actor, the_year, row, {}, clock)


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
