"""Every export that lists members carries their ids (党员编号, as the API's member_id), in
.xlsx and CSV; an export the imports take back still imports, the id column ignored (issue 18).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api.support import World, ok
from tests.api.test_entry_import import upload
from tests.api.test_exports import BRANCH_A, play_year

ID = "党员编号"


def table(world: World, who: str, path: str, fmt: str, **params: Any) -> list[dict[str, Any]]:
    """The file's first sheet (or the CSV) as rows keyed by heading."""
    answer = world.client.get(f"/api/v1{path}", params={"format": fmt, **params},
                              headers=world.as_(who))
    assert answer.status_code == 200, answer.text
    if fmt == "csv":
        rows: list[list[Any]] = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    else:
        ws = load_workbook(io.BytesIO(answer.content)).worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def ids_by(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
    return {str(r[key]): int(r[ID]) for r in rows}


@pytest.fixture
def year(world: World) -> dict[str, Any]:
    return play_year(world)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_exports_carry_member_ids(world: World, year: dict[str, Any], fmt: str) -> None:
    m = world.members
    q1, rating = year["reviews"][1]["id"], year["rating"]["id"]
    branch_a = {u: m[u] for u in BRANCH_A}
    assert ids_by(table(world, "sec_a", f"/reviews/{q1}/export", fmt), "姓名") == branch_a
    assert ids_by(table(world, "sec_a", f"/ratings/{rating}/export", fmt), "姓名") == branch_a
    members = table(world, "admin", f"/orgs/{world.party}/summary/export", fmt, year=2025,
                    sheet="members")
    assert ids_by(members, "姓名") == {u: m[u] for u in [*BRANCH_A, "sec_b", "b1", "party_sec"]}
    assert ids_by(table(world, "sec_a", "/members/export", fmt), "用户名*") == branch_a
    entries = table(world, "sec_a", f"/members/{m['a1']}/entries/export", fmt, year=2025)
    assert len(entries) > 5 and {int(r[ID]) for r in entries} == {m["a1"]}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_entries_export_with_its_ids_imports_again(world: World, fmt: str) -> None:
    """The id column is read by programs, not by the import: a row edited for another
    member (username and name) imports for that member, whatever id it still carries."""
    world.entry("sec_a", "a1", "P01", "2025-03-14", quantity=2, note="学习")
    world.entry("sec_a", "a1", "B01", "2025-04-01", points=3)
    rows = table(world, "sec_a", f"/members/{world.members['a1']}/entries/export", fmt,
                 year=2025)
    assert {int(r[ID]) for r in rows} == {world.members["a1"]}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({**r, "用户名": "a2", "姓名": "a2"} for r in rows)
    data = out.getvalue().encode("utf-8-sig")
    preview = ok(upload(world, "sec_a", data, "a1.csv", dry_run=True))
    assert preview["errors"] == []
    assert {r["member_id"] for r in preview["rows"]} == {world.members["a2"]}
    assert ok(upload(world, "sec_a", data, "a1.csv"), 201)["created"] == 2
