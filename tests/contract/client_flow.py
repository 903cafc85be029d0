"""A branch committee's round, as a city platform would script it, through ONLY the client
that openapi-python-client generates from /openapi.json (package `jifen_client`): with a
service account's API key, list the pending entries, approve one, read every member's score
in bulk, download an export.

test_generated_client.py generates the client, type-checks this file with it (mypy, strict:
every answer is a real type, no Any), and runs it against a live server:

    python tests/contract/client_flow.py <base url> <API key>

It prints one line per step and exits non-zero at the first answer that is not the one
expected.
"""

from __future__ import annotations

import sys
from http import HTTPStatus

from jifen_client import AuthenticatedClient
from jifen_client.api.auth import read_me
from jifen_client.api.entries import approve_entry, list_entries
from jifen_client.api.members import export_members, read_org_scores
from jifen_client.models import (
    EntryOut,
    EntryStatus,
    ErrorOut,
    ExportFormat,
    MemberScoreOut,
    MeOut,
    PageEntryOut,
    PageMemberScoreOut,
    Role,
)
from jifen_client.types import UNSET, Unset

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file


class FlowFailed(Exception):
    pass


def authenticate(base_url: str, api_key: str) -> tuple[AuthenticatedClient, MeOut]:
    """The client the rest of the flow uses: the service account's API key is the bearer
    credential itself (no login); GET /me says whose it is and where it may look."""
    client = AuthenticatedClient(base_url=base_url, token=api_key)
    me = read_me.sync(client=client)
    if not isinstance(me, MeOut):
        raise FlowFailed(f"who am I: {problem(me)}")
    return client, me


def problem(answer: ErrorOut | None) -> str:
    if answer is None:
        return "an answer the document does not describe"
    return f"{answer.status} {answer.code} ({answer.title}): {answer.detail} [{answer.type_}]"


def pending_entries(client: AuthenticatedClient) -> list[EntryOut]:
    page = list_entries.sync(client=client, status=EntryStatus.PENDING, limit=100)
    if not isinstance(page, PageEntryOut):
        raise FlowFailed(f"pending entries: {problem(page)}")
    return page.items


def approve(client: AuthenticatedClient, entry: EntryOut) -> EntryOut:
    answer = approve_entry.sync(entry.id, client=client)
    if not isinstance(answer, EntryOut) or answer.status is not EntryStatus.APPROVED:
        raise FlowFailed(f"approve entry {entry.id}: "
                         f"{answer if isinstance(answer, EntryOut) else problem(answer)}")
    return answer


def scores(client: AuthenticatedClient, org_id: int, year: int) -> list[MemberScoreOut]:
    """Every member's score under the organisation, a page of 2 at a time (as a platform
    would page through a county), following `next` to the end."""
    found: list[MemberScoreOut] = []
    after: str | Unset = UNSET
    while True:
        page = read_org_scores.sync(org_id, client=client, year=year, limit=2, after=after)
        if not isinstance(page, PageMemberScoreOut):
            raise FlowFailed(f"scores under organisation {org_id}: {problem(page)}")
        found += page.items
        if not isinstance(page.next_, str):
            return found
        after = page.next_


def members_export(client: AuthenticatedClient) -> bytes:
    answer = export_members.sync_detailed(client=client, format_=ExportFormat.XLSX)
    if answer.status_code != HTTPStatus.OK:
        parsed = answer.parsed
        raise FlowFailed(f"export: {problem(parsed if isinstance(parsed, ErrorOut) else None)}")
    return answer.content


def run(base_url: str, api_key: str) -> None:
    client, me = authenticate(base_url, api_key)
    [scope] = [role.org_id for role in me.roles if role.role is Role.SERVICE]
    print(f"service account {me.username} on organisation {scope}")
    waiting = pending_entries(client)
    print(f"{len(waiting)} pending entries")
    if not waiting:
        raise FlowFailed("no pending entry to approve")
    approved = approve(client, waiting[0])
    print(f"approved entry {approved.id} ({approved.rule_code}, {approved.points} points)")
    year = approved.occurred_on.year
    everyone = scores(client, scope, year)
    ids = [line.member_id for line in everyone]
    if len(set(ids)) != len(ids):
        raise FlowFailed(f"a member was read twice across the pages: {ids}")
    [total] = [line for line in everyone if line.member_id == approved.member_id]
    counted = {item.code: item.counted for item in total.items}
    if counted.get(approved.rule_code, 0) <= 0:
        raise FlowFailed(f"the score does not count {approved.rule_code}: {counted}")
    print(f"scores of {len(everyone)} members; member {total.member_id}: {total.score} "
          f"points in {total.year}, {total.stars} stars")
    data = members_export(client)
    if not data.startswith(XLSX_MAGIC):
        raise FlowFailed(f"the export is not an .xlsx file: {data[:20]!r}")
    print(f"members export: {len(data)} bytes of .xlsx")
    if any(e.id == approved.id for e in pending_entries(client)):
        raise FlowFailed(f"entry {approved.id} is still pending")
    print("flow done")


if __name__ == "__main__":
    try:
        run(*sys.argv[1:3])
    except FlowFailed as failed:
        sys.exit(f"flow failed: {failed}")
