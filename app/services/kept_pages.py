"""What a kept member page is keyed on, read by one indexed statement (app/web/page_cache.py).

The branch's revision changes with every change to its records (app/services/locking.py),
the rule set's with every change to the year's rules; the account's fields (and the ended
sessions) are the login check and the notices seen.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col

from app.db import core
from app.models import Account, Member, Org
from app.security import SessionClaims
from app.services import rules
from app.services.access import session_ended


class PageState(NamedTuple):
    password_changed_at: datetime
    session_generation: int
    session_ended: bool
    is_admin: bool
    member_id: int
    org_id: int
    revision: str
    notices_seen_at: datetime | None
    rules_revision: str | None


# Built once: every kept page is found by it.
_STATE = (
    sa.select(col(Account.password_changed_at), col(Account.session_generation),
              session_ended(), col(Account.is_admin), col(Member.id),
              col(Org.id), col(Org.revision), col(Account.notices_seen_at),
              rules.revision_read(sa.bindparam("year")))
    .select_from(Account)
    .join(Member, col(Member.id) == Account.member_id)
    .join(Org, col(Org.id) == Member.org_id)
    .where(col(Account.id) == sa.bindparam("account"))
)


def page_state(session: Session, claims: SessionClaims, year: int) -> PageState | None:
    """The member account's state a kept page of `year` depends on, and whether the login
    session was ended; None if not a member's account."""
    row = core(session, _STATE, {"account": claims.account_id, "session": claims.session_id,
                                 "year": year}).first()
    return PageState(*row) if row is not None else None
