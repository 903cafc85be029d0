"""The level above's list (上级审批, appraisal.md §2.8): the submitted ratings of the branches
under the 党委 waiting for its approval or return, in tree order."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.db import SessionDep
from app.services import rating_view
from app.services.errors import Forbidden
from app.web.committee.common import CommitteeActor, page
from app.web.committee.ratings import RATING_STYLES

router = APIRouter()


@router.get("/committee/approvals")
def approvals(request: Request, session: SessionDep, actor: CommitteeActor) -> Response:
    """Each opens the rating's sheet, where it is approved or returned."""
    if not rating_view.approves_any(session, actor):
        raise Forbidden("Ratings are approved by the committee of the 党委 above the "
                        "branch, or an administrator.", "committee_above_only")
    return page(request, "pages/committee/approvals.html", {
        "waiting": rating_view.awaiting_approval(session, actor),
        "rating_styles": RATING_STYLES})
