"""Disposal cases (不合格党员处置, appraisal.md §5, §6): the filing, each step's body (one
model per `kind`), and the case as answered with its steps."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from app.models import CaseGround, CaseMeasure, CaseOutcome, CaseStatus
from app.points.disposal import MAX_RECTIFY_MONTHS, MIN_RECTIFY_MONTHS
from app.schemas import ACTOR, Body, FromText, Id, Year, examples

CaseText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Words = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Day = Annotated[date, FromText]
Count = Annotated[int, Field(ge=0, le=100_000)]
Months = Annotated[int, Field(ge=MIN_RECTIFY_MONTHS, le=MAX_RECTIFY_MONTHS)]


class PrereviewDecision(StrEnum):
    """The level above's pre-review (预审) of a proposal: approve it, or return it."""

    approve = "approve"
    return_ = "return"


class CaseDecision(StrEnum):
    """The level above's decision (审批) on the branch meeting's vote."""

    approve = "approve"
    refuse = "refuse"


class FollowupResult(StrEnum):
    """The follow-up at the end of 限期改正."""

    rectified = "rectified"
    not_rectified = "not_rectified"


class NextBy(StrEnum):
    """Who takes a case's next step."""

    branch_committee = "branch_committee"
    committee_above = "committee_above"
    member = "member"


class CaseCreate(Body):
    model_config = examples({"member_id": 12, "ground": "unqualified_rating", "year": 2025,
                             "filed_on": "2026-01-05"})

    member_id: Id
    ground: Annotated[CaseGround, FromText] = Field(
        description="unqualified_rating (graded unqualified in the approved rating of "
        "`year`), lost_contact, no_participation (only expel may follow) or other (note "
        "required).")
    year: Year
    note: CaseText = ""
    filed_on: Day | None = Field(default=None, description=(
        "The day the case was started; default today (Beijing), never in the future."))


class InvestigationIn(Body):
    model_config = examples({"kind": "investigation", "findings": "经调查核实……",
                             "investigated_on": "2026-01-06"})

    kind: Literal["investigation"]
    findings: Words
    investigated_on: Day | None = Field(default=None, description=(
        "Default today (Beijing); not before the filing."))


class TalkIn(Body):
    model_config = examples({"kind": "talk", "held_on": "2026-01-07", "talker_ids": [13, 14],
                             "summary": "谈话内容……"})

    kind: Literal["talk"]
    held_on: Day
    talker_ids: Annotated[list[Id], Field(min_length=2, max_length=2, description=(
        "Two different full members of the branch with their rights, not the member."))]
    summary: Words


class ProposalIn(Body):
    model_config = examples({"kind": "proposal", "measure": "rectify", "months": 6,
                             "reason": "支委会研究提出……"})

    kind: Literal["proposal"]
    measure: Annotated[CaseMeasure, FromText]
    months: Months | None = Field(default=None, description=(
        "rectify only; default the year's rule set's rectify_months (6)."))
    reason: Words


class PrereviewIn(Body):
    model_config = examples({"kind": "prereview", "decision": "approve"})

    kind: Literal["prereview"]
    decision: Annotated[PrereviewDecision, FromText]
    note: CaseText = Field(default="", description="Required when returned.")


class DefenceIn(Body):
    model_config = examples({"kind": "defence", "text": "本人申辩……"})

    kind: Literal["defence"]
    text: Words


class VoteIn(Body):
    model_config = examples({"kind": "vote", "held_on": "2026-01-09", "present": 9, "for": 7,
                             "against": 1, "abstain": 1})

    kind: Literal["vote"]
    held_on: Day
    present: Count
    votes_for: Count = Field(alias="for")
    against: Count
    abstain: Count


class DecisionIn(Body):
    model_config = examples({"kind": "decision", "decision": "approve", "decided_on": "2026-01-10"})

    kind: Literal["decision"]
    decision: Annotated[CaseDecision, FromText]
    decided_on: Day | None = Field(default=None, description="Default today (Beijing).")
    note: CaseText = ""


class WithdrawalIn(Body):
    model_config = examples({"kind": "withdrawal", "agreed": True})

    kind: Literal["withdrawal"]
    agreed: bool
    note: CaseText = ""


class FollowupIn(Body):
    model_config = examples({"kind": "followup", "result": "rectified"})

    kind: Literal["followup"]
    result: Annotated[FollowupResult, FromText]
    note: CaseText = ""


class AppealIn(Body):
    model_config = examples({"kind": "appeal", "text": "本人申诉……"})

    kind: Literal["appeal"]
    text: Words


