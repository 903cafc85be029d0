"""Annual ratings 评星定级 and their steps (appraisal.md §2, §6): the ballot (民主测评),
self-assessments, publication (公示), objections, submission and the level above's
approval."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.etags import IfMatchDep
from app.api.params import MemberIdPath, OrgFilter, OrgIdPath, RatingIdPath, YearFilter
from app.api.shape import listed, objection_out, rating_out
from app.clock import ClockDep
from app.db import SessionDep
from app.models import Org, Rating
from app.points import Grade
from app.schemas import (
    BallotBody,
    BallotCastOut,
    BallotLineOut,
    GradeChange,
    MyBallotOut,
    ObjectionCreate,
    ObjectionOut,
    Page,
    PaperBallotOut,
    RatingBatchOut,
    RatingCreate,
    RatingOut,
    RatingPublishBody,
    RatingSubmitBody,
    RatingSummaryOut,
    ReasonBody,
    SelfAssessmentBody,
    SelfAssessmentItemOut,
    SelfAssessmentOut,
)
from app.services import appraisal, rating_view, ratings
from app.services.access import Actor
from app.services.errors import NotFound

router = APIRouter(tags=["ratings"])

# The refusals of each step, listed in the schema (appraisal.md §2, §6).
DRAFT_ONLY = ("rating_final", "rating_not_draft", "rating_changed")
# A publication or submission before the year's end, or with a short notice, without a
# reason; or a body the step cannot take.
EARLY = ("reason_required", "validation_error")
BALLOT_REFUSALS = {403: ("not_a_voter",),
                   409: ("ballot_not_open", "already_voted", "ballot_full"),
                   422: ("own_line", "not_a_graded_line", "unknown_grade", "validation_error")}


def _answer(session: SessionDep, actor: Actor, rating: Rating, clock: ClockDep) -> RatingOut:
    org = session.get(Org, rating.org_id)
    assert org is not None
    return rating_out(session, actor, rating, org, clock.now())


def _votes(body: BallotBody) -> dict[int, Grade]:
    return {member_id: Grade(grade.value) for member_id, grade in body.votes.items()}


@router.post("/orgs/{org_id}/ratings", status_code=status.HTTP_201_CREATED,
             response_model=RatingOut, responses=errors(401, 403, 404, 409, 422))
def create_rating(org_id: OrgIdPath, body: RatingCreate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> RatingOut:
    """Create the year's rating with proposed grades, once all four quarters are finalized."""
    rating = ratings.create_rating(session, actor, org_id, body.year, clock.now())
    return _answer(session, actor, rating, clock)


@router.post("/orgs/{org_id}/ratings/batch", response_model=RatingBatchOut,
             responses=errors(401, 403, 404, 422))
def create_ratings(org_id: OrgIdPath, body: RatingCreate, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep) -> RatingBatchOut:
    """Draft ratings for every ready branch under an organisation (a town, a city).

    Branches already rated or with a quarter not finalized are listed in `skipped` with
    the code a single create would answer; each branch's committee then takes its own
    rating through the ballot, publication and submission as usual.
    """
    batch = ratings.create_ratings(session, actor, org_id, body.year, clock.now())
    return RatingBatchOut.model_validate({
        "created": [{"id": rating_id, "org_id": branch_id}
                    for rating_id, branch_id in batch.created],
        "skipped": [vars(s) for s in batch.skipped]})


