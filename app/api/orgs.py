"""Organisations and committee grants."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.params import MemberIdPath, OrgIdPath
from app.api.shape import listed, org_out
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import GrantCreate, GrantOut, OrgCreate, OrgOut, Page
from app.services import orgs
from app.services.access import get_org

router = APIRouter(tags=["organisations"])


@router.post("/orgs", status_code=status.HTTP_201_CREATED, response_model=OrgOut,
             responses=errors(401, 403, 422))
def create_org(body: OrgCreate, session: SessionDep, actor: CurrentActor,
               clock: ClockDep) -> OrgOut:
    """Create an organisation (administrators)."""
    return org_out(orgs.create_org(session, actor, body.name, body.parent_id, body.kind,
                                   clock.now()))


@router.get("/orgs", response_model=Page[OrgOut],
            responses=errors(401, 422, codes={422: SYNC_CODES}))
def list_orgs(session: SessionDep, actor: CurrentActor, paging: PagingDep,
              sync: SyncDep) -> Page[OrgOut]:
    """Organisations the caller may see, in tree order; a sync read by (updated_at, id)."""
    found = orgs.list_orgs(session, actor, paging.limit, paging.offset, sync)
    return Page[OrgOut](items=[org_out(o) for o in found.rows], **listed(found))


@router.get("/orgs/{org_id}", response_model=OrgOut, responses=errors(401, 404, 422))
def read_org(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor) -> OrgOut:
    """One organisation."""
    return org_out(get_org(session, actor, org_id))


@router.post("/orgs/{org_id}/committee", status_code=status.HTTP_201_CREATED,
             response_model=GrantOut, responses=errors(401, 403, 404, 409, 422))
def grant_committee(org_id: OrgIdPath, body: GrantCreate, session: SessionDep, actor: CurrentActor,
                    clock: ClockDep) -> GrantOut:
    """Grant a member the committee role on this organisation (administrators)."""
    grant = orgs.grant_committee(session, actor, org_id, body.member_id, clock.now())
    return GrantOut.model_validate(grant, from_attributes=True)


@router.get("/orgs/{org_id}/committee", response_model=list[GrantOut],
            responses=errors(401, 404, 422))
def list_committee(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor) -> list[GrantOut]:
    """The committee members of this organisation."""
    get_org(session, actor, org_id)
    return [GrantOut.model_validate(g, from_attributes=True)
            for g in orgs.committee_of(session, org_id)]


@router.delete("/orgs/{org_id}/committee/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=errors(401, 403, 404, 422))
def revoke_committee(org_id: OrgIdPath, member_id: MemberIdPath, session: SessionDep,
                     actor: CurrentActor,
                     clock: ClockDep) -> Response:
    """Take the committee role away (administrators)."""
    orgs.revoke_committee(session, actor, org_id, member_id, clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
