"""The attendance register (签到簿, issue 17): its body, its answer, its refusal."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.points import RULE_CODE_PATTERN
from app.schemas import Body, EntryOut, FieldProblemOut, Id, IsoDate, Problem, Text, examples
from app.services.attendance import MAX_MARKED

Marked = Annotated[list[Id], Field(max_length=MAX_MARKED)]


class AttendanceCreate(Body):
    model_config = examples({"rule_code": "P01", "occurred_on": "2026-01-08", "present": [12, 13],
                             "excused": [14], "record_absences": True})

    # The names of POST /entries: one register is that body for many members at once.
    rule_code: Annotated[str, StringConstraints(pattern=RULE_CODE_PATTERN)]
    occurred_on: IsoDate
    present: Marked = Field(default=[], description="Members present (到会): one entry of "
                            "the item each.")
    excused: Marked = Field(default=[], description="Members excused (请假): nothing is "
                            "recorded for them, and no absence.")
    record_absences: bool = Field(default=False, description="Record every other member "
                                  "of the branch on that day (to whom the item applies) as "
                                  "absent: an N01 entry each. Only with a positive item.")
    quantity: Annotated[int, Field(ge=1, le=100)] | None = None
    points: Annotated[int, Field(ge=0, le=100)] | None = None
    note: Text = Field(default="", description="The note of every entry recorded (the "
                       "members see it); a veto or a big deduction needs one.")


class AttendanceOut(BaseModel):
    org_id: int
    entries: list[EntryOut] = Field(description="The entries created: the item's for the "
                                    "members present, then N01 for the absent.")
    excused: list[int]
    capped: list[int] = Field(description="Members present whose entry adds less than its "
                              "points: the item's annual cap is reached.")
    recorded_at: datetime = Field(description="When the register was recorded: now, or the "
                                  "first time when the same register was sent again "
                                  "(Idempotent-Replayed).")


class AttendanceMark(StrEnum):
    """How a member's row of the register is marked."""

    present = "present"
    excused = "excused"
    absent = "absent"


class MemberProblemOut(BaseModel):
    """One member's row that cannot be recorded. `name` is null for an id that is not a
    member of the branch."""

    member_id: int
    name: str | None
    mark: AttendanceMark
    code: str
    message: str


class AttendanceRefusedOut(Problem):
    """422: code register_invalid lists every member's problem in `errors`, and nothing was
    recorded; a bad field (validation_error) lists its field problems instead; any other
    code is the register's own problem, as POST /entries answers it."""

    errors: list[MemberProblemOut | FieldProblemOut] = Field(default_factory=list)
