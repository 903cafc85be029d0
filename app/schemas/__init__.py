"""Request bodies and answers of the JSON API (docs/api.md). Table models are never bodies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.models import (
    BallotStatus,
    EntryStatus,
    ExemptionReason,
    ExemptionStatus,
    LeaveKind,
    ObjectionStatus,
    OrgKind,
    RatingStatus,
    ReviewStatus,
    ServiceAccess,
    Standing,
    SuspensionKind,
)
from app.points import RULE_CODE_PATTERN, Category, Grade, Kind
from app.services.member_import import USERNAME_PATTERN
from app.services.rules import MAX_NOTICE_DAYS, MAX_RECTIFY_MONTHS
from app.services.sheets import RowProblem
from app.services.text import CODE as TEXT_CODE
from app.services.text import bad_character

T = TypeVar("T")
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
# Why a step is taken early (app/services/early_steps.py): blank is none, which the step
# refuses (422 reason_required) only when it is early.
EarlyReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Year = Annotated[int, Field(ge=2000, le=2100)]
# The largest id anyone may send: JavaScript's Number.MAX_SAFE_INTEGER, so the mini-program
# and browsers read every id exactly. The BIGINT ids (app.models.BigId) hold far more.
MAX_ID = 2**53 - 1
# An id in a path, query or body: 1..MAX_ID, so an id beyond it is refused (422) on SQLite
# and PostgreSQL alike instead of 404 on one and 422 on the other.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _refuse_bad_text(value: Any, one_line: bool = False) -> Any:
    """Strings anywhere in a field's value hold nothing app/services/text.py refuses."""
    if isinstance(value, str):
        problem = bad_character(value, one_line)
        if problem is not None:
            raise PydanticCustomError(TEXT_CODE, "holds a character text may not hold: "
                                      "{problem}", {"problem": problem})
    elif isinstance(value, list | tuple | set):
        for item in value:
            _refuse_bad_text(item, one_line)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_bad_text(key, one_line)
            _refuse_bad_text(item, one_line)
    return value


def _whole(value: Any) -> Any:
    """20.0 is the whole number 20 (JSON has one number type, and JSON Schema's integer
    takes it); 20.5 stays a float for the strict int check to refuse. Booleans stay."""
    if type(value) is float and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    return value


def _text_only(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError("text_expected", "must be text (a string), not {kind}",
                                  {"kind": type(value).__name__})
    return value


@dataclass(frozen=True)
class _FromText(GroupedMetadata):
    """Text in JSON that a body field reads as a date, an enum member or an integer map key:
    only text (0 is no date, and would otherwise be read as 1970-01-01)."""

    def __iter__(self) -> Any:
        yield Strict(False)
        yield BeforeValidator(_text_only)


FromText = _FromText()

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _day_text(value: Any) -> Any:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        # The template fills {value} with str(); repr() shows what was sent, quotes and all.
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD, not "
                                  "{value} (no Unix time, no time of day)",
                                  {"value": repr(value)[:80]})
    return value


def _moment_text(value: Any) -> Any:
    if not isinstance(value, str) or not _MOMENT.match(value):
        raise PydanticCustomError("datetime_format", "must be an ISO 8601 time such as "
                                  "2026-12-06T08:00:00+08:00, not {value}",
                                  {"value": repr(value)[:80]})
    return value


