"""My notices: decisions on my entries, my branch's 公示, answers to my objections."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from app.api.deps import CurrentActor, PagingDep, errors
from app.clock import ClockDep
from app.db import SessionDep
from app.present.notice_texts import notice_text
from app.schemas import Body as StrictBody
from app.schemas import FromText
from app.services import notices

router = APIRouter(tags=["notices"])

NoticeKind = Literal["entry_approved", "entry_rejected", "entry_recorded", "entry_revoked",
                     "review_published", "objection_answered"]


class NoticeOut(BaseModel):
    key: str = Field(description="Stable per notice: the kind and the id of its row")
    kind: NoticeKind
    at: datetime = Field(description="When it happened (the decision, 公示 or answer)")
    unseen: bool = Field(description="Newer than the last POST /me/notices/seen")
    text: str = Field(description="The notice as the member page says it")
    link: str = Field(description="The member page that shows what it is about")
    entry_id: int | None = None
    review_id: int | None = None
    objection_id: int | None = None


class NoticePage(BaseModel):
    items: list[NoticeOut]
    total: int
    unseen: int = Field(description="How many of all the notices (not only this page) are "
                                    "unseen")
    seen_at: datetime | None = Field(description="Seen up to this time (null: never)")


class SeenBody(StrictBody):
    up_to: Annotated[datetime, FromText] | None = Field(
        default=None, description="The newest notice the member was shown (its `at`); "
                                  "later ones stay unseen. Default: now")


class SeenOut(BaseModel):
    seen_at: datetime | None
    unseen: int


def _out(notice: notices.Notice) -> NoticeOut:
    return NoticeOut(
        key=notice.key, kind=notice.kind,
        at=notice.at, unseen=notice.unseen, text=notice_text(notice), link=notice.link,
        entry_id=notice.entry.id if notice.entry else None,
        review_id=notice.review.id if notice.review else None,
        objection_id=notice.objection.id if notice.objection else None)


@router.get("/me/notices", response_model=NoticePage, responses=errors(401, 422))
def my_notices(session: SessionDep, actor: CurrentActor, clock: ClockDep,
               paging: PagingDep) -> NoticePage:
    """My notices of the last 90 days, newest first, and how many are unseen."""
    found = notices.member_notices(session, actor, clock.now())
    window = found.items[paging.offset:paging.offset + paging.limit]
    return NoticePage(items=[_out(n) for n in window], total=len(found.items),
                      unseen=found.unseen_count, seen_at=found.seen_at)


@router.post("/me/notices/seen", response_model=SeenOut, responses=errors(401, 403, 422))
def mark_seen(session: SessionDep, actor: CurrentActor, clock: ClockDep,
              body: Annotated[SeenBody | None, Body()] = None) -> SeenOut:
    """Mark my notices seen, up to `up_to` (default: now)."""
    now = clock.now()
    seen = notices.mark_seen(session, actor, now, (body or SeenBody()).up_to)
    return SeenOut(seen_at=seen, unseen=notices.member_notices(session, actor, now).unseen_count)