@router.get("/ratings", response_model=Page[RatingSummaryOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_ratings(session: SessionDep, actor: CurrentActor, paging: PagingDep, sync: SyncDep,
                 org_id: OrgFilter = None,
                 year: YearFilter = None) -> Page[RatingSummaryOut]:
    """Ratings the caller may see (members: their branch's, once published); a sync read by
    (updated_at, id)."""
    found = ratings.list_ratings(session, actor, org_id, year, paging.limit, paging.offset,
                                 sync)
    return Page[RatingSummaryOut](
        items=[RatingSummaryOut.model_validate(r, from_attributes=True) for r in found.rows],
        **listed(found))


@router.get("/ratings/{rating_id}", response_model=RatingOut, responses=errors(401, 404, 422))
def read_rating(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> RatingOut:
    """One rating with every member's score, stars and grade; the ballot's state; to the
    committees, once the ballot is closed, each line's tally. Its ETag is what PATCH
    .../items/{member_id}'s If-Match names."""
    return _read(session, actor, rating_id, clock)


def _read(session: SessionDep, actor: Actor, rating_id: int, clock: ClockDep) -> RatingOut:
    rating, _ = ratings.get_rating(session, actor, rating_id)
    return _answer(session, actor, rating, clock)


@router.patch("/ratings/{rating_id}/items/{member_id}", response_model=RatingOut,
              responses=errors(401, 403, 404, 409, 422, codes={
                  409: (*DRAFT_ONLY, "not_graded", "excellent_cap", "vetoed_grade")}))
def change_grade(rating_id: RatingIdPath, member_id: MemberIdPath, body: GradeChange,
                 session: SessionDep,
                 actor: CurrentActor, clock: ClockDep, if_match: IfMatchDep) -> RatingOut:
    """Change a proposed grade, with a reason, while in draft (组织评定). With If-Match
    (the ETag of GET /ratings/{id}): 412 when the rating changed since."""
    unchanged = if_match.guard(lambda: _read(session, actor, rating_id, clock))
    rating = ratings.override_grade(session, actor, rating_id, member_id, body.grade,
                                    body.reason, clock.now(), unchanged)
    return _answer(session, actor, rating, clock)


@router.put("/ratings/{rating_id}/self-assessment", response_model=SelfAssessmentOut,
            responses=errors(401, 403, 404, 409, 422, codes={403: ("not_on_rating",),
                                                             409: DRAFT_ONLY}))
def write_self_assessment(rating_id: RatingIdPath, body: SelfAssessmentBody,
                          session: SessionDep,
                          actor: CurrentActor, clock: ClockDep,
                          if_match: IfMatchDep) -> SelfAssessmentOut:
    """Write or rewrite one's own self-assessment (个人自评) while the rating is a draft.
    With If-Match (the ETag of GET .../self-assessment): 412 when it changed since, or
    there is none yet."""
    unchanged = if_match.guard(lambda: _own(session, actor, rating_id))
    own = appraisal.write_self_assessment(session, actor, rating_id, body.text, clock.now(),
                                          unchanged)
    return SelfAssessmentOut.model_validate(own, from_attributes=True)


def _own(session: SessionDep, actor: Actor, rating_id: int) -> SelfAssessmentOut | None:
    own = appraisal.own_self_assessment(session, actor, rating_id)
    return SelfAssessmentOut.model_validate(own, from_attributes=True) if own else None


@router.get("/ratings/{rating_id}/self-assessment", response_model=SelfAssessmentOut,
            responses=errors(401, 404, 422))
def read_own_self_assessment(rating_id: RatingIdPath, session: SessionDep,
                             actor: CurrentActor) -> SelfAssessmentOut:
    """The caller's own self-assessment on the rating; 404 when none is written. Its ETag
    is what PUT .../self-assessment's If-Match names."""
    own = _own(session, actor, rating_id)
    if own is None:
        raise NotFound(f"You have written no self-assessment on rating {rating_id}.")
    return own


@router.get("/ratings/{rating_id}/self-assessments",
            response_model=Page[SelfAssessmentItemOut], responses=errors(401, 404, 422))
def read_self_assessments(rating_id: RatingIdPath, session: SessionDep,
                          actor: CurrentActor) -> Page[SelfAssessmentItemOut]:
    """The self-assessments: to committees always, to the branch's members while the
    rating is a draft (their own always)."""
    rows = appraisal.self_assessments(session, actor, rating_id)
    return Page[SelfAssessmentItemOut](
        items=[SelfAssessmentItemOut(member_id=a.member_id, name=name, text=a.text,
                                     updated_at=a.updated_at) for a, name in rows],
        total=len(rows))


@router.post("/ratings/{rating_id}/ballot/open", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: (*DRAFT_ONLY, "ballot_opened", "no_voters")}))
def open_ballot(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> RatingOut:
    """Open the ballot (民主测评), once: who may vote is counted now."""
    rating = appraisal.open_ballot(session, actor, rating_id, clock.now(), clock.today())
    return _answer(session, actor, rating, clock)


@router.post("/ratings/{rating_id}/ballot/close", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={409: ("ballot_not_open",)}))
def close_ballot(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> RatingOut:
    """Close the ballot; the committees then see each line's tally."""
    rating = appraisal.close_ballot(session, actor, rating_id, clock.now())
    return _answer(session, actor, rating, clock)


@router.post("/ratings/{rating_id}/ballots", status_code=status.HTTP_201_CREATED,
             response_model=BallotCastOut,
             responses=errors(401, 403, 404, 409, 422, codes=BALLOT_REFUSALS))
def cast_ballot(rating_id: RatingIdPath, body: BallotBody, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> BallotCastOut:
    """Cast one's ballot, once; it cannot be changed. Nothing stored links it to you."""
    appraisal.cast_ballot(session, actor, rating_id, _votes(body), clock.now())
    return BallotCastOut(rating_id=rating_id, cast_at=clock.now())


@router.get("/ratings/{rating_id}/ballot", response_model=MyBallotOut,
            responses=errors(401, 404, 422))
def my_ballot(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor) -> MyBallotOut:
    """My ballot on my branch's rating, in any state (a draft too, which members otherwise
    do not read): whether I may vote and have voted, and while I may, the lines to vote
    on. The rating's id comes with the `ballot_open` notice (GET /me/notices)."""
    mine = rating_view.my_ballot(session, actor, rating_id)
    rating = mine.rating
    return MyBallotOut(
        rating_id=rating_id, org_id=rating.org_id, year=rating.year,
        rating_status=rating.status, ballot=rating.ballot, voters=rating.voters,
        ballots_cast=rating.cast_online + rating.cast_paper, voter=mine.voter, voted=mine.voted,
        lines=[BallotLineOut(member_id=line.member_id, name=line.name,
                             self_assessment=line.self_assessment) for line in mine.lines])


@router.post("/ratings/{rating_id}/paper-ballots", status_code=status.HTTP_201_CREATED,
             response_model=PaperBallotOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: ("ballot_not_open", "ballot_full"),
                 422: ("not_a_graded_line", "unknown_grade", "validation_error")}))
def cast_paper_ballot(rating_id: RatingIdPath, body: BallotBody, session: SessionDep,
                      actor: CurrentActor, clock: ClockDep) -> PaperBallotOut:
    """Type in one paper ballot (the committee); no voter is named."""
    rating = appraisal.cast_paper_ballot(session, actor, rating_id, _votes(body), clock.now())
    return PaperBallotOut(rating_id=rating_id, cast_paper=rating.cast_paper)


@router.post("/ratings/{rating_id}/publish", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: (*DRAFT_ONLY, "ballot_open", "ballot_required"),
                 422: ("notice_out_of_range", *EARLY)}))
