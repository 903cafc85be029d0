"""Rendering pages and HTMX partials from the same templates (Hypermedia Systems style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.points import GRADE_LABELS, Grade
from app.settings import get_settings
from app.web import i18n
from app.web.i18n import N_

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"

# Chinese msgids: templates show them through _() (e.g. `_(status_labels[x])`).
KIND_LABELS = {"positive": N_("正向得分"), "negative": N_("反向扣分"),
               "bonus": N_("现实表现加分"), "deduction": N_("现实表现扣分"),
               "veto": N_("一票否决")}
STATUS_LABELS = {"pending": N_("待审核"), "approved": N_("已通过"), "rejected": N_("未通过"),
                 "revoked": N_("已撤销"), "draft": N_("草稿"), "published": N_("公示中"),
                 "finalized": N_("已定稿"), "open": N_("进行中"), "resolved": N_("已答复"),
                 "approved_rating": N_("已审定")}
CATEGORY_LABELS = {"active": N_("在职"), "mobile": N_("流动"), "retired": N_("离退休"),
                   "rural": N_("农村无职")}
# app.points.GRADE_LABELS (the engine knows no gettext), marked here for extraction; a test
# keeps the two the same.
GRADE_MSGIDS = (N_("优秀"), N_("合格"), N_("基本合格"), N_("不合格"), N_("免评"))


def _take_flashes(request: Request) -> list[list[str]]:
    """Messages for this answer: set on the request, or left in the session by a redirect."""
    if hasattr(request.state, "flashes"):
        return list(request.state.flashes)
    session = request.scope.get("session")
    return list(session.pop("flash", [])) if session is not None else []


def _context(request: Request) -> dict[str, Any]:
    session = request.scope.get("session") or {}
    return {
        "csrf_token": session.get("csrf", ""),
        "language": i18n.current_language(),
        "languages": i18n.LANGUAGES,
        "actor": getattr(request.state, "actor", None),
        "flashes": _take_flashes(request),
        "grade_labels": {g.value: label for g, label in GRADE_LABELS.items()},
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "category_labels": CATEGORY_LABELS,
        "is_htmx": is_htmx(request),
    }


# In production the templates are those of the installed release: no stat() per render.
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                          extensions=["jinja2.ext.i18n"], autoescape=True,
                          auto_reload=get_settings().env == "development")
templates = Jinja2Templates(env=_env, context_processors=[_context])
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True)
templates.env.globals["Grade"] = Grade
templates.env.globals["rule_item_name"] = i18n.rule_item_name


def is_htmx(request: Request) -> bool:
    """An HTMX request that wants a fragment (a history restore wants the whole page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(request: Request, page: str, context: dict[str, Any] | None = None, *,
           partial: str | None = None, status_code: int = 200,
           trigger: str | None = None) -> HTMLResponse:
    """The partial for HTMX, the full page otherwise; caches told the answer varies."""
    template = partial if partial and is_htmx(request) else page
    response: HTMLResponse = templates.TemplateResponse(request, template, context or {},
                                                        status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    if trigger:
        response.headers["HX-Trigger"] = trigger
    return response


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once on the next page (kept in the signed session cookie)."""
    request.session.setdefault("flash", []).append([kind, message])


def redirect(request: Request, url: str, *, trigger: str | None = None) -> Response:
    """After a successful form post: 303 for browsers, HX-Redirect for HTMX."""
    if is_htmx(request):
        # Quoted as RedirectResponse quotes Location: a header is Latin-1 (no 500 for
        # "/中文"), and htmx hands it to location.href, which reads "/\x" as "//x".
        response: Response = Response(status_code=204, headers={
            "HX-Redirect": quote(url, safe=":/%#?=@[]!$&'()*+,;")})
    else:
        response = RedirectResponse(url, status_code=303)
    if trigger:
        response.headers["HX-Trigger"] = trigger
    return response
