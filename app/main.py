"""The application: routers, and one handler that turns errors into api.md's error body."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import api
from app.services.errors import DomainError

log = logging.getLogger("jifen")

_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden",
                 404: "not_found", 405: "method_not_allowed", 409: "conflict",
                 413: "too_large", 415: "unsupported_media_type", 422: "invalid",
                 429: "too_many_attempts"}


def _error(status: int, detail: object, code: str, headers: dict[str, str] | None = None,
           **extra: object) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, **extra}, status_code=status,
                        headers=headers)


def _where(loc: tuple[object, ...] | list[object]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


async def on_domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return _error(exc.status_code, exc.detail, exc.code, headers)


async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
              for e in exc.errors()]
    return _error(422, "; ".join(problems) or "Invalid input.", "validation_error",
                  errors=errors)


async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _error(exc.status_code, exc.detail, _STATUS_CODES.get(exc.status_code, "error"),
                  dict(exc.headers) if exc.headers else None)


async def on_integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # Two requests raced for the same unique thing; the loser is told to look again.
    log.warning("integrity error: %s", exc)
    return _error(409, "Someone else changed this at the same moment; reload and try again.",
                  "concurrent_change")


async def on_operational_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", exc)
    return _error(503, "The database is busy or unavailable; try again shortly.",
                  "database_unavailable", {"Retry-After": "5"})


def create_app() -> FastAPI:
    app = FastAPI(
        title="Jifen 积分",
        summary="双十规范积分 and 评星定级 for Party branches",
        version="0.1.0",
        docs_url="/docs",
    )
    app.include_router(api.router)
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(OperationalError, on_operational_error)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    return app


app = create_app()
