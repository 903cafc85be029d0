"""Who sees a disposal case and who takes each of its steps (appraisal.md §5): the member,
the branch committee, the committees above and administrators see it; to anyone else it
does not exist (404, and it is in none of their lists). Each step is its party's: anyone
else who sees the case is refused (403), and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.case_scene import DECIDE, INVESTIGATE, PREREVIEW, VOTE, propose, reach, step
from tests.api.support import World, ok, refused

ROLES = ("a4", "a1", "sec_a", "sec_b", "party_sec", "admin")  # the case is about a4
HIDDEN = (404, "not_found")
BRANCH = {"a4": (403, "own_case"), "a1": HIDDEN, "sec_a": (200, None), "sec_b": HIDDEN,
          "party_sec": (403, "branch_committee_only"), "admin": (200, None)}
ABOVE = {"a4": (403, "own_case"), "a1": HIDDEN, "sec_a": (403, "committee_above_only"),
         "sec_b": HIDDEN, "party_sec": (200, None), "admin": (200, None)}
MEMBER = {"a4": (200, None), "a1": HIDDEN, "sec_a": (403, "member_only"), "sec_b": HIDDEN,
          "party_sec": (403, "member_only"), "admin": (403, "member_only")}
APPEAL = {"kind": "appeal", "text": "不服决定，提出申诉"}
# Each step at the state where it is due, and who may take it.
STEPS: dict[str, tuple[str, dict[str, Any], dict[str, tuple[int, str | None]]]] = {
    "investigation": ("filed", INVESTIGATE[1], BRANCH),
    "proposal": ("talked", propose("expel")[1], BRANCH),
    "prereview": ("proposed", PREREVIEW[1], ABOVE),
    "defence": ("proposed", {"kind": "defence", "text": "我有正当理由"}, MEMBER),
    "vote": ("prereviewed", VOTE[1], BRANCH),
    "decision": ("voted", DECIDE[1], ABOVE),
    "appeal": ("decided", APPEAL, MEMBER),
    "appeal_answer": ("appealed", {"kind": "appeal_answer", "text": "维持原决定"}, ABOVE),
}


@pytest.mark.parametrize("who", ROLES)
def test_a_case_is_seen_by_the_member_the_committees_and_admins_only(world: World,
                                                                      who: str) -> None:
    case = reach(world, "decided")
    answer = world.get(who, f"/cases/{case}")
    listed = ok(world.get(who, "/cases"))
    by_member = world.get(who, "/cases", member_id=world.members["a4"])
    if who in ("a1", "sec_b"):
        refused(answer, 404, "not_found")
        assert listed == {"items": [], "total": 0, "next": None, "resume": None}
        # a4 is outside their view: 404, as an organisation outside it is.
        refused(by_member, 404, "not_found")
    else:
        assert ok(answer)["id"] == case
        assert [c["id"] for c in listed["items"]] == [case]
        assert [c["id"] for c in ok(by_member)["items"]] == [case]


@pytest.mark.parametrize(("kind", "who"), [(k, w) for k in STEPS for w in ROLES])
def test_each_step_is_taken_by_its_party_only(world: World, kind: str, who: str) -> None:
    state, body, parties = STEPS[kind]
    case = reach(world, "decided" if state == "appealed" else state)
    if state == "appealed":
        ok(step(world, case, "a4", APPEAL))
    before = ok(world.get("admin", f"/cases/{case}"))
    status, code = parties[who]
    answer = step(world, case, who, body)
    if status == 200:
        assert ok(answer)["steps"][-1]["kind"] == kind
        return
    refused(answer, status, code)
    assert ok(world.get("admin", f"/cases/{case}")) == before