# A day as docs/api.md writes it, and a time: never a number, nor digits read as Unix time.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_day_text)]
IsoDateTime = Annotated[datetime, Strict(False), BeforeValidator(_moment_text)]
# One line of text (a name): no tab, line break or invisible format character either.
OneLine = AfterValidator(lambda value: _refuse_bad_text(value, one_line=True))


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model's examples in the OpenAPI document (each must be valid: Spectral checks)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error and not silence, and take
    JSON's own types as the OpenAPI states them: true is no id 1 and "5" no number 5. No
    text in them holds a control character (app/services/text.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers(cls, value: Any) -> Any:
        return _whole(value)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _refuse_bad_text(value)


class RowProblemOut(BaseModel):
    """One problem of an imported table: `column` is the column's key (null: the whole row or
    file), `heading` its Chinese heading, `value` the cell as typed."""

    row: int
    column: str | None
    heading: str
    code: str
    message: str
    value: str


class FieldProblemOut(BaseModel):
    """One problem of a request's fields, as every 422 for a bad field lists it."""

    loc: list[str | int] = Field(description='Where: "body", "query", "path" or "form", '
                                 "then the field's name and any index, e.g. "
                                 '["body", "scores", "12"].')
    msg: str = Field(description="What is wrong with it, in English.")
    type: str = Field(description="The kind of problem, e.g. missing, int_parsing, "
                      "string_too_long, extra_forbidden.")


class Problem(BaseModel):
    """An error (RFC 9457 problem details, application/problem+json): docs/api/schema.md."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "https://jifen.example/problems/quarter_locked", "title": "Quarter locked",
        "status": 409, "detail": "The quarter is finalized; nothing in it can change.",
        "instance": "/api/v1/entries/12/approve", "code": "quarter_locked"}]})

    type: str = Field(description="A URI naming the problem: "
                      "https://jifen.example/problems/<code>, an identifier rather than a "
                      "page; about:blank when the status says it all (then `title` is the "
                      "status's phrase).")
    title: str = Field(description="The problem's short name, the same for every answer "
                       "with this `type`.")
    status: int = Field(description="The HTTP status code, as on the answer.")
    detail: str = Field(description="What happened and what to do about it, for a person.")
    instance: str = Field(description="The request's path.")
    code: str = Field(description="The problem as a snake_case word (each operation lists "
                      "its codes): what a program branches on.")


class ErrorOut(Problem):
    """An error (RFC 9457 problem details, application/problem+json): docs/api/schema.md.
    Invalid input (422 `validation_error`) lists every field's problem in `errors`."""

    errors: list[FieldProblemOut] = Field(
        default_factory=list, description="Invalid input only (422): every problem of the "
        "request's fields; absent otherwise.")


class ImportRefusedOut(Problem):
    """422 for an imported table with problems (code import_invalid): nothing was written;
    `errors` lists every problem of the table. A bad form field (code invalid) lists its
    field problems instead."""

    errors: list[RowProblemOut | FieldProblemOut] = []


def problems_out(problems: Iterable[RowProblem],
                 headings: Mapping[str, str]) -> list[RowProblemOut]:
    """The problems as the API answers them, each with its column's Chinese heading."""
    return [RowProblemOut(row=p.row, column=p.column, heading=headings.get(p.column or "", ""),
                          code=p.code, message=p.message, value=p.value) for p in problems]


# Every item of a list (and every resource the lists answer) carries it (docs/api/sync.md).
UPDATED_AT = ("When what this answer shows last changed: the row itself, or a row listed "
              "with it (a review's scores, a rating's lines, a member's exemptions...).")


class Page(BaseModel, Generic[T]):
    """A page of a list. An ordinary read pages with `offset`; a sync read (`updated_since`
    or `after` given) walks the list in (updated_at, id) order with cursors."""

    items: list[T]
    total: int = Field(description="Ordinary read: every item the filters select. Sync "
                       "read: the items left from where it started (this page's and the "
                       "following pages'), up to the settle horizon; counted on the read's "
                       "first page and carried on by `next`, less what was served (an item "
                       "changed during the read comes again uncounted). `next`, not this, "
                       "says whether there is more.")
    next: str | None = Field(default=None, description="Sync read: pass as `after` for the "
                             "next page; null when no more items are settled yet (and in "
                             "an ordinary read).")
    resume: str | None = Field(default=None, description="Sync read: where this read ends; "
                               "keep it and poll again later with `after` = it. Null in an "
                               "ordinary read.")


# What the 403 of an account that must change its password says (app/api/deps.py).
CHANGE_FIRST = ("The account's password was set by someone else (a members import or a "
                "password reset): until it is changed with POST /api/v1/auth/password, every "
                "other call but GET /api/v1/me and the logouts answers 403 with code "
                "`password_change_required`.")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the token is valid for from now (then log "
                                        "in again).")
    password_change_required: bool = Field(default=False, description=CHANGE_FIRST)
    device_token: str | None = Field(default=None, description=(
        "This device is now known to the login throttle: send it back as the form field "
        "`device_token` at later logins, and failed logins elsewhere (someone guessing at "
        "the password) do not lock this device out (docs/api/keys.md). Null when no new "
        "one is given (a password change: keep the one you have)."))


class Role(StrEnum):
    """A caller's role on an organisation: on its committee (支委), a member of it, or a
    service account's API key scoped to it (and the organisations below it)."""

    committee = "committee"
    member = "member"
    service = "service"


class RoleOut(BaseModel):
    org_id: int
    role: Role = Field(description=(
        "`committee`: on the organisation's committee (its subtree); `member`: the "
        "member's own branch; `service`: a service account's API key, scoped to the "
        "organisation's subtree (read or read-write: `access`)."))


class MeOut(BaseModel):
    username: str
    member_id: int | None
    is_admin: bool
    roles: list[RoleOut]
    password_change_required: bool = Field(default=False, description=CHANGE_FIRST)
    service: bool = Field(default=False, description=(
        "A service account's API key (no member; never an administrator)."))
    access: ServiceAccess | None = Field(default=None, description=(
        "A service account's key: `read` (GET only) or `read-write`; null for a person."))


class OrgCreate(Body):
    model_config = examples({"name": "第一党支部", "parent_id": 1, "kind": "branch"})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                    OneLine]
    parent_id: Id | None = None
    kind: Annotated[OrgKind, FromText]


class OrgOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    kind: OrgKind
    updated_at: datetime = Field(description=UPDATED_AT + " Its committee too.")


class GrantCreate(Body):
    model_config = examples({"member_id": 12})

    member_id: Id


class GrantOut(BaseModel):
    id: int
    org_id: int
    member_id: int
    role: str
    updated_at: datetime = Field(validation_alias="created_at", description="A grant never "
                                 "changes (taking it away deletes it): when it was made.")


class StandingIn(StrEnum):
    """The standings a member is given directly; `left` only by POST /members/{id}/leave."""

    full = "full"
    probationary = "probationary"


class MemberCreate(Body):
    model_config = examples({"name": "张三", "org_id": 2, "category": "active",
                             "joined_on": "2015-07-01", "username": "zhangsan",
                             "password": "an-8-or-more-password", "standing": "full"})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
                    OneLine]
    org_id: Id
    category: Annotated[Category, FromText]
    joined_on: IsoDate
    username: Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=128)]
    standing: Annotated[StandingIn, FromText] = StandingIn.full


class MemberUpdate(Body):
    model_config = examples({"category": "retired"},
                            {"standing": "full", "full_since": "2026-01-05"},
                             {"exempt": True, "exempt_reason": "长期卧床"})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=50), OneLine] | None = None
    category: Annotated[Category, FromText] | None = None
    exempt: bool | None = Field(default=None, description="Records (true, with "
                                "exempt_reason) or withdraws (false) this year's exemption, "
                                "reason kind other.")
    exempt_reason: Annotated[str, StringConstraints(strip_whitespace=True,
                                                    max_length=500)] | None = None
    standing: Annotated[StandingIn, FromText] | None = Field(
        default=None, description="probationary → full is 转正: full_since is set (today "
                                  "unless given).")
    full_since: Annotated[date, FromText] | None = None


class MemberOut(BaseModel):
    id: int
    name: str
    org_id: int
    category: Category
    joined_on: date
    exempt: bool = Field(description="Exempt (免评) this year: an active exemption.")
    exempt_reason: str | None = Field(description="This year's exemption's note.")
    username: str | None
    standing: Standing
    full_since: date | None
    rights_suspended: bool = Field(description="A suspension of rights runs today.")
    left_on: date | None
    left_kind: LeaveKind | None
    updated_at: datetime = Field(description=UPDATED_AT + " Not moved by the passing of "
                                 "time alone: `exempt` and `rights_suspended` are today's.")


