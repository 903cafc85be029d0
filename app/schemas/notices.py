"""A member's notices (消息) and marking them seen."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from app.schemas import Body as StrictBody
from app.schemas import IsoDateTime, examples


class NoticeKind(StrEnum):
    """What a notice is about."""

    entry_approved = "entry_approved"
    entry_rejected = "entry_rejected"
    entry_recorded = "entry_recorded"
    entry_revoked = "entry_revoked"
    review_published = "review_published"
    objection_answered = "objection_answered"
    ballot_open = "ballot_open"
    rating_published = "rating_published"
    case_filed = "case_filed"
    case_decided = "case_decided"
    case_deadline = "case_deadline"


class NoticeOut(BaseModel):
    key: str = Field(description="Stable per notice: the kind and the id of its row")
    kind: NoticeKind
    at: datetime = Field(description="When it happened (the decision, 公示, answer, or the "
                                     "ballot's opening)")
    unseen: bool = Field(description="Newer than the last POST /me/notices/seen")
    text: str = Field(description="The notice as the member page says it")
    link: str = Field(description="The member page that shows what it is about")
    entry_id: int | None = None
    review_id: int | None = None
    objection_id: int | None = None
    rating_id: int | None = Field(default=None, description=(
        "The annual rating: its ballot open (`ballot_open`, until the member votes or it "
        "closes), its 公示 (`rating_published`), or the rating of an answered objection"))
    case_id: int | None = Field(default=None, description=(
        "The member's own disposal case: filed (`case_filed`), decided by the level above "
        "(`case_decided`), or its 限期改正 ending in a month (`case_deadline`)"))


class NoticePage(BaseModel):
    items: list[NoticeOut]
    total: int
    unseen: int = Field(description="How many of all the notices (not only this page) are "
                                    "unseen")
    seen_at: datetime | None = Field(description="Seen up to this time (null: never)")


class SeenBody(StrictBody):
    model_config = examples({}, {"up_to": "2026-01-10T08:00:00+08:00"})

    up_to: IsoDateTime | None = Field(
        default=None, description="The newest notice the member was shown (its `at`); "
                                  "later ones stay unseen. Default: now")


class SeenOut(BaseModel):
    seen_at: datetime | None
    unseen: int
