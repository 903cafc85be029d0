"""Disposal cases taken through the API (appraisal.md §5): the world's branch A (sec_a and
vice_a on its committee; a1..a4; six full members) files a case about a4; party_sec sits on
the 党委's committee, the committee above. The clock stands at 2026-01-10 (Beijing)."""

from __future__ import annotations

from typing import Any

from tests.api.support import World, ok

TODAY = "2026-01-10"
# The steps from one status to the next, each (who, body): the branch's own steps by sec_a,
# the level above's by party_sec. A branch meeting of the six: five there, four for.
INVESTIGATE = ("sec_a", {"kind": "investigation", "findings": "半年未参加组织生活"})
PREREVIEW = ("party_sec", {"kind": "prereview", "decision": "approve", "note": ""})
VOTE = ("sec_a", {"kind": "vote", "held_on": TODAY, "present": 5, "for": 4, "against": 1,
                  "abstain": 0})
DECIDE = ("party_sec", {"kind": "decision", "decision": "approve", "note": "同意"})


def talk(world: World, *talkers: str) -> tuple[str, dict[str, Any]]:
    return ("sec_a", {"kind": "talk", "held_on": TODAY, "summary": "谈心谈话",
                      "talker_ids": [world.members[t] for t in talkers or ("a1", "a2")]})


def propose(measure: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ("sec_a", {"kind": "proposal", "measure": measure, "reason": "经教育仍无转变",
                      **extra})


def file_case(world: World, member: str = "a4", ground: str = "lost_contact",
              who: str = "sec_a", year: int = 2026, note: str = "失联半年") -> Any:
    return world.post(who, "/cases", {"member_id": world.members[member], "ground": ground,
                                      "year": year, "note": note})


def step(world: World, case: int, who: str, body: dict[str, Any]) -> Any:
    return world.post(who, f"/cases/{case}/steps", body)


def path_to(world: World, state: str, measure: str = "rectify") -> list[tuple[str, Any]]:
    """The steps from filing to `state` (filed, investigated, talked, proposed, prereviewed,
    voted, decided), the proposal naming `measure`."""
    order = ["investigated", "talked", "proposed", "prereviewed", "voted", "decided"]
    steps = [INVESTIGATE, talk(world), propose(measure), PREREVIEW, VOTE, DECIDE]
    return steps[:order.index(state) + 1] if state != "filed" else []


def reach(world: World, state: str, measure: str = "rectify", member: str = "a4",
          ground: str = "lost_contact") -> int:
    """A new case about `member` taken to `state`; its id."""
    case: int = ok(file_case(world, member, ground), 201)["id"]
    for who, body in path_to(world, state, measure):
        ok(step(world, case, who, body))
    return case
AGREED_STEP = ("sec_a", {"kind": "withdrawal", "agreed": True, "note": "本人同意退党"})
