"""Entries: report, record, approve, reject, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.shape import entries_out, entry_out, listed
from app.clock import ClockDep
from app.db import SessionDep
from app.models import EntryStatus
from app.schemas import EntryCreate, EntryOut, EntryResubmit, Id, Page, ReasonBody, Year
from app.services import entries
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
    return entry_out(entries.create_entry(session, actor, new, clock.now(), clock.today()))


@router.get("/entries", response_model=Page[EntryOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_entries(
    session: SessionDep, actor: CurrentActor, paging: PagingDep, sync: SyncDep,
    member_id: Id | None = None,
    org_id: Annotated[Id | None, Query(description="Only this organisation's subtree; 404 "
                                       "outside the caller's view.")] = None,
    status: EntryStatus | None = None,
    year: Annotated[Year | None, Query()] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
) -> Page[EntryOut]:
    """Entries the caller may see, newest first; a sync read by (updated_at, id)."""
    f = EntryFilter(member_id=member_id, org_id=org_id, status=status, year=year,
                    quarter=quarter)
    found = entries.list_entries(session, actor, f, paging.limit, paging.offset, sync)
    return Page[EntryOut](items=entries_out(session, found.rows), **listed(found))


@router.get("/entries/{entry_id}", response_model=EntryOut, responses=errors(401, 404, 422))
def read_entry(entry_id: Id, session: SessionDep, actor: CurrentActor) -> EntryOut:
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
def resubmit_entry(entry_id: Id, body: EntryResubmit, session: SessionDep,
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
    return entry_out(entries.resubmit_entry(session, actor, entry_id, change, clock.now(),
                                            clock.today()))


@router.post("/entries/{entry_id}/approve", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 403: ("own_entry",), 409: ("not_pending", "quarter_locked"),
                 422: ("note_required",)}))
def approve_entry(entry_id: Id, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> EntryOut:
    """Approve a pending entry of another member; a veto or big deduction recorded without
    a note is refused (`note_required`): reject it, and record it again with one."""
    return entry_out(entries.approve_entry(session, actor, entry_id, clock.now()))


@router.post("/entries/{entry_id}/reject", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422))
def reject_entry(entry_id: Id, body: ReasonBody, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> EntryOut:
    """Reject a pending entry of another member, saying why."""
    return entry_out(entries.reject_entry(session, actor, entry_id, body.reason, clock.now()))


@router.post("/entries/{entry_id}/revoke", response_model=EntryOut,
             responses=errors(401, 403, 404, 409, 422))
def revoke_entry(entry_id: Id, body: ReasonBody, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> EntryOut:
    """Revoke an approved entry, saying why; it stays on record."""
    return entry_out(entries.revoke_entry(session, actor, entry_id, body.reason, clock.now()))
