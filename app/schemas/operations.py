"""Bodies and answers of the operations issue 18 added: evidence photos, batch approval."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.schemas import Body, EntryOut, FieldProblemOut, Id, Problem
from app.services.bulk_approval import MAX_BATCH


class PhotoOut(BaseModel):
    """A photo stored for the caller, not yet any entry's evidence."""

    evidence: str = Field(description="The reference to send as `evidence` in POST "
                          "/api/v1/entries or POST /api/v1/entries/{id}/resubmit.",
                          examples=["evidence/2026/01/0b6f3f7e-5d0c-4b8a-9f1e-2d3c4b5a6f70.jpg"])
    member_id: int = Field(description="The member it is stored for: the caller.")
    width: int = Field(description="Pixels, as stored (re-encoded: at most 1600 on the long "
                       "side).")
    height: int
    uploaded_at: datetime


def _no_repeats(ids: list[int]) -> list[int]:
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise PydanticCustomError("duplicate_ids", "lists entry {ids} more than once",
                                  {"ids": ", ".join(map(str, repeated))})
    return ids


class BatchApprove(Body):
    ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BATCH,
                                   description=f"Pending entries to approve: 1 to {MAX_BATCH}, "
                                   "each once."),
                   AfterValidator(_no_repeats)]

    model_config = ConfigDict(json_schema_extra={"examples": [{"ids": [101, 102, 107]}]})


class BatchApprovedOut(BaseModel):
    """Every entry of the batch, approved, in the order sent."""

    items: list[EntryOut]


class EntryRefusalOut(BaseModel):
    """Why one entry of a batch cannot be approved: the refusal POST
    /api/v1/entries/{id}/approve gives it."""

    id: int = Field(description="The entry.")
    status: int = Field(description="The status its approval alone would answer.")
    code: str
    detail: str


class BatchRefusedOut(Problem):
    """Nothing was approved: code `batch_refused` lists every entry that cannot be in
    `errors`; a bad body (`validation_error`) lists its field problems instead."""

    errors: list[EntryRefusalOut | FieldProblemOut] = Field(default_factory=list)


_EXAMPLE_DETAILS = {
    "own_entry": "You cannot decide on an entry about yourself; another committee member must.",
    "not_found": "Entry 102 does not exist or is outside your scope.",
    "not_pending": "Entry 102 is approved, not pending.",
    "note_required": "A veto or a deduction of 10 points or more needs a note the member "
                     "will see.",
}


def batch_refused_example(status: int, code: str) -> dict[str, Any]:
    """An example answer, for the OpenAPI document."""
    return {"type": "https://jifen.example/problems/batch_refused", "title": "Batch refused",
            "status": status, "instance": "/api/v1/entries/approve",
            "detail": "1 of the entries cannot be approved (entry 102); none was. Leave them "
            "out or settle them, and send the batch again.", "code": "batch_refused",
            "errors": [{"id": 102, "status": status, "code": code,
                        "detail": _EXAMPLE_DETAILS[code]}]}
