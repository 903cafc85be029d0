"""The member pages: my score, my entries, self-report, my branch's results, my notices,
my branch's annual rating and my ballot; how scores work (the year's rules in words)."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.member import ballot, cases, notices, rating, report, results, rules, score

router = APIRouter()
for module in (score, rules, report, results, notices, rating, ballot, cases):
    router.include_router(module.router)