class LeaveKindIn(StrEnum):
    """The kinds of leaving recorded by hand; `expelled` and `persuaded` only by a case."""

    discipline = "discipline"
    withdrew = "withdrew"
    died = "died"
    transferred = "transferred"


class LeaveBody(Body):
    model_config = examples({"kind": "transferred", "on": "2026-01-05", "note": "组织关系转出"})

    kind: Annotated[LeaveKindIn, FromText]
    on: Annotated[date, FromText]
    note: Text = ""


class SuspensionCreate(Body):
    model_config = examples({"kind": "party_probation", "starts_on": "2026-01-05",
                             "ends_on": "2027-01-05", "note": "留党察看一年"})

    kind: Annotated[SuspensionKind, FromText]
    starts_on: Annotated[date, FromText]
    ends_on: Annotated[date, FromText] | None = Field(
        default=None, description="The first day with the rights back; null: open.")
    note: Text = ""


class SuspensionEnd(Body):
    model_config = examples({"ends_on": "2026-06-01", "note": "期满恢复"})

    ends_on: Annotated[date, FromText]
    note: Text = ""


class SuspensionOut(BaseModel):
    id: int
    member_id: int
    kind: SuspensionKind
    starts_on: date
    ends_on: date | None
    note: str
    updated_at: datetime = Field(description=UPDATED_AT)


class ExemptionPut(Body):
    model_config = examples({"reason_kind": "bedridden", "note": "",
                             "parent_consent_on": "2026-01-05", "meeting_on": "2026-01-03"})

    reason_kind: Annotated[ExemptionReason, FromText]
    note: Text = Field(default="", description="Required for reason_kind other.")
    parent_consent_on: Annotated[date, FromText] = Field(
        description="The day the level above consented (上级党组织同意).")
    meeting_on: Annotated[date, FromText] = Field(
        description="The branch meeting that decided it (支部大会).")


class ExemptionWithdraw(Body):
    model_config = examples({"reason": "已康复"})

    reason: Reason


class ExemptionOut(BaseModel):
    id: int = Field(description="This exemption's row: a withdrawn one stays, a new one of "
                    "the same year is another.")
    member_id: int
    year: int
    reason_kind: ExemptionReason
    note: str
    parent_consent_on: date | None
    meeting_on: date | None
    status: ExemptionStatus
    withdrawn_reason: str | None
    updated_at: datetime = Field(description=UPDATED_AT)


class QuarterStatus(StrEnum):
    """Where a quarter stands for a member's branch: `open` (no review yet), or its review's
    status."""

    open = "open"
    draft = "draft"
    published = "published"
    finalized = "finalized"


class QuarterOut(BaseModel):
    quarter: int
    review_score: int | None
    delta: int
    ytd: int
    status: QuarterStatus


class ItemScoreOut(BaseModel):
    code: str
    points: int
    counted: int


class ScoreOut(BaseModel):
    member_id: int
    year: int
    score: int
    stars: int
    vetoed: bool
    provisional: bool = Field(description="True until the annual rating is approved.")
    grade: Grade | None = Field(description="The approved annual grade, once there is one.")
    quarters: list[QuarterOut]
    items: list[ItemScoreOut]


class MemberScoreOut(ScoreOut):
    """A member's year as GET /members/{id}/score answers it, with who and where (the bulk
    read, GET /orgs/{id}/scores)."""

    org_id: int = Field(description="The member's branch.")
    name: str


RULES_UPDATED_AT = (
    "When the year's rules last changed: any of its items or parameters, or its freezing "
    "(an item carries its year's time). A year with no rules of its own reads as the earlier "
    "year's it would start from, and answers that one's time; null while no year has rules "
    "stored (the built-in defaults).")


class RuleItemOut(BaseModel):
    code: str
    kind: Kind
    name: str
    points: int | None
    cap: int | None
    categories: list[Category]
    min_points: int | None
    max_points: int | None
    updated_at: datetime | None = Field(description=RULES_UPDATED_AT)


