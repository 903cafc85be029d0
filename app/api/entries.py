"""Entries: report, record, approve, reject, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, codes_said, errors
from app.api.params import EntryIdPath, MemberFilter, OrgFilter, YearFilter
from app.api.problems import problem
from app.api.shape import entries_out, entry_out, listed
from app.clock import ClockDep
from app.db import SessionDep
from app.models import EntryStatus
from app.schemas import EntryCreate, EntryOut, EntryResubmit, Page, ReasonBody
from app.schemas.operations import (
    BatchApprove,
    BatchApprovedOut,
    BatchRefusedOut,
    EntryRefusalOut,
    batch_refused_example,
)
from app.services import bulk_approval, entries
from app.services.bulk_approval import BatchRefused
from app.services.entries import EntryFilter, NewEntry, Resubmission

router = APIRouter(tags=["entries"])

# The refusals of a new entry (docs/scoring.md, Workflow 1), listed in the schema.
CREATE_REFUSALS = {
    403: ("self_report_kind",),
    409: ("quarter_locked", "member_left"),
    422: ("validation_error", "future_date", "before_joined", "unknown_rule",
          "category_not_applicable", "veto_has_no_points", "points_required",
          "points_out_of_range", "points_not_allowed", "quantity_not_allowed",
          "quantity_out_of_range", "evidence_unknown", "text_control_character",
          "note_required"),
}


@router.post("/entries", status_code=status.HTTP_201_CREATED, response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422, codes=CREATE_REFUSALS))
def create_entry(body: EntryCreate, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> EntryOut:
    """Self-report (pending) or record for a member (approved when by the committee). A veto,
    or a deduction of 10 points or more (the year's `basic_single_deduction`), needs a
    note the member will see: 422 `note_required` without one.

    409 `member_left` for an entry dated on or after the day its member left (their
    earlier entries may still be recorded); `quarter_locked` in a finalized quarter.
    """
    new = NewEntry(**body.model_dump())
    return entry_out(session, entries.create_entry(session, actor, new, clock.now(), clock.today()))


@router.get("/entries", response_model=Page[EntryOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_entries(
    session: SessionDep, actor: CurrentActor, paging: PagingDep, sync: SyncDep,
    member_id: MemberFilter = None,
    org_id: OrgFilter = None,
    status: Annotated[EntryStatus | None, Query(description="Only entries in this state.")]
    = None,
    year: YearFilter = None,
    quarter: Annotated[int | None, Query(ge=1, le=4, description="Only this quarter's (1 to "
                                         "4), by the day the entry happened.")] = None,
) -> Page[EntryOut]:
    """Entries the caller may see, newest first; a sync read by (updated_at, id)."""
    f = EntryFilter(member_id=member_id, org_id=org_id, status=status, year=year,
                    quarter=quarter)
    found = entries.list_entries(session, actor, f, paging.limit, paging.offset, sync)
    return Page[EntryOut](items=entries_out(session, found.rows), **listed(found))


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=errors(401, 404, 422))
def read_entry(entry_id: EntryIdPath, session: SessionDep, actor: CurrentActor) -> EntryOut:
    """One entry; a rejected one names the entry that resubmitted it (`resubmitted_by`)."""
    return entries_out(session, [entries.get_entry(session, actor, entry_id)[0]])[0]


# The refusals of a resubmission: its own, then those of any new entry.
RESUBMIT_REFUSALS = {
    403: ("not_own_entry", *CREATE_REFUSALS[403]),
    409: ("not_rejected", "already_resubmitted", *CREATE_REFUSALS[409]),
    422: CREATE_REFUSALS[422],
}


@router.post("/entries/{entry_id}/resubmit", status_code=status.HTTP_201_CREATED,
             response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422, codes=RESUBMIT_REFUSALS))
def resubmit_entry(entry_id: EntryIdPath, body: EntryResubmit, session: SessionDep,
                   actor: CurrentActor, clock: ClockDep) -> EntryOut:
    """Correct a rejected entry about me and send it again: a new entry (`resubmits` names
    the rejected one, which stays as it was, with its reason), checked as any new entry.
    Each field left out keeps the rejected entry's value; its photo is kept unless
    `evidence` names another of mine, or is null or "" for none.

    403 `not_own_entry` for anyone but the entry's member (the committee records a correct
    entry instead); 409 `not_rejected` for an entry not rejected, `already_resubmitted` for
    one resubmitted before (once per rejected entry).
    """
    sent = body.model_fields_set
    change = Resubmission(
        **body.model_dump(exclude={"evidence"}),
        evidence=body.evidence or None,
        keep_photo="evidence" not in sent)
    return entry_out(session, entries.resubmit_entry(session, actor, entry_id, change,
                                                     clock.now(), clock.today()))


# The refusals of one approval (POST /entries/{id}/approve), each listed by entry in a
# refused batch under its own status.
APPROVE_REFUSALS = {
    403: ("own_entry", "committee_only"),
    404: ("not_found",),
    409: ("not_pending", "quarter_locked"),
    422: ("note_required",),
}


def _batch_refusal(status: int, meaning: str) -> dict[str, Any]:
    codes = APPROVE_REFUSALS[status]
    also = " (`validation_error`: a bad body, no ids, over 200, an id twice)" \
        if status == 422 else ""
    return {"model": BatchRefusedOut, "description": (
        f"{meaning}: nothing approved; `errors` lists every entry that cannot be approved "
        "with its own status and code (" + ", ".join(f"`{c}`" for c in codes) +
        " here, or those of a graver status)." +
        codes_said(("batch_refused", *(("validation_error",) if status == 422 else ())))
        + also),
        "content": {"application/json": {"example": batch_refused_example(status, codes[0])}}}


@router.post("/entries/approve", response_model=BatchApprovedOut, responses={
    **errors(401),
    403: _batch_refusal(403, "An entry the caller may not approve"),
    404: _batch_refusal(404, "An entry that does not exist or is outside the caller's scope"),
    409: _batch_refusal(409, "An entry not pending, or in a confirmed quarter"),
    422: _batch_refusal(422, "A veto or big deduction without a note, or a bad body"),
})
def approve_entries(body: BatchApprove, request: Request, session: SessionDep,
                    actor: CurrentActor, clock: ClockDep) -> Any:
    """Approve up to 200 pending entries at once, all or nothing: each as POST
    /entries/{id}/approve approves it (not one's own, not in a confirmed quarter, a note
    for a veto or big deduction, audited). Answers every entry approved, in the order sent.

    One refused and none is approved: `batch_refused` with `errors` listing each refused
    entry (`id`, its `status`, `code` and `detail`); the answer's status is the gravest of
    theirs, in the order 404, 403, 422, 409. Send the batch again without them.
    """
    try:
        approved = bulk_approval.approve_all(session, actor, body.ids, clock.now())
    except BatchRefused as refused:
        return problem(request.url.path, refused.status_code, refused.detail, refused.code,
                       errors=[EntryRefusalOut(id=r.entry_id, status=r.error.status_code,
                                               code=r.error.code, detail=r.error.detail)
                               for r in refused.refusals])
    return BatchApprovedOut(items=entries_out(session, approved))


@router.post("/entries/{entry_id}/approve", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 403: ("own_entry",), 409: ("not_pending", "quarter_locked"),
                 422: ("note_required",)}))
def approve_entry(entry_id: EntryIdPath, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> EntryOut:
    """Approve a pending entry of another member; a veto or big deduction recorded without
    a note is refused (`note_required`): reject it, and record it again with one."""
    return entry_out(session, entries.approve_entry(session, actor, entry_id, clock.now()))


@router.post("/entries/{entry_id}/reject", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422))
def reject_entry(entry_id: EntryIdPath, body: ReasonBody, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> EntryOut:
    """Reject a pending entry of another member, saying why."""
    return entry_out(session, entries.reject_entry(session, actor, entry_id, body.reason,
                                                   clock.now()))


@router.post("/entries/{entry_id}/revoke", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422))
def revoke_entry(entry_id: EntryIdPath, body: ReasonBody, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> EntryOut:
    """Revoke an approved entry, saying why; it stays on record."""
    return entry_out(session, entries.revoke_entry(session, actor, entry_id, body.reason,
                                                   clock.now()))
