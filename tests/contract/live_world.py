"""A live Jifen for the generated client's flow (test_generated_client.py), in a process of
its own: the API test world (tests/api/support.build_world) on a fresh SQLite file, with
one pending entry (a1's own report) and a read-write service account of the 党委 (its API
key written to `api-key` beside the database once the world is built), served by uvicorn
on 127.0.0.1 at a standing clock.

    python -m tests.contract.live_world <database file> <port>
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def main() -> None:
    database, port = Path(sys.argv[1]), int(sys.argv[2])
    url = f"sqlite:///{database}"
    os.environ.update({"JIFEN_DATABASE_URL": url, "JIFEN_SECRET_KEY": secrets.token_urlsafe(48),
                       "JIFEN_UPLOAD_DIR": str(database.parent / "uploads")})

    import uvicorn
    from sqlmodel import Session

    from app import security
    from app.clock import FixedClock, get_clock
    from app.db import make_engine
    from app.main import app
    from app.migrate import upgrade
    from tests.api.support import build_world, ok
    from tests.conftest import START, serving

    security.use_cheap_hashing()
    upgrade(url)
    clock = FixedClock(START)
    with Session(make_engine(url), expire_on_commit=False) as session, \
            serving(session, clock) as client:
        world = build_world(client, session, clock)
        world.entry("a1", "a1", "P01", "2026-01-08", note="参加主题党日")
        created = ok(world.post("admin", "/service-accounts", {
            "name": "city-platform", "org_id": world.party, "access": "read-write",
            "note": "the city's data platform"}), 201)
    (database.parent / "api-key").write_text(created["api_key"]["key"], encoding="utf-8")
    app.dependency_overrides[get_clock] = lambda: clock
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
