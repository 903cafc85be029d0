"""The organisation tree: create organisations, grant and revoke the committee role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Org
from app.present.i18n import _
from app.present.labels import ORG_KIND_LABELS
from app.present.messages import message_for
from app.schemas import MAX_ID
from app.services import directory, orgs
from app.services.access import Actor, get_managed_org, require_admin, require_committee
from app.services.directory import OrgNode
from app.services.errors import DomainError, NotFound, attempt
from app.web.deps import WebActor
from app.web.forms import optional_id, parse_int, parse_name
from app.web.render import flash, is_htmx, redirect, render

router = APIRouter()

Text = Annotated[str, Form(max_length=200)]


def _flatten(nodes: list[OrgNode]) -> list[OrgNode]:
    out: list[OrgNode] = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.children))
    return out


def _org_form_context(tree: list[OrgNode], form: dict[str, str] | None,
                      error: str | None) -> dict[str, Any]:
    parents = [n for n in _flatten(tree) if n.org.kind != "branch"]
    default_parent = str(parents[0].id) if parents else ""
    return {
        "parents": parents,
        "org_form": form or {"name": "", "kind": "branch" if parents else "committee",
                             "parent_id": default_parent},
        "org_error": error,
        "org_kind_labels": ORG_KIND_LABELS,
    }


def _tree_page(request: Request, session: SessionDep, actor: Actor, *,
               form: dict[str, str] | None = None, form_error: str | None = None,
               grant_org: int | None = None, q: str = "", status_code: int = 200) -> Response:
    require_committee(actor, "open this page")
    tree = directory.org_tree(session, actor)
    candidates: list[directory.Person] = []
    if grant_org is not None and actor.is_admin:
        candidates = directory.committee_candidates(session, actor, grant_org, q)
    context = {"tree": tree, "grant_org": grant_org, "q": q, "candidates": candidates,
               **_org_form_context(tree, form, form_error)}
    return render(request, "pages/admin/tree.html", context, status_code=status_code)


@router.get("/admin")
def tree_page(request: Request, session: SessionDep, actor: WebActor,
              grant_org: int | None = None, q: str = "") -> Response:
    """The organisation tree; `grant_org` and `q` show a committee search without JavaScript."""
    return _tree_page(request, session, actor, grant_org=grant_org, q=q[:50])


@router.post("/admin/orgs")
def create_org(request: Request, session: SessionDep, actor: WebActor, clock: ClockDep,
               name: Text = "", kind: Text = "", parent_id: Text = "") -> Response:
    require_admin(actor)
    form = {"name": name, "kind": kind, "parent_id": parent_id}

    def create() -> Org:
        return orgs.create_org(session, actor, parse_name(name, 100),
                               optional_id(parent_id), kind, clock.now())

    result = attempt(session, create)
    if isinstance(result, DomainError):
        if is_htmx(request):
            tree = directory.org_tree(session, actor)
            context = _org_form_context(tree, form, message_for(result))
            return render(request, "partials/admin/org_form.html", context,
                          status_code=result.status_code)
        return _tree_page(request, session, actor, form=form, form_error=message_for(result),
                          status_code=result.status_code)
    flash(request, _("已新建：{name}").format(name=result.name))
    return redirect(request, f"/admin#org-{result.id}")


def _committee_block(request: Request, session: SessionDep, org: Org, *, error: str | None = None,
                     notice: str | None = None, status_code: int = 200) -> Response:
    assert org.id is not None
    context = {"org": org, "committee": directory.committee_people(session, org.id),
               "error": error, "notice": notice, "q": "", "candidates": [],
               "open_grant": error is not None}
    return render(request, "partials/admin/committee.html", context, status_code=status_code)


@router.get("/admin/orgs/{org_id}/candidates")
def committee_candidates(request: Request, org_id: int, session: SessionDep, actor: WebActor,
                         q: str = "") -> Response:
    """Members of the subtree to choose from, by name (the picker of the grant form)."""
    org = get_managed_org(session, actor, org_id)
    require_admin(actor)
    if not is_htmx(request):
        return _tree_page(request, session, actor, grant_org=org_id, q=q[:50])
    candidates = directory.committee_candidates(session, actor, org_id, q[:50])
    return render(request, "partials/admin/candidates.html",
                  {"org": org, "q": q[:50], "candidates": candidates})


def _committee_change(request: Request, session: SessionDep, org: Org,
                      result: object, done: str) -> Response:
    if isinstance(result, DomainError):
        if is_htmx(request):
            return _committee_block(request, session, org, error=message_for(result),
                                    status_code=result.status_code)
        raise result
    if is_htmx(request):
        return _committee_block(request, session, org, notice=done)
    flash(request, done)
    return redirect(request, f"/admin#org-{org.id}")


@router.post("/admin/orgs/{org_id}/committee")
def grant_committee(request: Request, org_id: int, session: SessionDep, actor: WebActor,
                    clock: ClockDep, member_id: Text = "") -> Response:
    org = get_managed_org(session, actor, org_id)
    require_admin(actor)

    def grant() -> int:
        chosen = parse_int(member_id, "unknown_member", 1, MAX_ID)
        orgs.grant_committee(session, actor, org_id, chosen, clock.now())
        return chosen

    result = attempt(session, grant)
    done = ""
    if isinstance(result, int):
        person = next(p for p in directory.committee_people(session, org_id)
                      if p.member_id == result)
        done = _("已将{name}设为{org}的支委。").format(name=person.name, org=org.name)
    return _committee_change(request, session, org, result, done)


def _sitting(session: SessionDep, org_id: int, member_id: int) -> directory.Person:
    for person in directory.committee_people(session, org_id):
        if person.member_id == member_id:
            return person
    raise NotFound(f"Member {member_id} is not on the committee of organisation {org_id}.")


@router.get("/admin/orgs/{org_id}/committee/{member_id}/revoke")
def revoke_confirm(request: Request, org_id: int, member_id: int, session: SessionDep,
                   actor: WebActor) -> Response:
    """Asks before taking the role away (the confirmation without JavaScript)."""
    org = get_managed_org(session, actor, org_id)
    require_admin(actor)
    person = _sitting(session, org_id, member_id)
    return render(request, "pages/admin/revoke.html", {"org": org, "person": person})


@router.post("/admin/orgs/{org_id}/committee/{member_id}/revoke")
def revoke_committee(request: Request, org_id: int, member_id: int, session: SessionDep,
                     actor: WebActor, clock: ClockDep) -> Response:
    org = get_managed_org(session, actor, org_id)
    require_admin(actor)
    name = next((p.name for p in directory.committee_people(session, org_id)
                 if p.member_id == member_id), "")
    result = attempt(session, lambda: orgs.revoke_committee(session, actor, org_id, member_id,
                                                            clock.now()))
    done = _("已免去{name}在{org}的支委职务。").format(name=name, org=org.name)
    return _committee_change(request, session, org, result, done)
