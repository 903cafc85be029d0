"""A branch committee's round, as a city platform would script it, through ONLY the client
that openapi-python-client generates from /openapi.json (package `jifen_client`): log in,
list the pending entries, approve one, read the member's score, download an export.

test_generated_client.py generates the client, type-checks this file with it (mypy, strict:
every answer is a real type, no Any), and runs it against a live server:

    python tests/contract/client_flow.py <base url> <username> <password>

It prints one line per step and exits non-zero at the first answer that is not the one
expected.
"""

from __future__ import annotations

import sys
from http import HTTPStatus

from jifen_client import AuthenticatedClient, Client
from jifen_client.api.auth import log_in
from jifen_client.api.entries import approve_entry, list_entries
from jifen_client.api.members import export_members, read_score
from jifen_client.models import (
    BodyLogIn,
    EntryOut,
    EntryStatus,
    ErrorOut,
    ExportFormat,
    PageEntryOut,
    ScoreOut,
    TokenOut,
)

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file


class FlowFailed(Exception):
    pass


def authenticate(base_url: str, username: str, password: str) -> AuthenticatedClient:
    """The client the rest of the flow uses. A password's token for now; a platform will
    use its service account's API key here instead (the one place to change)."""
    answer = log_in.sync(client=Client(base_url=base_url),
                         body=BodyLogIn(username=username, password=password))
    if not isinstance(answer, TokenOut):
        raise FlowFailed(f"log in: {problem(answer)}")
    return AuthenticatedClient(base_url=base_url, token=answer.access_token)


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


def score(client: AuthenticatedClient, member_id: int, year: int) -> ScoreOut:
    answer = read_score.sync(member_id, client=client, year=year)
    if not isinstance(answer, ScoreOut):
        raise FlowFailed(f"score of member {member_id}: {problem(answer)}")
    return answer


def members_export(client: AuthenticatedClient) -> bytes:
    answer = export_members.sync_detailed(client=client, format_=ExportFormat.XLSX)
    if answer.status_code != HTTPStatus.OK:
        parsed = answer.parsed
        raise FlowFailed(f"export: {problem(parsed if isinstance(parsed, ErrorOut) else None)}")
    return answer.content


def run(base_url: str, username: str, password: str) -> None:
    client = authenticate(base_url, username, password)
    print(f"logged in as {username}")
    waiting = pending_entries(client)
    print(f"{len(waiting)} pending entries")
    if not waiting:
        raise FlowFailed("no pending entry to approve")
    approved = approve(client, waiting[0])
    print(f"approved entry {approved.id} ({approved.rule_code}, {approved.points} points)")
    year = approved.occurred_on.year
    total = score(client, approved.member_id, year)
    counted = {item.code: item.counted for item in total.items}
    if counted.get(approved.rule_code, 0) <= 0:
        raise FlowFailed(f"the score does not count {approved.rule_code}: {counted}")
    print(f"member {total.member_id}: {total.score} points in {total.year}, "
          f"{total.stars} stars, provisional {total.provisional}")
    data = members_export(client)
    if not data.startswith(XLSX_MAGIC):
        raise FlowFailed(f"the export is not an .xlsx file: {data[:20]!r}")
    print(f"members export: {len(data)} bytes of .xlsx")
    if any(e.id == approved.id for e in pending_entries(client)):
        raise FlowFailed(f"entry {approved.id} is still pending")
    print("flow done")


if __name__ == "__main__":
    try:
        run(*sys.argv[1:4])
    except FlowFailed as failed:
        sys.exit(f"flow failed: {failed}")
