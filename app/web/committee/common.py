"""What the committee pages share: who may open them, and what every committee page shows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from app.services.access import Actor, require_committee
from app.web.deps import WebActor
from app.web.forms import here
from app.web.render import render

STYLES = "/static/parts/committee.css"


async def committee_actor(actor: WebActor) -> Actor:
    """A committee member (of any organisation) or an administrator."""
    require_committee(actor, "open the committee pages")
    return actor


CommitteeActor = Annotated[Actor, Depends(committee_actor)]


def page(request: Request, template: str, context: dict[str, Any], *,
         partial: str | None = None, status_code: int = 200,
         trigger: str | None = None) -> HTMLResponse:
    """render() with what every committee template uses."""
    base: dict[str, Any] = {"here": here(request), "styles": STYLES}
    return render(request, template, base | context, partial=partial,
                  status_code=status_code, trigger=trigger)