class RuleParamsOut(BaseModel):
    """The year's rating numbers (docs/scoring.md, Stars and Grades) and its procedural
    parameters (appraisal.md §6), which stay editable after the year's rules freeze."""

    review_max: int
    review_default: int
    star_thresholds: list[int]
    unqualified_below: int
    basic_below: int
    basic_single_deduction: int
    excellent_min: int
    excellent_divisor: int
    ballot_required: bool = Field(description="A rating is published only after a closed "
                                  "ballot (民主测评); procedural.")
    rating_notice_days: int = Field(description="Days of 公示 when publish names none (0 to "
                                    "60); procedural.")
    rectify_months: int = Field(description="Months of 限期改正 a disposal case proposes by "
                                "default (1 to 12); procedural.")
    min_notice_days: int = Field(description="The shortest notice (公示) of a review or a "
                                 "rating published without a reason (0 to 60); procedural.")


class RulesOut(BaseModel):
    year: int
    frozen: bool
    items: list[RuleItemOut]
    params: RuleParamsOut
    updated_at: datetime | None = Field(description=RULES_UPDATED_AT)


def _left_out_not_null(**bounds: int) -> Callable[[dict[str, Any]], None]:
    """The OpenAPI of an optional field that may be left out but not sent as null, with the
    range the service checks (its own codes, not validation_error)."""

    def edit(schema: dict[str, Any]) -> None:
        schema.pop("default", None)
        kinds = [k for k in schema.pop("anyOf", []) if k.get("type") != "null"]
        schema.update(kinds[0] if kinds else {}, **bounds)

    return edit


class RuleProcedureUpdate(Body):
    """Any of the year's procedural parameters; one left out keeps its value (null is
    refused with the field's code)."""

    model_config = examples({"ballot_required": True, "rating_notice_days": 5},
                             {"rectify_months": 6})

    ballot_required: bool | None = Field(
        default=None, json_schema_extra=_left_out_not_null(),
        description="Publishing a rating needs a closed ballot; null: 422 `not_a_boolean`.")
    rating_notice_days: int | None = Field(
        default=None, json_schema_extra=_left_out_not_null(minimum=0, maximum=MAX_NOTICE_DAYS),
        description="0 to 60, else 422 `notice_out_of_range`.")
    rectify_months: int | None = Field(
        default=None, json_schema_extra=_left_out_not_null(minimum=1, maximum=MAX_RECTIFY_MONTHS),
        description="1 to 12, else 422 `months_out_of_range`.")
    min_notice_days: int | None = Field(
        default=None, json_schema_extra=_left_out_not_null(minimum=0, maximum=MAX_NOTICE_DAYS),
        description="0 to 60, else 422 `min_notice_out_of_range`.")


class RuleUpdate(Body):
    model_config = examples({"name": "参加组织生活", "points": 2, "cap": 24,
                             "categories": ["active", "retired"]})

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=100), OneLine] | None = None
    points: Annotated[int, Field(ge=1, le=100)] | None = None
    cap: Annotated[int, Field(ge=0, le=1000)] | None = None
    categories: Annotated[list[Annotated[Category, FromText]], Field(min_length=1)] | None = None


class EntryCreate(Body):
    model_config = examples({"member_id": 12, "rule_code": "P01", "occurred_on": "2026-01-08",
                             "note": "参加主题党日"},
                            {"member_id": 12, "rule_code": "N03", "occurred_on": "2026-01-08",
                             "points": 2, "note": "无故未交党费"})

    member_id: Id
    # Exactly as the rule set writes it: "p01" is refused, not guessed (docs/api.md).
    rule_code: Annotated[str, StringConstraints(pattern=RULE_CODE_PATTERN)]
    occurred_on: IsoDate
    quantity: Annotated[int, Field(ge=1, le=100)] | None = None
    points: Annotated[int, Field(ge=0, le=100)] | None = None
    note: Text = ""
    evidence: Annotated[str, StringConstraints(max_length=500)] | None = None


