"""Running Jifen like any other service: request ids, JSON logs, metrics, readiness.

- Every request gets an id: the caller's ``X-Request-ID`` when it is a plain token (a load
  balancer's), else a new one. It is sent back in ``X-Request-ID`` and is on every log line
  written while the request runs, so one request's lines can be found together.
- One access line per request (method, route, status, milliseconds), from the app rather
  than uvicorn, so it carries the request id. ``JIFEN_LOG_FORMAT=json`` (the default in
  production) writes one JSON object per line (python-json-logger); ``text`` is for people.
- Prometheus metrics (prometheus-client) at ``/metrics``: requests by method, route
  template and status, their latency, those in progress by method, and, read from the
  database at most every ``JIFEN_METRICS_DB_SECONDS``, this year's entries by status and
  reviews by state, and open objections. Route templates (``/api/v1/entries/{entry_id}``),
  not paths, so the number of series stays bounded. With several worker processes set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, and each scrape sums them all.
- ``/healthz`` says the process answers (liveness); ``/readyz`` says it can serve: the
  database answers and its schema is this release's (readiness, for a load balancer or
  an orchestrator, which then sends no traffic to a server whose database is down or not
  yet migrated).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TextIO

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.models import Entry, Objection, ObjectionStatus, Review
from app.settings import get_settings
from app.web.page_cache import PageCache

REQUEST_ID_HEADER = "x-request-id"
# On every answer of the app, never on a proxy's own (nginx's 502 page): the pages swap only
# answers that carry it (static/htmx-guard.js), so a proxy's error page never replaces a form.
APP_MARK = "X-Jifen"
# A caller's id is kept only if it is a short plain token: nothing that could forge a log
# line or carry markup.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("jifen.access")

# Metric objects live in the default registry (one per process); with
# PROMETHEUS_MULTIPROC_DIR set, prometheus-client writes them to files there instead.
REQUESTS = Counter("jifen_http_requests_total", "HTTP requests answered.",
                   ["method", "route", "status"])
LATENCY = Histogram("jifen_http_request_duration_seconds",
                    "Time from the request's arrival to the end of its answer.",
                    ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# Requests begun and not yet answered: what a server's crash or restart would cut off (the
# failover drill waits for some before it kills one), summed over the workers.
IN_PROGRESS = Gauge("jifen_http_requests_in_progress", "HTTP requests being answered now.",
                    ["method"], multiprocess_mode="livesum")


def _route_of(scope: Scope) -> str:
    """The matched route's template, whole: "/api/v1/members/{member_id}/score".

    The route FastAPI reports knows only its path within its router; the router's prefix
    is what the request path has before that path with the parameters filled in.
    """
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    filled = str(template)
    for name, value in (scope.get("path_params") or {}).items():
        parts = re.split(r"\{" + re.escape(name) + r"(?::[^}]*)?\}", filled)
        filled = str(value).join(parts)
    path = str(scope["path"])
    prefix = path[:-len(filled)] if filled and path.endswith(filled) else ""
    return prefix + str(template)


class RequestContext:
    """Outermost: the request id, the app's mark (APP_MARK), the access line and the request
    metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = sent if _SAFE_ID.fullmatch(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500  # unless an answer starts
        in_progress = IN_PROGRESS.labels(scope["method"])
        in_progress.inc()

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                headers[APP_MARK] = "1"
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            in_progress.dec()
            seconds = time.perf_counter() - started
            route = _route_of(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(seconds)
            access_log.info("%s %s %s %.1f ms", scope["method"], scope["path"], status,
                            seconds * 1000, extra={
                                "method": scope["method"], "path": scope["path"],
                                "route": route, "status": status,
                                "duration_ms": round(seconds * 1000, 2)})
            request_id.reset(token)


# --- logs ----------------------------------------------------------------------------------


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


_configured = threading.Lock()


def log_handler(stream: TextIO, log_format: str) -> logging.Handler:
    """A handler writing ``log_format`` ("json" or "text") lines, each with its request id."""
    handler = logging.StreamHandler(stream)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(_WithRequestId())
    return handler


_configuring = threading.Lock()


def configure_logging() -> None:
    """The process's log lines: to stderr, JSON or text (JIFEN_LOG_FORMAT), at
    JIFEN_LOG_LEVEL, each with its request id.

    Idempotent (each worker process's start-up calls it). uvicorn's own access lines are
    turned off: ours carry the request id and the route.
    """
    settings = get_settings()
    handler = log_handler(sys.stderr, settings.log_format or "text")
    handler.set_name("jifen")
    with _configuring:
        root = logging.getLogger()
        for old in [h for h in root.handlers if h.get_name() == "jifen"]:
            root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(settings.log_level)
        for name in ("uvicorn", "uvicorn.error"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
        logging.getLogger("uvicorn.access").disabled = True


# --- metrics from the database ---------------------------------------------------------------


@dataclass(eq=False)  # registered by identity
class DatabaseCounts(Collector):
    """This year's entries by status, reviews by state, open objections: counted at most
    every JIFEN_METRICS_DB_SECONDS per process (each count reads one year's index range)."""

    at: float = -1e9
    year: int = 0
    entries: list[tuple[str, int]] = field(default_factory=list)
    reviews: list[tuple[str, int]] = field(default_factory=list)
    open_objections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self, session: Session, year: int) -> None:
        with self.lock:
            if time.monotonic() - self.at < get_settings().metrics_db_seconds \
                    and year == self.year:
                return
            self.entries = [(str(s), int(n)) for s, n in session.execute(
                sa.select(col(Entry.status), sa.func.count()).where(col(Entry.year) == year)
                .group_by(col(Entry.status)).order_by(col(Entry.status)))]
            self.reviews = [(str(s), int(n)) for s, n in session.execute(
                sa.select(col(Review.status), sa.func.count()).where(col(Review.year) == year)
                .group_by(col(Review.status)).order_by(col(Review.status)))]
            self.open_objections = int(session.execute(
                sa.select(sa.func.count()).select_from(Objection)
                .where(col(Objection.status) == ObjectionStatus.open)).scalar_one())
            self.year, self.at = year, time.monotonic()

    def collect(self) -> Iterator[Metric]:
        entries = GaugeMetricFamily("jifen_entries", "Entries of the year by status.",
                                    labels=["status", "year"])
        for status, count in self.entries:
            entries.add_metric([status, str(self.year)], count)
        reviews = GaugeMetricFamily("jifen_reviews", "Quarterly reviews of the year by state.",
                                    labels=["status", "year"])
        for status, count in self.reviews:
            reviews.add_metric([status, str(self.year)], count)
        objections = GaugeMetricFamily("jifen_open_objections",
                                       "Objections to published results not yet answered.")
        objections.add_metric([], self.open_objections)
        yield from (entries, reviews, objections)


@dataclass(eq=False)
class PageCacheStats(Collector):
    """This process's kept member pages (app/web/page_cache.py)."""

    cache: PageCache

    def collect(self) -> Iterator[Metric]:
        kept = GaugeMetricFamily("jifen_page_cache_pages", "Member pages kept now.")
        kept.add_metric([], len(self.cache))
        hits = CounterMetricFamily("jifen_page_cache_hits", "Pages answered from the cache.")
        hits.add_metric([], self.cache.hits)
        misses = CounterMetricFamily("jifen_page_cache_misses",
                                     "Pages looked up and not found (then made).")
        misses.add_metric([], self.cache.misses)
        yield from (kept, hits, misses)


class _RequestMetrics(Collector):
    """The request metrics of this process, from the default registry."""

    def collect(self) -> Iterator[Metric]:
        for metric in (REQUESTS, LATENCY, IN_PROGRESS):
            yield from metric.collect()


def exposition(*collectors: Collector) -> bytes:
    """The metrics text: the requests (every process's, with PROMETHEUS_MULTIPROC_DIR) and
    the given collectors'."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_RequestMetrics())
    for collector in collectors:
        registry.register(collector)
    return bytes(generate_latest(registry))


def readiness(session: Session) -> tuple[bool, str]:
    """Whether this process can serve: the database answers and is at this release's schema."""
    try:
        version = session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as error:
        return False, f"the database does not answer ({type(error).__name__})"
    if version != schema_head():
        return False, (f"the database schema is {version or 'empty'}; this release needs "
                       f"{schema_head()} (run: jifen migrate)")
    return True, f"schema {version}"


@lru_cache(maxsize=1)
def schema_head() -> str:
    """The newest migration of this release (what /readyz expects the database to be at)."""
    # Alembic (with Mako and Pygments) imported where used: not on every process's start.
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return str(head)