def publish_rating(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep,
                   body: RatingPublishBody | None = None) -> RatingOut:
    """Publish the rating to the branch (公示) for `notice_days`. Before the year has ended,
    or with a notice below the year's min_notice_days, only with a `reason`, which is
    stored."""
    given = body or RatingPublishBody()
    rating = appraisal.publish(session, actor, rating_id, given.notice_days, clock.now(),
                               reason=given.reason)
    return _answer(session, actor, rating, clock)


@router.post("/ratings/{rating_id}/objections", status_code=status.HTTP_201_CREATED,
             response_model=ObjectionOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 403: ("not_on_rating",), 409: ("notice_not_running",)}))
def raise_rating_objection(rating_id: RatingIdPath, body: ObjectionCreate, session: SessionDep,
                    actor: CurrentActor, clock: ClockDep) -> ObjectionOut:
    """Object to one's own line while the notice runs; the committee answers with
    POST /objections/{id}/resolve."""
    return objection_out(appraisal.raise_objection(session, actor, rating_id, body.text,
                                                   clock.now()))


@router.get("/ratings/{rating_id}/objections", response_model=Page[ObjectionOut],
            responses=errors(401, 404, 422))
def list_rating_objections(rating_id: RatingIdPath, session: SessionDep,
                    actor: CurrentActor) -> Page[ObjectionOut]:
    """Committees: every objection to the rating; a member: their own."""
    rows = appraisal.objections(session, actor, rating_id)
    return Page[ObjectionOut](items=[objection_out(o) for o in rows], total=len(rows))


@router.post("/ratings/{rating_id}/reopen", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: ("rating_not_published",), 422: ("reason_required",)}))
def reopen_rating(rating_id: RatingIdPath, body: ReasonBody, session: SessionDep,
                  actor: CurrentActor,
                  clock: ClockDep) -> RatingOut:
    """Take a published rating back to draft, with a reason (to change a grade after an
    objection). The tally is kept; publishing again starts a new notice."""
    rating = appraisal.reopen(session, actor, rating_id, body.reason, clock.now())
    return _answer(session, actor, rating, clock)


@router.post("/ratings/{rating_id}/submit", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: ("rating_not_published", "notice_running", "objections_open",
                       "rating_changed"),
                 422: EARLY}))
def submit_rating(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep,
                  body: RatingSubmitBody | None = None) -> RatingOut:
    """Submit the published rating to the level above (上报), once its notice has ended and
    every objection is answered. Before the year has ended, only with a `reason`, which is
    stored (the body may be left out otherwise)."""
    reason = body.reason if body else None
    rating = appraisal.submit(session, actor, rating_id, clock.now(), reason=reason)
    return _answer(session, actor, rating, clock)


SUBMITTED_ONLY = {403: ("committee_above_only", "own_submission"),
                  409: ("rating_not_submitted",)}


@router.post("/ratings/{rating_id}/approve", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes=SUBMITTED_ONLY))
def approve_rating(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep) -> RatingOut:
    """Approve a submitted rating (上级审批): the committee of the nearest 党委 above the
    branch, or an administrator, not the account that published or submitted it. Final."""
    rating = appraisal.approve(session, actor, rating_id, clock.now())
    return _answer(session, actor, rating, clock)


@router.post("/ratings/{rating_id}/return", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 **SUBMITTED_ONLY, 422: ("reason_required",)}))
def return_rating(rating_id: RatingIdPath, body: ReasonBody, session: SessionDep,
                  actor: CurrentActor,
                  clock: ClockDep) -> RatingOut:
    """Return a submitted rating to the branch as a draft, with a reason."""
    rating = appraisal.return_rating(session, actor, rating_id, body.reason, clock.now())
    return _answer(session, actor, rating, clock)