class EntryResubmit(Body):
    """A rejected entry corrected: each field left out keeps the rejected entry's value; its
    photo (`evidence`) is kept unless another is named, or null or "" for none."""

    model_config = examples({"occurred_on": "2026-01-07", "note": "日期更正"})

    rule_code: Annotated[str, StringConstraints(pattern=RULE_CODE_PATTERN)] | None = None
    occurred_on: IsoDate | None = None
    quantity: Annotated[int, Field(ge=1, le=100)] | None = None
    points: Annotated[int, Field(ge=0, le=100)] | None = None
    note: Text | None = None
    evidence: Annotated[str, StringConstraints(max_length=500)] | None = None


# Who acted, in answers: a member id (issue 18; these were account ids before).
ACTOR = ("The member who {did}; null when the account that did has no member (an "
         "administrator's own account, a service account).")


class EntryOut(BaseModel):
    id: int
    member_id: int
    rule_code: str
    kind: Kind
    occurred_on: date
    quantity: int
    points: int
    status: EntryStatus
    note: str
    evidence: str | None = Field(description="The photo's reference (as POST /api/v1/photos "
                                 "answers it); read it with GET /api/v1/entries/{id}/photo.")
    created_by: int | None = Field(description=ACTOR.format(did="reported or recorded it"))
    created_at: datetime
    decided_by: int | None = Field(description=ACTOR.format(did="approved or rejected it")
                                   + " Null while pending.")
    decided_at: datetime | None
    reason: str | None
    revoked_by: int | None = Field(description=ACTOR.format(did="revoked it")
                                   + " Null unless revoked.")
    revoked_at: datetime | None
    # The rejected entry this one corrects; the entry that corrects this rejected one.
    resubmits: int | None = None
    resubmitted_by: int | None = None
    updated_at: datetime = Field(description=UPDATED_AT)


class ReasonBody(Body):
    model_config = examples({"reason": "日期不对，请更正后重新提交"})

    reason: Reason


class ReviewCreate(Body):
    model_config = examples({"year": 2026, "quarter": 1})

    year: Year
    quarter: Annotated[int, Field(ge=1, le=4)]


class ReviewLineOut(BaseModel):
    member_id: int
    name: str
    review_score: int | None
    delta: int
    ytd: int


class ReviewSummaryOut(BaseModel):
    id: int
    org_id: int
    year: int
    quarter: int
    status: ReviewStatus
    notice_until: datetime | None
    updated_at: datetime = Field(description=UPDATED_AT + " Also its lines' running totals: "
                                 "an entry of the branch, a member, an earlier quarter's "
                                 "scores.")


class ReviewOut(ReviewSummaryOut):
    published_at: datetime | None
    finalized_at: datetime | None
    publish_reason: str | None = Field(description="Why it was published before the quarter "
                                       "ended or with a short notice (or any reason given); "
                                       "committees only, else null.")
    finalize_reason: str | None = Field(description="Why it was finalized before the "
                                        "quarter ended (or any reason given); committees "
                                        "only, else null.")
    pending_entries: int
    open_objections: int
    items: list[ReviewLineOut]


class ScoresBody(Body):
    model_config = examples({"scores": {"12": 5, "13": 4, "14": None}})

    scores: dict[Annotated[Id, FromText], int | None] = Field(
        description='Review score per member id, e.g. {"12": 5}; null unsets it.')


class PublishBody(Body):
    model_config = examples({"notice_days": 5}, {"notice_days": 3, "reason": "支委会决定提前公示"})

    notice_days: Annotated[int, Field(ge=0, le=60)] = 5
    reason: EarlyReason | None = Field(
        default=None, description="Required (else 422 `reason_required`) before the quarter "
        "has ended, or with notice_days below the year's min_notice_days; at most 500 "
        "characters; stored whenever given.")


class FinalizeBody(Body):
    model_config = examples({}, {"reason": "支委会决定提前确认"})

    reason: EarlyReason | None = Field(
        default=None, description="Required (else 422 `reason_required`) before the quarter "
        "has ended: finalizing locks the rest of it for the branch; at most 500 characters; "
        "stored whenever given.")


class ObjectionCreate(Body):
    model_config = examples({"text": "第一季度的评议分与实际不符"})

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=2000)]


