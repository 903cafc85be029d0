"""Answers of the table imports: members (preview, then created) and entries."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel

from app.schemas import RowProblemOut


class StartsAs(StrEnum):
    """How an imported row's entry starts: approved, pending (about the importer), or
    skipped (a rejected or revoked row of an export)."""

    approved = "approved"
    pending = "pending"
    skipped = "skipped"


class EntryImportRowOut(BaseModel):
    row: int
    member_id: int | None
    name: str
    branch: str
    occurred_on: date | None
    rule_code: str
    item_name: str
    kind: str
    quantity: int | None
    points: int | None
    signed_points: int | None
    note: str
    starts_as: StartsAs


class EntryImportOut(BaseModel):
    year: int
    dry_run: bool
    created: int
    entry_ids: list[int]
    # When the entries were created: this answer's moment, or the first import's when the
    # same rows were confirmed again (Idempotent-Replayed); null on a preview.
    imported_at: datetime | None = None
    rows: list[EntryImportRowOut]
    errors: list[RowProblemOut]
    warnings: list[RowProblemOut]


class PreviewRowOut(BaseModel):
    row: int
    values: dict[str, str]  # as read, keyed by column; the password never echoed
    password_given: bool
    ok: bool


class PreviewOut(BaseModel):
    ok: bool
    total: int
    valid: int
    rows: list[PreviewRowOut]
    errors: list[RowProblemOut]


class CreatedOut(BaseModel):
    row: int
    member_id: int
    name: str
    org_id: int
    username: str
    password: str | None  # generated, shown this once; null when the file gave it


class ImportOut(BaseModel):
    created: int
    # The first import's moment when the same rows were confirmed again (Idempotent-Replayed).
    imported_at: datetime
    members: list[CreatedOut]
