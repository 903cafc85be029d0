"""Operations: request ids, JSON log lines, /metrics, /readyz (app/ops.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.types import Message, Receive, Scope, Send

from app import ops, settings
from app.ops import schema_head
from tests.api.support import World, ok


def metric(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus exposition, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and found == labels:
            return float(value)
    return None


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, as the JSON lines a production server writes."""
    stream = io.StringIO()
    handler = ops.log_handler(stream, "json")
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_every_answer_names_its_request(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
    assert client.get("/healthz").headers["x-request-id"] != answer.headers["x-request-id"]
    # A load balancer's id is kept, so its log and ours line up; anything else is replaced.
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2"}).headers[
        "x-request-id"] == "lb-7f3a.2"
    for hostile in ("<script>", "a" * 65, "two words", "line\\nbreak"):
        kept = client.get("/healthz", headers={"X-Request-ID": hostile}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", kept), hostile


def test_one_json_access_line_per_request_with_its_id(world: World, client: TestClient,
                                                      log_lines: io.StringIO) -> None:
    answer = client.get(f"/api/v1/members/{world.members['a1']}/score",
                        headers=world.as_("sec_a"))
    assert answer.status_code == 200
    missing = client.get("/api/v1/entries/999999", headers=world.as_("sec_a"))
    assert missing.status_code == 404
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = {line["request_id"]: line for line in lines if line["logger"] == "jifen.access"}
    line = access[answer.headers["x-request-id"]]
    assert line["level"] == "INFO" and line["method"] == "GET"
    assert line["path"] == f"/api/v1/members/{world.members['a1']}/score"
    # The route template, not the path: the metrics' label, few series whatever the ids.
    assert line["route"] == "/api/v1/members/{member_id}/score"
    assert line["status"] == 200 and line["duration_ms"] > 0 and "time" in line
    assert access[missing.headers["x-request-id"]]["status"] == 404


def test_metrics_count_the_request_just_made(world: World, client: TestClient) -> None:
    ok(client.get("/api/v1/me", headers=world.as_("a1")))
    before = metric(client.get("/metrics").text, "jifen_http_requests_total",
                    method="GET", route="/api/v1/me", status="200") or 0
    ok(client.get("/api/v1/me", headers=world.as_("a1")))
    text = client.get("/metrics").text
    assert metric(text, "jifen_http_requests_total", method="GET", route="/api/v1/me",
                  status="200") == before + 1
    assert (metric(text, "jifen_http_request_duration_seconds_count", method="GET",
                   route="/api/v1/me") or 0) >= before + 1
    # Paths that match no route share one series: a scan of random URLs adds none. (The
    # counters are the process's: other tests' requests are in them too.)
    unmatched = metric(client.get("/metrics").text, "jifen_http_requests_total",
                       method="GET", route="unmatched", status="404") or 0
    client.get("/no/such/page/1")
    client.get("/no/such/page/2")
    assert metric(client.get("/metrics").text, "jifen_http_requests_total", method="GET",
                  route="unmatched", status="404") == unmatched + 2


def test_metrics_show_entries_by_status_and_reviews_by_state(world: World,
                                                             client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2026-01-05")
    world.entry("sec_a", "a2", "P01", "2026-01-06")
    world.entry("a3", "a3", "P03", "2026-01-07")  # self-reported: pending
    ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews", {"year": 2026, "quarter": 1}),
       201)
    text = client.get("/metrics").text
    assert metric(text, "jifen_entries", status="approved", year="2026") == 2
    assert metric(text, "jifen_entries", status="pending", year="2026") == 1
    assert metric(text, "jifen_reviews", status="draft", year="2026") == 1
    assert metric(text, "jifen_open_objections") == 0
    assert metric(text, "jifen_page_cache_pages") is not None


def test_database_counts_are_kept_for_a_while(world: World, client: TestClient,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted at most every JIFEN_METRICS_DB_SECONDS: a scrape every few seconds by
    several Prometheus servers reads the tables once."""
    world.entry("sec_a", "a1", "P01", "2026-01-05")
    assert metric(client.get("/metrics").text, "jifen_entries", status="approved",
                  year="2026") == 1
    world.entry("sec_a", "a2", "P01", "2026-01-05")
    assert metric(client.get("/metrics").text, "jifen_entries", status="approved",
                  year="2026") == 1
    monkeypatch.setenv("JIFEN_METRICS_DB_SECONDS", "0")
    settings.get_settings.cache_clear()
    try:
        assert metric(client.get("/metrics").text, "jifen_entries", status="approved",
                      year="2026") == 2
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()


def test_metrics_can_require_a_token(client: TestClient,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_METRICS_TOKEN", "scrape-secret-0123456789")
    settings.get_settings.cache_clear()
    try:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        answer = client.get("/metrics",
                            headers={"Authorization": "Bearer scrape-secret-0123456789"})
        assert answer.status_code == 200 and "jifen_http_requests_total" in answer.text
        assert answer.headers["content-type"].startswith("text/plain")
    finally:
        monkeypatch.undo()
        settings.get_settings.cache_clear()


def test_ready_only_at_this_releases_schema(client: TestClient, db: Session) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "detail": f"schema {schema_head()}"}
    db.execute(ops.sa.text("UPDATE alembic_version SET version_num = '0001'"))
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["status"] == "not_ready"
    assert "0001" in behind.json()["detail"] and "jifen migrate" in behind.json()["detail"]


def test_not_ready_when_the_database_does_not_answer(client: TestClient, db: Session,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        raise ops.SQLAlchemyError("connection refused")

    monkeypatch.setattr(db, "execute", broken)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "not_ready",
                             "detail": "the database does not answer (SQLAlchemyError)"}
    # Liveness does not depend on the database.
    assert client.get("/healthz").status_code == 200


def test_metrics_count_the_requests_in_progress() -> None:
    """Begun and not yet answered, by method: what a crash of the server would cut off (the
    failover drill kills a server only once it has some); a request that fails is done too."""

    def in_progress(method: str) -> float:
        return metric(ops.exposition().decode(), "jifen_http_requests_in_progress",
                      method=method) or 0

    seen: list[float] = []

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(in_progress("POST"))
        raise RuntimeError("the handler failed")

    async def nothing() -> Message:
        return {"type": "http.disconnect"}

    async def drop(message: Message) -> None:
        pass

    before = in_progress("POST")
    scope: Scope = {"type": "http", "method": "POST", "path": "/api/v1/photos", "headers": []}
    with pytest.raises(RuntimeError):
        asyncio.run(ops.RequestContext(handler)(scope, nothing, drop))
    assert seen == [before + 1]
    assert in_progress("POST") == before