class ObjectionOut(BaseModel):
    """An objection to a quarterly review (review_id) or an annual rating (rating_id): one
    of the two is null."""

    id: int
    review_id: int | None
    rating_id: int | None = None
    member_id: int
    text: str
    status: ObjectionStatus
    response: str | None
    created_at: datetime
    resolved_at: datetime | None
    updated_at: datetime = Field(description=UPDATED_AT)


class ResolveBody(Body):
    model_config = examples({"response": "已核实，评议分已更正"})

    response: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=2000)]


class RatingCreate(Body):
    model_config = examples({"year": 2025})

    year: Year


class TallyOut(BaseModel):
    """A line's votes in the closed ballot; abstain = ballots cast minus its votes."""

    excellent: int
    qualified: int
    basically_qualified: int
    unqualified: int
    abstain: int


class RatingItemOut(BaseModel):
    member_id: int
    name: str
    score: int
    stars: int
    vetoed: bool | None = Field(description="Null for members: deduction details are the "
                                "committee's.")
    exempt: bool
    standing: Standing = Field(description="The member's standing when the rating was made.")
    proposed_grade: Grade | None = Field(description="The engine's proposal; to a member, "
                                         "null but on their own line.")
    grade: Grade
    reason: str | None = Field(description="Why the committee changed the grade; a member "
                               "sees it on their own line only.")
    tally: TallyOut | None = Field(
        default=None, description="The ballot's votes on this line: to the committees and "
        "administrators once the ballot is closed; otherwise null.")


class BallotOut(BaseModel):
    status: BallotStatus
    voters: int | None = Field(description="Who may vote, counted when the ballot opened.")
    cast_online: int
    cast_paper: int
    voted: list[int] | None = Field(
        description="Member ids who have voted online (committees only; never what they "
        "chose); null for members.")
    you_voted: bool | None = Field(
        default=None, description="For a voter: whether you have voted; null if you are "
        "not a voter.")


class RatingOut(BaseModel):
    id: int
    org_id: int
    year: int
    status: RatingStatus
    rated: int = Field(description="n: the graded lines (full members not exempt).")
    excellent_limit: int = Field(description="⌊n/3⌋: how many may be excellent.")
    ballot: BallotOut
    notice_until: datetime | None = Field(description="End of the notice (公示) period.")
    published_at: datetime | None
    submitted_at: datetime | None
    approved_at: datetime | None
    publish_reason: str | None = Field(description="Why the last publication came before the "
                                       "year ended or with a short notice (or any reason "
                                       "given); committees only, else null.")
    submit_reason: str | None = Field(description="Why it was submitted before the year "
                                      "ended (or any reason given); committees only, else "
                                      "null.")
    sent_back: str | None = Field(description='"returned" by the level above or "reopened" '
                                  "by the committee, the last time; null if never.")
    sent_back_reason: str | None
    sent_back_at: datetime | None
    open_objections: int
    items: list[RatingItemOut]
    updated_at: datetime = Field(description=UPDATED_AT + " Its lines, ballot, objections "
                                 "and self-assessments too.")


class RatingSummaryOut(BaseModel):
    id: int
    org_id: int
    year: int
    status: RatingStatus
    updated_at: datetime = Field(description=UPDATED_AT + " Its lines, ballot, objections "
                                 "and self-assessments too.")


class BallotGrade(StrEnum):
    """A vote in the ballot (民主测评): one of the four grades."""

    excellent = "excellent"
    qualified = "qualified"
    basically_qualified = "basically_qualified"
    unqualified = "unqualified"


class BallotBody(Body):
    model_config = examples({"votes": {"12": "excellent", "13": "qualified"}})

    votes: dict[Annotated[Id, FromText], Annotated[BallotGrade, FromText]] = Field(
        description='A grade per graded member id, e.g. {"12": "qualified"}; a line left '
        "out is an abstention. Not one's own line.")


class BallotCastOut(BaseModel):
    rating_id: int
    cast_at: datetime


class BallotLineOut(BaseModel):
    member_id: int
    name: str
    self_assessment: str | None = Field(description="Their self-assessment, if written.")


