"""The application: routers, and one handler that turns errors into docs/api.md's error body
(RFC 9457 problem details, app/api/problems.py)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import api, ops, web
from app.api import document
from app.api.entry_import import IMPORT_PATH as API_ENTRY_IMPORT_PATH
from app.api.idempotency import RequestDigest
from app.api.member_import import IMPORT_PATH as API_IMPORT_PATH
from app.api.photos import UPLOAD_PATH as API_PHOTO_PATH
from app.api.problems import problem
from app.clock import ClockDep
from app.cors import ApiCors
from app.db import SessionDep
from app.hops import in_one_hop
from app.limits import BodyLimitMiddleware, BodyTooLarge, RequestSlots
from app.methods import AllowedMethods
from app.present.i18n import DEFAULT_LANGUAGE, _, set_language
from app.present.messages import MESSAGES
from app.routing import gate_routers
from app.services.errors import DomainError, TooManyAttempts
from app.settings import cors_origins, get_settings
from app.web.committee.import_entries import PAGE_PATH as ENTRY_IMPORT_PAGE
from app.web.committee.import_members import UPLOAD_PATHS as IMPORT_PATHS
from app.web.errors import web_domain_error, web_error
from app.web.member.report import UPLOAD_PATH, refuse_upload
from app.web.page_cache import PageCache, page_cache

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
SWAGGER_UI = "swagger-ui-5.36.0"

log = logging.getLogger("jifen")

_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden",
                 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                 413: "too_large", 415: "unsupported_media_type", 422: "invalid",
                 429: "too_many_attempts"}


def _error(request: Request, status: int, detail: str, code: str,
           headers: dict[str, str] | None = None, **extra: object) -> Response:
    return problem(request.url.path, status, detail, code, headers, **extra)


def _where(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or ("body" if "body" in loc else "request")


def _is_page(request: Request) -> bool:
    """Anything outside /api/ is a page for a person, not JSON for a program."""
    return not request.url.path.startswith("/api/")


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    response = web_domain_error(request, exc) if _is_page(request) else \
        _error(request, exc.status_code, exc.detail, exc.code,
               {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None)
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _problem(error: dict[str, object]) -> str:
    if error.get("type") == "json_invalid":
        # FastAPI's loc here is ("body", <character position>), which reads as nonsense.
        return "body: not valid JSON (send a JSON object with Content-Type: application/json)"
    loc = error.get("loc")
    where = _where(loc) if isinstance(loc, tuple | list) else "request"
    return f"{where}: {error.get('msg', 'invalid')}"


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _is_page(request):
        fields = sorted({_where(e.get("loc", ())) for e in exc.errors()})
        return web_error(request, 422, _("填写的内容有误，请检查：") + _("、").join(fields))
    problems = [_problem(e) for e in exc.errors()]
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
              for e in exc.errors()]
    return _error(request, 422, "; ".join(problems) or "Invalid input.", "validation_error",
                  errors=errors)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_page(request) and exc.status_code in (404, 405):
        # A wrong method is answered as it is (its Allow: app/methods.py), even a form's.
        return web_error(request, exc.status_code, _("没有这个页面。"),
                         back=exc.status_code != 405)
    if exc.status_code == 400 and _is_page(request):
        # A form the framework could not read (too many fields, a broken upload): a page
        # that says so, not the API's JSON.
        return web_error(request, 422, _(MESSAGES["form_unreadable"]))
    if exc.status_code == 400 and not _is_page(request):
        # The framework could not parse the body (bytes that are not UTF-8, a broken form):
        # invalid input, which docs/api.md answers with 422.
        return _error(request, 422, f"body: {exc.detail}; send UTF-8 JSON with Content-Type: "
                      "application/json.", "validation_error",
                      errors=[{"loc": ["body"], "msg": exc.detail, "type": "body_unreadable"}])
    return _error(request, exc.status_code, str(exc.detail),
                  _STATUS_CODES.get(exc.status_code, "error"),
                  dict(exc.headers) if exc.headers else None)


async def on_integrity_error(request: Request, exc: Exception) -> Response:
    if _is_page(request):
        return web_error(request, 409, _(MESSAGES["concurrent_change"]))
    # Two requests raced for the same unique thing; the loser is told to look again.
    log.warning("integrity error: %s", exc)
    return _error(request, 409, "Someone else changed this at the same moment; reload and "
                  "try again.", "concurrent_change")


async def on_unstorable_value(request: Request, exc: Exception) -> Response:
    if _is_page(request):
        return web_error(request, 422, _(MESSAGES["value_out_of_range"]))
    # A number too large for the database's integers (an id such as 10**20), or text it
    # cannot store (PostgreSQL refuses NUL characters): the client's input, never a 500.
    log.info("value the database cannot take: %s", exc)
    return _error(request, 422, "A value in the request is out of range or cannot be "
                  "stored: check that ids and numbers are ordinary whole numbers and that text "
                  "has no NUL characters.", "value_out_of_range")


async def on_body_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    if not _is_page(request):
        return _error(request, 413, exc.detail, "body_too_large")
    if request.url.path == UPLOAD_PATH:
        return refuse_upload(request)
    return web_error(request, 413, _(MESSAGES["body_too_large"]))


async def on_operational_error(request: Request, exc: Exception) -> Response:
    if _is_page(request):
        return web_error(request, 503, _(MESSAGES["database_unavailable"]))
    log.error("database unavailable: %s", exc)
    return _error(request, 503, "The database is busy or unavailable; try again shortly.",
                  "database_unavailable", {"Retry-After": "5"})


class LanguageMiddleware:
    """Sets the page language from the session before anything renders (zh_CN by default)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            set_language((scope.get("session") or {}).get("lang", DEFAULT_LANGUAGE))
        await self.app(scope, receive, send)


