"""Paper ballots typed in by the committee (appraisal.md §2.3), one row per ballot, keyboard
only: one small field per graded member, in the order of the printed 测评表, taking
1–4 (or 优/合/基/不), empty for an abstention; Enter records the ballot and the form comes
back empty, the cursor in the first field. Nothing typed is lost to a refusal."""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import Org, Rating, RatingItem
from app.points import Grade
from app.present.i18n import _
from app.present.messages import message_for
from app.services import appraisal, rating_view, ratings
from app.services.access import require_branch_committee
from app.services.errors import DomainError, attempt
from app.web.committee.common import CommitteeActor, page
from app.web.committee.ratings import RATING_STYLES, managed_rating, rating_url
from app.web.forms import FormDep
from app.web.render import flash, redirect

router = APIRouter()

# What a cell may hold: the number printed beside each box of the paper form, or the
# grade's first character. Blank, 0 or a dash: no grade (弃权).
CELL_GRADES = {"1": Grade.excellent, "优": Grade.excellent, "2": Grade.qualified,
               "合": Grade.qualified, "3": Grade.basically_qualified,
               "基": Grade.basically_qualified, "4": Grade.unqualified, "不": Grade.unqualified}
ABSTAIN = frozenset({"", "0", "-", "弃"})


def read_cell(text: str) -> Grade | None:
    """The grade a cell gives, None for an abstention; ValueError when it is neither
    (full-width digits, as a Chinese keyboard types them, count as digits)."""
    cell = unicodedata.normalize("NFKC", text).strip()
    if cell in ABSTAIN:
        return None
    if cell not in CELL_GRADES:
        raise ValueError(cell)
    return CELL_GRADES[cell]


def _lines(session: SessionDep, rating: Rating) -> list[RatingItem]:
    return [i for i in ratings.rating_items(session, rating.id or 0) if appraisal.graded(i)]


def _form(request: Request, session: SessionDep, rating: Rating, org: Org,
          status_code: int = 200, **extra: Any) -> Response:
    context = {"rating": rating, "org": org, "lines": _lines(session, rating),
               "participation": rating_view.participation(session, rating),
               "typed": {}, "bad": [], "error": None, "blank": False,
               "rating_styles": RATING_STYLES} | extra
    response = page(request, "pages/committee/paper_ballots.html", context,
                    status_code=status_code)
    # A ballot typed in stays in no browser's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/committee/ratings/{rating_id}/paper")
def paper_form(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor
               ) -> Response:
    rating, org = managed_rating(session, actor, rating_id)
    require_branch_committee(actor, org)  # the committees above only read the sheet
    return _form(request, session, rating, org)


@router.post("/committee/ratings/{rating_id}/paper")
def paper_ballot(rating_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep, form: FormDep) -> Response:
    """One paper ballot; refused, the page comes back with what was typed and why."""
    rating, org = managed_rating(session, actor, rating_id)
    lines = _lines(session, rating)
    typed = {i.member_id: str(form.get(f"v_{i.member_id}") or "")[:8] for i in lines}
    blank = form.get("blank") == "1"
    votes: dict[int, Grade] = {}
    bad = []
    for position, line in enumerate(lines, start=1):
        try:
            grade = read_cell(typed[line.member_id])
        except ValueError:
            bad.append((position, line))
            continue
        if grade is not None:
            votes[line.member_id] = grade
    if bad:
        error = _("第{n}格（{name}）只能填 1、2、3、4（或 优、合、基、不），空着为弃权。").format(
            n=bad[0][0], name=bad[0][1].name)
        return _form(request, session, rating, org, 422, typed=typed, blank=blank,
                     bad=[line.member_id for _n, line in bad], error=error)
    if votes and blank:
        error = _("勾选了“空白票”，但也填了格。空白票的每一格都应空着：请去掉勾选，或清空各格。")
        return _form(request, session, rating, org, 422, typed=typed, blank=blank, error=error)
    if not votes and not blank:
        error = _("这张票一格也没有填。如果它是一张空白票（全部弃权），请勾选“空白票”后再录入。")
        return _form(request, session, rating, org, 422, typed=typed, error=error)
    result = attempt(session, lambda: appraisal.cast_paper_ballot(session, actor, rating_id,
                                                                  votes, clock.now()))
    if isinstance(result, DomainError):
        rating, org = managed_rating(session, actor, rating_id)
        return _form(request, session, rating, org, result.status_code, typed=typed,
                     blank=blank, error=message_for(result))
    flash(request, _("已录入第 {n} 张纸质票。").format(n=result.cast_paper))
    return redirect(request, f"{rating_url(result)}/paper")
