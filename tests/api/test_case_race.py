"""Two committee members recording the same step of a case at once (issue 16): one records
it, the other is refused 409 wrong_step, and the step is there once. The app as it runs,
every request with a session of its own, on a SQLite file and on PostgreSQL when
JIFEN_TEST_DATABASE_URL points at one."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from app import db as db_module
from app.models import AuditLog, CaseStep
from tests.api.case_scene import INVESTIGATE, VOTE, file_case, reach, step
from tests.api.support import World, ok
from tests.api.test_audit_concurrency import in_threads
from tests.api.test_import_race import race_url, race_world

__all__ = ["race_url", "race_world"]  # the fixtures, used here


def _recorded(kind: str) -> tuple[int, int]:
    with Session(db_module.get_engine()) as session:
        steps = session.exec(select(func.count()).select_from(CaseStep)
                             .where(col(CaseStep.kind) == kind)).one()
        audited = session.exec(select(func.count()).select_from(AuditLog)
                               .where(col(AuditLog.action) == f"case.{kind}")).one()
    return int(steps), int(audited)


@pytest.mark.parametrize("kind", ["investigation", "vote"])
def test_the_same_step_twice_at_once_is_recorded_once(race_world: World, kind: str) -> None:
    world = race_world
    if kind == "investigation":
        case, body = ok(file_case(world), 201)["id"], INVESTIGATE[1]
    else:
        case, body = reach(world, "prereviewed"), VOTE[1]
    for who in ("sec_a", "vice_a"):
        world.as_(who)  # logged in before the race
    answers: list[Any] = []
    in_threads(*(lambda who=who: answers.append(step(world, case, who, body))
                 for who in ("sec_a", "vice_a")))
    outcome = Counter((a.status_code, a.json().get("code")) for a in answers)
    assert outcome == Counter({(200, None): 1, (409, "wrong_step"): 1}), outcome
    assert _recorded(kind) == (1, 1)
    seen = ok(world.get("admin", f"/cases/{case}"))
    assert [s["kind"] for s in seen["steps"]].count(kind) == 1