class MyBallotOut(BaseModel):
    """A member's ballot (民主测评) on their branch's rating: whether they may vote, whether
    they voted (never what), and the lines to vote on while it is open."""

    rating_id: int
    org_id: int
    year: int
    rating_status: RatingStatus
    ballot: BallotStatus
    voters: int | None = Field(description="Who may vote, fixed when the ballot opened.")
    # Not `cast`: a generated Python client's typing.cast would be shadowed by it.
    ballots_cast: int = Field(description="Ballots cast so far, online and paper: the only "
                              "count anyone sees while the ballot is open.")
    voter: bool = Field(description="Whether you may vote in this ballot.")
    voted: bool = Field(description="Whether you have voted.")
    lines: list[BallotLineOut] = Field(description="The graded members other than you, "
                                       "while the ballot is open and you have not voted; "
                                       "otherwise empty.")


class PaperBallotOut(BaseModel):
    rating_id: int
    cast_paper: int = Field(description="Paper ballots typed in so far.")


class RatingPublishBody(Body):
    model_config = examples({"notice_days": 5}, {"notice_days": 3, "reason": "支委会决定"})

    notice_days: Annotated[int | None, Field(ge=0, le=60)] = Field(
        default=None, description="Days of notice (公示); default the year's "
        "rating_notice_days (5).")
    reason: EarlyReason | None = Field(
        default=None, description="Required (else 422 `reason_required`) before the year has "
        "ended, or with a notice below the year's min_notice_days; at most 500 characters; "
        "stored whenever given.")


class RatingSubmitBody(Body):
    model_config = examples({}, {"reason": "支委会决定提前上报"})

    reason: EarlyReason | None = Field(
        default=None, description="Required (else 422 `reason_required`) before the year has "
        "ended; at most 500 characters; stored whenever given.")


class SelfAssessmentBody(Body):
    model_config = examples({"text": "一年来认真学习，按时参加组织生活。"})

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=2000)]


class SelfAssessmentOut(BaseModel):
    member_id: int
    text: str
    updated_at: datetime


class SelfAssessmentItemOut(SelfAssessmentOut):
    name: str


class GradeChange(Body):
    model_config = examples({"grade": "qualified", "reason": "支委会评定"})

    grade: Annotated[Grade, FromText]
    reason: Reason


class AuditOut(BaseModel):
    """One row of the append-only, hash-chained audit log."""

    id: int
    at: datetime
    actor_id: int | None = Field(description="The account that made the change; null for "
                                 "the system (create-admin, a year's rule set seeded).")
    actor: str | None = Field(description="That account's username.")
    action: str = Field(description='What was done, e.g. "entry.approved", "review.finalize".')
    object_type: str
    object_id: int | None
    before: dict[str, object] | None = Field(description="The object before the change.")
    after: dict[str, object] | None = Field(description="The object after the change.")
    updated_at: datetime = Field(description="A row never changes: its `at`.")


# Passwords: the policy (8 to 128 characters, not the username, not one character
# repeated) is checked by app.services.passwords, so a weak one gets a code of its own.
PasswordText = Annotated[str, StringConstraints(max_length=1024)]


class PasswordChange(Body):
    model_config = examples({"current_password": "the-old-password",
                             "new_password": "a-new-password-2026"})

    current_password: PasswordText
    new_password: PasswordText


class PasswordResetBody(Body):
    model_config = examples({}, {"password": "a-new-password-2026"})

    password: PasswordText | None = Field(
        default=None, description="The new password; leave it out to have one generated.")


class PasswordResetOut(BaseModel):
    member_id: int
    username: str
    password: str | None = Field(
        description="The generated password (8 digits), shown only in this answer; null "
                    "when the request gave the password.")


class RatingMadeOut(BaseModel):
    id: int
    org_id: int


class RatingSkippedOut(BaseModel):
    org_id: int
    name: str
    code: str = Field(description="rating_exists or quarters_not_finalized")
    detail: str


class RatingBatchOut(BaseModel):
    """What one call made: a draft rating per ready branch, and the branches left out."""

    created: list[RatingMadeOut]
    skipped: list[RatingSkippedOut]
