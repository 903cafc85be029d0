"""My notices: decisions on my entries, my branch's 公示 (quarters and the annual rating),
answers to my objections, the rating's ballot while I have not voted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from app.api.deps import CurrentActor, PagingDep, errors
from app.clock import ClockDep
from app.db import SessionDep
from app.present.notice_texts import notice_text
from app.schemas.notices import NoticeOut, NoticePage, SeenBody, SeenOut
from app.services import notices

router = APIRouter(tags=["notices"])

def _out(notice: notices.Notice) -> NoticeOut:
    return NoticeOut(
        key=notice.key, kind=notice.kind,
        at=notice.at, unseen=notice.unseen, text=notice_text(notice), link=notice.link,
        entry_id=notice.entry.id if notice.entry else None,
        review_id=notice.review.id if notice.review else None,
        objection_id=notice.objection.id if notice.objection else None,
        rating_id=notice.rating.id if notice.rating else None,
        case_id=notice.case.id if notice.case else None)


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
    return SeenOut(seen_at=seen, unseen=notices.unseen_summary(session, actor, now).count)
