"""Who did something, as the API names them: the member behind an account.

Rows keep the account that acted (`created_by`, `decided_by`, ...): an account id, which only
an administrator can map to a person (the audit log names its username). The API answers
member ids under those names instead (issue 18): null for an account with no member (an
administrator's own, a service account's).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from app.models import Account


def members_of(session: Session, account_ids: Iterable[int | None]) -> dict[int, int | None]:
    """The member of each of these accounts (None: the account has no member)."""
    wanted = {a for a in account_ids if a is not None}
    if not wanted:
        return {}
    found: dict[int, int | None] = {a: None for a in wanted}
    for account_id, member_id in session.exec(
            select(Account.id, Account.member_id).where(col(Account.id).in_(wanted))).all():
        found[account_id or 0] = member_id
    return found
