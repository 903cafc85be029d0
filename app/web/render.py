"""Rendering pages and HTMX partials from the same templates (Hypermedia Systems style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.points import GRADE_LABELS, Grade
from app.web import i18n

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"

KIND_LABELS = {"positive": "正向得分", "negative": "反向扣分", "bonus": "现实表现加分",
               "deduction": "现实表现扣分", "veto": "一票否决"}
STATUS_LABELS = {"pending": "待审核", "approved": "已通过", "rejected": "未通过",
                 "revoked": "已撤销", "draft": "草稿", "published": "公示中",
                 "finalized": "已定稿", "open": "进行中", "resolved": "已答复",
                 "approved_rating": "已审定"}
CATEGORY_LABELS = {"active": "在职", "mobile": "流动", "retired": "离退休", "rural": "农村无职"}


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


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                          extensions=["jinja2.ext.i18n"], autoescape=True)
templates = Jinja2Templates(env=_env, context_processors=[_context])
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True)
templates.env.globals["Grade"] = Grade


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
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if trigger:
        response.headers["HX-Trigger"] = trigger
    return response
