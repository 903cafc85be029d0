"""Rendering pages and HTMX partials from the same templates (Hypermedia Systems style)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.present import i18n
from app.present.templating import env
from app.web.forms import here, new_form_key, safe_next


def _take_flashes(request: Request) -> list[list[str]]:
    """Messages for this answer: set on the request, or left in the session by a redirect."""
    if hasattr(request.state, "flashes"):
        return list(request.state.flashes)
    session = request.scope.get("session")
    return list(session.pop("flash", [])) if session is not None else []


# The longest `next` the language switch posts (its form field's limit).
NEXT_MAX = 500


def language_next(request: Request) -> str:
    """Where the language switch comes back to: this page with its query; from a page
    answered to a POST (which has no page of its own to GET again), the page the form was
    on (the Referer, same site only), else home."""
    if request.method in ("GET", "HEAD"):
        path, target = request.url.path, here(request)
    else:
        referer = urlsplit(request.headers.get("referer", ""))
        if referer.netloc != request.url.netloc or not safe_next(referer.path, ""):
            return "/"
        path = referer.path
        target = path + (f"?{referer.query}" if referer.query else "")
    return target if len(target) <= NEXT_MAX else path[:NEXT_MAX]


def _context(request: Request) -> dict[str, Any]:
    session = request.scope.get("session") or {}
    return {
        "language_next": language_next(request),
        "csrf_token": session.get("csrf", ""),
        "language": i18n.current_language(),
        "languages": i18n.LANGUAGES,
        "actor": getattr(request.state, "actor", None),
        "flashes": _take_flashes(request),
        "is_htmx": is_htmx(request),
        "new_form_key": new_form_key,
    }


templates = Jinja2Templates(env=env, context_processors=[_context])


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
    # Assigned, not appended in place: the session cookie is written again only when an item
    # is set, and a message left from an answer not yet shown would hide this one.
    request.session["flash"] = [*request.session.get("flash", []), [kind, message]]


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


def reload(request: Request, url: str) -> Response:
    """After a form post that changes the page it came from: 303 to `url` (with its #anchor)
    for browsers; HTMX reloads the page where it stands (HX-Refresh), keeping its scroll,
    where an HX-Redirect to the same page with an #anchor would only scroll to it."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return RedirectResponse(url, status_code=303)