class AppealAnswerIn(Body):
    model_config = examples({"kind": "appeal_answer", "text": "经复查……"})

    kind: Literal["appeal_answer"]
    text: Words


STEP_BODIES: tuple[type[Body], ...] = (
    InvestigationIn, TalkIn, ProposalIn, PrereviewIn, DefenceIn, VoteIn, DecisionIn,
    WithdrawalIn, FollowupIn, AppealIn, AppealAnswerIn)


def _kind(value: Any) -> Any:
    """The body's `kind`, which picks its model (a callable: Body's validators run on every
    field, which a plain discriminator field may not have)."""
    return value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)


StepBody = Annotated[
    Annotated[InvestigationIn, Tag("investigation")] | Annotated[TalkIn, Tag("talk")]
    | Annotated[ProposalIn, Tag("proposal")] | Annotated[PrereviewIn, Tag("prereview")]
    | Annotated[DefenceIn, Tag("defence")] | Annotated[VoteIn, Tag("vote")]
    | Annotated[DecisionIn, Tag("decision")] | Annotated[WithdrawalIn, Tag("withdrawal")]
    | Annotated[FollowupIn, Tag("followup")] | Annotated[AppealIn, Tag("appeal")]
    | Annotated[AppealAnswerIn, Tag("appeal_answer")],
    Discriminator(_kind)]


class _Done(BaseModel):
    """Who recorded a step and when: `by` the member (null for an account without one);
    `on_behalf`: an appeal the level above recorded for a member who has left."""

    by: int | None = Field(description=ACTOR.format(did="recorded the step"))
    by_member_id: int | None = Field(deprecated=True, description=(
        "The same as `by` (which was the account's id before issue 18); kept for the "
        "clients that read it."))
    at: datetime
    on_behalf: bool = False


class FileOut(_Done):
    kind: Literal["file"]
    ground: CaseGround
    year: int
    note: str
    filed_on: date = Field(description=(
        "The date entered (for a case filed before filings took one, the Beijing day of `at`)."))


class InvestigationOut(_Done):
    kind: Literal["investigation"]
    findings: str
    investigated_on: date = Field(description=(
        "The date entered (for one recorded before 调查核实 took one, the Beijing day of `at`)."))


class TalkOut(_Done):
    kind: Literal["talk"]
    held_on: date
    talker_ids: list[int]
    summary: str


class ProposalOut(_Done):
    kind: Literal["proposal"]
    measure: CaseMeasure
    months: int | None
    reason: str


class PrereviewOut(_Done):
    kind: Literal["prereview"]
    decision: PrereviewDecision
    note: str


class DefenceOut(_Done):
    kind: Literal["defence"]
    text: str


class AppealOut(_Done):
    kind: Literal["appeal"]
    text: str


class AppealAnswerOut(_Done):
    kind: Literal["appeal_answer"]
    text: str


class VoteOut(_Done):
    model_config = ConfigDict(populate_by_name=True)
    kind: Literal["vote"]
    held_on: date
    present: int
    votes_for: int = Field(alias="for")
    against: int
    abstain: int
    eligible: int = Field(description="The members with a vote that day, counted by the server.")
    passed: bool


class DecisionOut(_Done):
    kind: Literal["decision"]
    decision: CaseDecision
    decided_on: date
    note: str


class WithdrawalOut(_Done):
    kind: Literal["withdrawal"]
    agreed: bool
    note: str


class FollowupOut(_Done):
    kind: Literal["followup"]
    result: FollowupResult
    note: str


StepOut = Annotated[FileOut | InvestigationOut | TalkOut | ProposalOut | PrereviewOut
                    | DefenceOut | AppealOut | AppealAnswerOut | VoteOut | DecisionOut
                    | WithdrawalOut | FollowupOut,
                    Field(discriminator="kind")]


class CaseOut(BaseModel):
    id: int
    member_id: int
    org_id: int
    ground: CaseGround
    year: int
    note: str
    status: CaseStatus
    outcome: CaseOutcome | None
    measure: CaseMeasure | None = Field(description="The measure proposed and under way.")
    months: int | None
    deadline: date | None = Field(description="限期改正 ends (Beijing date): the decision "
                                  "date plus the months, clamped to the month's end.")
    appeal_open: bool
    allowed_measures: list[CaseMeasure] = Field(description="What a proposal may still name.")
    next_step: str | None = Field(description="The step the case waits for; null: none.")
    next_by: NextBy | None
    days_left: int | None = Field(description="Days to the deadline while rectifying "
                                  "(negative once passed).")
    created_at: datetime
    updated_at: datetime
    steps: list[StepOut]
