"""The attendance register (签到簿): one item on one day for a branch's members at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse

from app.api.deps import REPLAYED, CurrentActor, errors
from app.api.entries import CREATE_REFUSALS
from app.api.params import OrgIdPath
from app.api.problems import problem
from app.api.shape import entries_out
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas.attendance import (
    AttendanceCreate,
    AttendanceOut,
    AttendanceRefusedOut,
    MemberProblemOut,
)
from app.services import attendance
from app.services.attendance import MEMBER_CODES, Recorded, Register, RegisterRefused

router = APIRouter(tags=["entries"])

# The register's own refusals are a single entry's (but those of one member's row, listed
# per member under register_invalid), and its own.
_REGISTER_422 = tuple(dict.fromkeys((
    "validation_error", "register_invalid", "nothing_to_record", "absences_not_for_item",
    "absence_item_missing", "too_many_members", "year_out_of_range",
    *(c for c in CREATE_REFUSALS[422] if c not in MEMBER_CODES and c != "evidence_unknown"))))


def _out(session: SessionDep, recorded: Recorded) -> dict[str, Any]:
    out = AttendanceOut(org_id=recorded.org.id or 0,
                        entries=entries_out(session, recorded.entries),
                        excused=recorded.excused, capped=recorded.capped,
                        recorded_at=recorded.recorded_at)
    return out.model_dump(mode="json")


@router.post(
    "/orgs/{org_id}/attendance", status_code=status.HTTP_201_CREATED,
    response_model=AttendanceOut,
    responses={422: {"model": AttendanceRefusedOut, "description": (
        "Nothing was recorded. Codes: " + ", ".join(f"`{c}`" for c in _REGISTER_422)
        + ". Under `register_invalid`, `errors` lists each member's problem, codes: "
        + ", ".join(f"`{c}`" for c in sorted(MEMBER_CODES)) + ".")},
        **errors(401, 403, 404, 409, codes={403: ("committee_only",),
                                            409: ("quarter_locked",)})})
def record_attendance(request: Request, org_id: OrgIdPath, body: AttendanceCreate,
                      session: SessionDep, actor: CurrentActor, clock: ClockDep) -> Any:
    """Record an attendance register: one entry of the item for each member present, and
    with `record_absences` an N01 entry (无故缺席) for each other member of the branch on
    that day who is not excused; nothing for the excused. Entries start approved, except
    those about the caller themself (pending), as POST /entries records them.

    All or nothing: any refused row refuses the register (422 `register_invalid` listing
    every member's problem, or the register's own refusal, as POST /entries gives it), and
    nothing is recorded. The same register sent again by the same caller records nothing:
    the answer is the first's, with `Idempotent-Replayed: true`. The branch's committee,
    those above it, or an administrator (403 otherwise; 404 for an organisation outside
    the caller's scope).
    """
    register = Register(org_id=org_id, rule_code=body.rule_code,
                        occurred_on=body.occurred_on, present=body.present,
                        excused=body.excused, record_absences=body.record_absences,
                        quantity=body.quantity, points=body.points, note=body.note)
    try:
        recorded = attendance.record_register(session, actor, register, clock.now(),
                                              clock.today())
    except RegisterRefused as error:
        # Nothing was written (the service's savepoint was rolled back).
        return problem(request.url.path, 422, error.detail, error.code, errors=[
            MemberProblemOut(member_id=p.member_id, name=p.name, mark=p.mark, code=p.code,
                             message=p.error.detail) for p in error.problems])
    if recorded.again:
        return JSONResponse(_out(session, recorded), status_code=201, headers={REPLAYED: "true"})
    return _out(session, recorded)
