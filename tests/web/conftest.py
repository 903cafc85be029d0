from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock
from tests.api.support import World, build_world


@pytest.fixture
def world(client: TestClient, db: Session, clock: FixedClock) -> World:
    """The API test world (branch A: sec_a, vice_a, a1..a4; branch B: sec_b, b1, party_sec)."""
    return build_world(client, db, clock)
