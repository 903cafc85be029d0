"""Schemathesis over the whole OpenAPI schema, as each kind of caller.

Every operation gets generated requests, valid and invalid ones (types, ranges, missing
and extra fields), and each answer must be no 5xx, a status the operation documents, and
a body and content type matching its schema. Bounded and deterministic: a fixed seed, no
shrinking, no example database.

- test_as_each_caller: MAX_EXAMPLES random requests per operation, each sent as each caller
  of world.ROLES in turn; three ids in four are aimed at the world's real objects
  (world.aim_at_world). Generated once for all the callers: generating is most of the
  time, and it drew the same requests for each caller anyway (a fixed seed).
- test_boundaries_as_admin: schemathesis's coverage phase (each parameter at and beyond
  its bounds, wrong types, missing and extra fields), as the administrator, whom no scope
  stops before the services. Validation is the same for every caller, so once is enough.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import app
from tests.fuzz.tally import SENT
from tests.fuzz.world import ROLES, FuzzWorld, aim_at_world

# Per operation and caller; JIFEN_FUZZ_EXAMPLES=200 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("JIFEN_FUZZ_EXAMPLES", "20"))


def status_code_as_documented(ctx: schemathesis.CheckContext, response: Any,
                              case: schemathesis.Case) -> bool | None:
    """status_code_conformance, but for a 304 to a read sent with If-None-Match: the
    document says it in that header's description, not as an answer (app/api/retries.py:
    an answer without a body would type every generated read as Any)."""
    sent = {name.lower() for name in (case.headers or {})}
    if response.status_code == 304 and "if-none-match" in sent and case.method == "GET":
        return True
    return status_code_conformance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_as_documented, content_type_conformance,
          response_schema_conformance]
# Not negative_data_rejection: text is stripped before its length is checked, so a note of
# 500 characters and some trailing spaces is accepted though longer than the schema's limit.


def _schema(phases: dict[str, Any]) -> Any:
    config = schemathesis.Config.from_dict({
        "seed": 20260110,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True,
                       "database": "none", "mode": "all",
                       # The caller's token is ours to give (ROLES), never generated or left out.
                       "with-security-parameters": False},
        "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}, **phases},
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    })
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


random_requests = _schema({"coverage": {"enabled": False}})
boundaries = _schema({"fuzzing": {"enabled": False},
                      "coverage": {"unexpected-methods": [],
                                   "generate-duplicate-query-parameters": False}})


def _send(case: schemathesis.Case, world: FuzzWorld, role: str, tally: str) -> None:
    with world.isolated():
        try:
            response = case.call_and_validate(headers=world.headers[role], checks=CHECKS)
        except Exception as failure:
            failure.add_note(f"(sent as {role})")
            raise
    SENT[tally, response.status_code] += 1


@random_requests.parametrize()
# Parametrized only to give each operation's test an id of its own (see below).
@pytest.mark.parametrize("roles", [ROLES], ids=["every-caller"])
def test_as_each_caller(case: schemathesis.Case, roles: tuple[str, ...],
                        fuzz_world: FuzzWorld) -> None:
    aim_at_world(fuzz_world, case.path_parameters, case.query, case.body)
    for role in roles:  # each rolled back on its own
        _send(case, fuzz_world, role, role)


@boundaries.parametrize()
# Parametrized only to give each operation's test an id of its own: schemathesis leaves the
# operation out of an unparametrized test's id, and xdist would run one in place of all 55.
@pytest.mark.parametrize("role", ["admin"])
def test_boundaries_as_admin(case: schemathesis.Case, role: str, fuzz_world: FuzzWorld) -> None:
    _send(case, fuzz_world, role, "admin, boundaries")


def test_no_request_left_a_trace(fuzz_world: FuzzWorld) -> None:
    """Run last: every generated request was rolled back, the world is as it was built."""
    assert fuzz_world.rows() == fuzz_world.built
