"""Refusals on the pages: a clear message where the person is, never a blank swap."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from app.present.i18n import N_, _
from app.present.messages import message_for
from app.services.errors import DomainError
from app.web.render import flash, is_htmx, render

TITLES = {401: N_("请先登录"), 403: N_("没有权限"), 404: N_("没有找到"),
          409: N_("暂时不能这样做"), 413: N_("文件太大"), 422: N_("填写有误"),
          429: N_("请稍后再试")}


def _back(request: Request) -> str:
    referer = request.headers.get("referer", "")
    host = request.headers.get("host", "")
    for scheme in ("http://", "https://"):
        prefix = f"{scheme}{host}"
        if host and referer.startswith(prefix + "/"):
            path = referer[len(prefix):]
            # "//x" and "/\x" would lead off the site (a page at http://host//x exists: 404).
            return "/" if path.startswith(("//", "/\\")) else path
    return "/"


def web_error(request: Request, status: int, message: str, *, back: bool = True) -> Response:
    """The message in #flash (HTMX), on the page a form was posted from (`back`), or as a page
    of its own with the status."""
    if is_htmx(request):
        request.state.flashes = [["error", message]]
        response = render(request, "partials/flash.html", status_code=status)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    if back and request.method == "POST":
        # A plain form post: back to the page it came from, with the message on it. (Other
        # methods are no browser's: a 405 or 404 answers them as it is, app/methods.py.)
        flash(request, message, "error")
        return RedirectResponse(_back(request), status_code=303)
    title = _(TITLES.get(status, "出错了"))
    return render(request, "pages/error.html", {"title": title, "message": message},
                  status_code=status)


# Where a person whose password someone else set is sent, whatever they asked for.
CHANGE_PASSWORD = "/password"


def web_domain_error(request: Request, error: DomainError) -> Response:
    if error.code == "password_change_required":
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": CHANGE_PASSWORD})
        return RedirectResponse(CHANGE_PASSWORD, status_code=303)
    if error.code in ("login_required",):
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return web_error(request, error.status_code, message_for(error))
