"""Service accounts and their API keys: create, list, add a key (rotate), revoke.

A new key is shown on the answer to the form that made it, once, and kept nowhere: not in
the session, not in a cache (no-store). That answer's address is not the list's, so its
"back" link loads the list (a link to the same address with a #fragment would only scroll).
A revoke is asked for once before it is done.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import ServiceAccess
from app.present.headers import NO_STORE
from app.present.i18n import N_, _
from app.present.labels import beijing
from app.present.messages import message_for
from app.schemas import MAX_ID
from app.services import directory, service_accounts
from app.services.access import Actor, require_admin
from app.services.errors import DomainError, Invalid, attempt
from app.services.service_accounts import NewKey, ServiceAccountView
from app.web.deps import WebActor
from app.web.forms import int_or_none, parse_int
from app.web.render import flash, redirect, render

router = APIRouter()

PAGE = "pages/admin/service_accounts.html"
Text = Annotated[str, Form(max_length=200)]

ACCESS_LABELS = {ServiceAccess.read: N_("只读"), ServiceAccess.read_write: N_("读写")}
ACCESS_HINT_LABELS = {ServiceAccess.read: N_("只能查看数据，不能修改。"),
                      ServiceAccess.read_write: N_("可以像该组织的支委一样登记、审核和修改；"
                                                   "不能参与处置案件和民主测评。")}


def _context(session: SessionDep, actor: Actor) -> dict[str, Any]:
    return {"accounts": service_accounts.list_service_accounts(session, actor),
            "orgs": directory.managed_orgs(session, actor), "access_labels": ACCESS_LABELS,
            "access_hint_labels": ACCESS_HINT_LABELS, "when": beijing}


def _page(request: Request, session: SessionDep, actor: Actor, *,
          form: dict[str, str] | None = None, error: str | None = None,
          status_code: int = 200) -> Response:
    context = _context(session, actor) | {
        "form": form or {"name": "", "org_id": "", "access": "read", "note": ""},
        "error": error}
    response = render(request, PAGE, context, status_code=status_code)
    response.headers.update(NO_STORE)
    return response


def _shown_once(request: Request, view: ServiceAccountView, made: NewKey,
                created: bool) -> Response:
    """The new key, on this answer only."""
    response = render(request, "pages/admin/new_key.html", {
        "view": view, "key": made.key, "created": created, "access_labels": ACCESS_LABELS},
        status_code=201)
    response.headers.update(NO_STORE)
    return response


def _is_service_account(session: SessionDep, actor: Actor, name: str) -> bool:
    return any(view.account.username == name.strip()
               for view in service_accounts.list_service_accounts(session, actor))


@router.get("/admin/service-accounts")
def service_accounts_page(request: Request, session: SessionDep, actor: WebActor) -> Response:
    """The service accounts, their keys, and the form for a new one."""
    require_admin(actor)
    return _page(request, session, actor)


@router.post("/admin/service-accounts/new")
def create_service_account(request: Request, session: SessionDep, actor: WebActor,
                           clock: ClockDep, name: Text = "", org_id: Text = "",
                           access: Text = "", note: Text = "") -> Response:
    require_admin(actor)
    form = {"name": name, "org_id": org_id, "access": access, "note": note}

    def create() -> tuple[ServiceAccountView, NewKey]:
        if access not in ServiceAccess._value2member_map_:
            raise Invalid("Choose read or read-write.", "bad_access")
        return service_accounts.create_service_account(
            session, actor, name, parse_int(org_id, "unknown_org", 1, MAX_ID),
            ServiceAccess(access), note, clock.now())

    result = attempt(session, create)
    if isinstance(result, DomainError):
        error = message_for(result)
        if result.code == "username_taken" and _is_service_account(session, actor, name):
            # Most likely this very form sent twice (a reload): say the account is there.
            error = _("服务账号「{name}」已经建好了（也许是刷新了页面）。如果没有保存它的密钥，"
                      "请在下面的列表里为它新增密钥，再吊销旧的。").format(name=name.strip())
        return _page(request, session, actor, form=form, error=error,
                     status_code=result.status_code)
    view, made = result
    return _shown_once(request, view, made, created=True)


@router.post("/admin/service-accounts/{account_id}/keys")
def add_key(request: Request, account_id: int, session: SessionDep, actor: WebActor,
            clock: ClockDep, newest: Text = "") -> Response:
    """Another key (rotation): shown once. `newest` is the newest key the page showed: if a
    key was made since (the key page reloaded, or another administrator), none is made
    again: a reload would leave a live key nobody saw."""
    require_admin(actor)
    view = service_accounts.get_service_account(session, actor, account_id)
    if max((k.id or 0 for k in view.keys), default=0) != (int_or_none(newest) or 0):
        flash(request, _("刚才已经新增过密钥，刷新页面不会再生成。如果没有保存那个密钥，请吊销它，"
                         "再新增一个。"), "error")
        return redirect(request, "/admin/service-accounts")
    made = service_accounts.add_key(session, actor, account_id, clock.now())
    view = service_accounts.get_service_account(session, actor, account_id)
    return _shown_once(request, view, made, created=False)


def _key_of(view: ServiceAccountView, key_id: int) -> Any:
    return next((k for k in view.keys if k.id == key_id), None)


@router.get("/admin/service-accounts/{account_id}/keys/{key_id}/revoke")
def revoke_confirm(request: Request, account_id: int, key_id: int, session: SessionDep,
                   actor: WebActor) -> Response:
    """Asks once before revoking (it cannot be undone)."""
    require_admin(actor)
    view = service_accounts.get_service_account(session, actor, account_id)
    key = _key_of(view, key_id)
    if key is None or key.revoked_at is not None:
        return redirect(request, f"/admin/service-accounts#account-{account_id}")
    return render(request, "pages/admin/revoke_key.html", {"view": view, "key": key,
                                                            "when": beijing})


@router.post("/admin/service-accounts/{account_id}/keys/{key_id}/revoke")
def revoke_key(request: Request, account_id: int, key_id: int, session: SessionDep,
               actor: WebActor, clock: ClockDep) -> Response:
    require_admin(actor)
    view = service_accounts.get_service_account(session, actor, account_id)
    if _key_of(view, key_id) is None:
        return redirect(request, f"/admin/service-accounts#account-{account_id}")
    result = attempt(session, lambda: service_accounts.revoke_key(session, actor, key_id,
                                                                  clock.now()))
    if isinstance(result, DomainError):
        flash(request, message_for(result), "error")
    else:
        flash(request, _("密钥 {prefix} 已吊销，用它的程序从现在起无法访问。").format(
            prefix=f"jfk_{result.prefix}"))
    # The top of the list, where the message is (a #fragment would scroll past it).
    return redirect(request, "/admin/service-accounts")
