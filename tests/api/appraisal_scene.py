"""Branch B's 2025 annual appraisal, played through the API, for the summary (汇总) and the
blank forms (appraisal.md §3). Branch A is not rated.

Branch B (第二支部): sec_b, b1, party_sec, and two members added here: b2 probationary,
b3 exempt for 2025 (bedridden). Points per unit: P01 2, P02 1, P03 2, P04 2, P05 2, P06 4,
P07 1, P08 2, P09 2, P10 4, each capped at 8.
  b1   Q1 P01×4 P02×8 P03×4 P04×4 (8+8+8+8 = 32) | Q2 P05×4 P06×2 (16) |
       Q3 P07×8 P08×4 (16) | Q4 P09×4 P10×2 (16); reviews 5 a quarter:
       ytd 37, 58, 79, 100: 5 stars, proposed excellent
  the others: reviews only, 5 a quarter: 20, unqualified proposed
Lines: 5 (sec_b, b1, party_sec, b2, b3); graded 3 (sec_b, b1, party_sec); exempt 1 (b3);
probationary 1 (b2). n = 3: at most ⌊3/3⌋ = 1 excellent.
Grades set: b1 excellent (proposed), sec_b qualified, party_sec basically qualified (both
raised with a reason): excellent 1, qualified 1, basically qualified 1, unqualified 0.
Ballot: voters sec_b, b1, party_sec, b2 = 4 (b3 exempt); online b1 and b2, one paper
ballot: cast 2 + 1 = 3 of 4, turnout 0.75.
Published with 5 days' notice: b1 objects (open), party_sec objects and is answered:
1 open objection. The rating stays published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.api.support import NO_NOTICE, PASSWORD, World, ok

Q_DATES = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}
B1_RECORDS = {1: [("P01", 4), ("P02", 8), ("P03", 4), ("P04", 4)],
              2: [("P05", 4), ("P06", 2)], 3: [("P07", 8), ("P08", 4)],
              4: [("P09", 4), ("P10", 2)]}
EXEMPTION = {"reason_kind": "bedridden", "note": "长期卧床", "parent_consent_on": "2025-12-01",
             "meeting_on": "2025-12-10"}
B_LINES = ["sec_b", "b1", "party_sec", "b2", "b3"]
B_GRADED = ["sec_b", "b1", "party_sec"]


@dataclass(frozen=True)
class Scene:
    rating_id: int
    open_objection: int


def add_member(world: World, username: str, standing: str = "full") -> int:
    # A probationary member joined less than two years ago (probation_too_long).
    joined_on = "2024-07-01" if standing == "probationary" else "2010-07-01"
    body = {"name": username, "org_id": world.branch_b, "category": "active",
            "joined_on": joined_on, "username": username, "password": PASSWORD,
            "standing": standing}
    member_id: int = ok(world.post("admin", "/members", body), 201)["id"]
    world.members[username] = member_id
    return member_id


def finalize_b(world: World) -> None:
    """B's four quarters: b1's records, each review published with no notice, finalized."""
    for quarter in (1, 2, 3, 4):
        for code, quantity in B1_RECORDS[quarter]:
            world.entry("sec_b", "b1", code, Q_DATES[quarter], quantity=quantity)
        review = ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_b", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_b", f"/reviews/{review['id']}/finalize"))


def rate_b(world: World) -> int:
    """B's rating, with the two grades raised; a draft."""
    add_member(world, "b2", "probationary")
    b3 = add_member(world, "b3")
    ok(world.put("sec_b", f"/members/{b3}/exemptions/2025", EXEMPTION))
    finalize_b(world)
    rating: dict[str, Any] = ok(world.post("sec_b", f"/orgs/{world.branch_b}/ratings",
                                           {"year": 2025}), 201)
    rid: int = rating["id"]
    m = world.members
    ok(world.patch("sec_b", f"/ratings/{rid}/items/{m['sec_b']}",
                   {"grade": "qualified", "reason": "全年坚持值班"}))
    ok(world.patch("sec_b", f"/ratings/{rid}/items/{m['party_sec']}",
                   {"grade": "basically_qualified", "reason": "参加活动较多"}))
    return rid


def play_b(world: World) -> Scene:
    """B's rating through the ballot to published, with one objection open."""
    rid = rate_b(world)
    m = world.members
    ok(world.post("sec_b", f"/ratings/{rid}/ballot/open"))
    ok(world.post("b1", f"/ratings/{rid}/ballots", {"votes": {str(m["sec_b"]): "qualified"}}),
       201)
    ok(world.post("b2", f"/ratings/{rid}/ballots", {"votes": {str(m["b1"]): "excellent"}}),
       201)
    ok(world.post("sec_b", f"/ratings/{rid}/paper-ballots",
                  {"votes": {str(m["b1"]): "excellent", str(m["party_sec"]): "qualified"}}),
       201)
    ok(world.post("sec_b", f"/ratings/{rid}/ballot/close"))
    ok(world.post("sec_b", f"/ratings/{rid}/publish", {"notice_days": 5}))
    open_one = ok(world.post("b1", f"/ratings/{rid}/objections", {"text": "等次有误"}), 201)
    answered = ok(world.post("party_sec", f"/ratings/{rid}/objections", {"text": "请核实"}),
                  201)
    ok(world.post("sec_b", f"/objections/{answered['id']}/resolve", {"response": "已核实"}))
    return Scene(rid, open_one["id"])