# No inline scripts or styles anywhere in the pages; Swagger UI's page needs its own.
_CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
_DOCS_CSP = ("default-src 'self'; img-src 'self' data:; script-src 'self' 'unsafe-inline'; "
             "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    """CSP, no framing, no sniffing, no referrer leaks: on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _DOCS_CSP if scope["path"] == "/docs" else _CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", csp)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(self), geolocation=()")
            await send(message)

        await self.app(scope, receive, with_headers)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Threads for the blocking work of requests (sync endpoints and dependencies).
    anyio.to_thread.current_default_thread_limiter().total_tokens = \
        get_settings().worker_threads
    _app.state.page_cache = PageCache(get_settings().page_cache_size)
    _app.state.database_counts = ops.DatabaseCounts()
    ops.configure_logging()
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title=document.TITLE,
        summary="双十规范积分 and 评星定级 for Party branches",
        description=document.DESCRIPTION,
        version="0.1.0",
        openapi_tags=document.TAGS,
        contact=document.CONTACT,
        servers=[{"url": "/", "description": "This server"}],
        docs_url=None,
    )
    document.install(app)
    # Each plain endpoint's blocking work in one hop to a worker thread (app/hops.py).
    in_one_hop(api.router)
    in_one_hop(web.router)
    app.include_router(api.router)
    app.include_router(web.router)
    # A request tries only the router whose routes start as its path does (app/routing.py).
    gate_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="Jifen 积分 API",
            # Vendored, pinned (README, The pages): /docs needs no CDN, and Swagger UI 5
            # reads the OpenAPI 3.1 document.
            swagger_js_url=f"/static/vendor/{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"/static/vendor/{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url="/static/icon.svg")

    # Innermost: hashes what an API POST with an Idempotency-Key sends, as the app reads it,
    # so only what the body limits let through (app/api/idempotency.py).
    app.add_middleware(RequestDigest)
    # Innermost but one, so a refused page has its session (flash, CSRF) and language.
    app.add_middleware(BodyLimitMiddleware, refuse=on_body_too_large,
                       upload_paths={UPLOAD_PATH, API_IMPORT_PATH, API_ENTRY_IMPORT_PATH,
                                     API_PHOTO_PATH, ENTRY_IMPORT_PAGE, *IMPORT_PATHS})
    app.add_middleware(LanguageMiddleware)
    settings = get_settings()
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie="jifen_session", max_age=settings.token_ttl_minutes * 60,
                       same_site="lax", https_only=bool(settings.cookie_secure))
    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(AllowedMethods, router=app.router)
    app.add_middleware(SecurityHeadersMiddleware)
    # A request waits for its slot before anything else is done for it.
    app.add_middleware(RequestSlots, slots=min(settings.db_pool_size + settings.db_max_overflow,
                                               settings.worker_threads))
    # Pages of the origins JIFEN_CORS_ORIGINS lists may call /api/v1 (app/cors.py); a
    # preflight waits for no slot.
    if origins := cors_origins(settings.cors_origins):
        app.add_middleware(ApiCors, origins=origins)
    # Outermost: the request id, the access line and the metrics count the wait too.
    app.add_middleware(ops.RequestContext)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(BodyTooLarge, on_body_too_large)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(OperationalError, on_operational_error)
    app.add_exception_handler(DataError, on_unstorable_value)
    app.add_exception_handler(OverflowError, on_unstorable_value)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers. A coroutine: no I/O, so no hop to a thread."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(session: SessionDep) -> JSONResponse:
        """Readiness: the database answers and its schema is this release's; else 503."""
        ready, detail = ops.readiness(session)
        return JSONResponse({"status": "ready" if ready else "not_ready", "detail": detail},
                            status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request, session: SessionDep, clock: ClockDep) -> Response:
        """Prometheus metrics (app/ops.py); with JIFEN_METRICS_TOKEN, for its bearer only."""
        token = get_settings().metrics_token
        if token and not hmac.compare_digest(
                request.headers.get("authorization", ""), f"Bearer {token}"):
            return _error(request, 401, "Metrics need the bearer token (JIFEN_METRICS_TOKEN).",
                          "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
        state = request.app.state
        counts: ops.DatabaseCounts = state.database_counts
        counts.refresh(session, clock.today().year)
        return Response(ops.exposition(counts, ops.PageCacheStats(page_cache(request))),
                        media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()
