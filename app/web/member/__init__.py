"""The member pages: my score, my entries, self-report, my branch's results, my notices."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.member import notices, report, results, score

router = APIRouter()
for module in (score, report, results, notices):
    router.include_router(module.router)
