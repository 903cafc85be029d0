"""Printed notices (公示) of a quarterly review and of an annual rating: one template, two outputs.

The page the browser prints and the PDF WeasyPrint makes come from the same Jinja template
and the same static/print.css. WeasyPrint is imported only when a PDF is asked for: without
pango (a system library) the app still starts, and the PDF answers 503 (PdfUnavailable).
"""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi.responses import Response
from PIL import ImageFile
from sqlmodel import Session

from app.models import Org, Rating, RatingStatus, Review, ReviewStatus
from app.points import Grade
from app.present import i18n
from app.present.downloads import content_disposition
from app.present.i18n import _
from app.present.labels import QUARTER_NAMES, moment_text, signed, signed_on_text
from app.present.templating import env
from app.services import ratings, reviews
from app.services.errors import DomainError
from app.services.rules import load_rule_set

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent.parent / "static"
PDF_TYPE = "application/pdf"
# One PDF at a time per process: WeasyPrint holds the GIL for most of a render (a second
# one at once would only slow both) and pango's font set-up is not made for threads.
_pdf_limiter = anyio.CapacityLimiter(1)


class PdfUnavailable(DomainError):
    status_code = 503
    default_code = "pdf_unavailable"


@dataclass(frozen=True)
class Notice:
    """A notice ready to render: its template, what goes in it, the PDF's file name (and its
    plain-ASCII fallback for old clients)."""

    template: str
    context: dict[str, Any]
    filename: str
    ascii_name: str = "notice.pdf"


@dataclass(frozen=True)
class NoticeLine:
    name: str
    review_score: int | None
    delta: str
    ytd: int


def notice_period(published_at: datetime | None, until: datetime | None) -> str | None:
    """公示期: from publication to the notice's end; a notice of no days has no period, and
    says so rather than print the same minute twice."""
    if published_at is None or until is None:
        return None
    if until <= published_at:
        return _("{start} 公布，未设公示期").format(start=moment_text(published_at))
    return _("{start} 至 {end}").format(start=moment_text(published_at), end=moment_text(until))


def review_notice(session: Session, review: Review, org: Org, now: datetime) -> Notice:
    """The quarter's 公示: every member's review score, the quarter's points, the year's total."""
    quarter = _(QUARTER_NAMES[review.quarter])
    heading = _("{year}年{quarter} 党员积分公示").format(year=review.year, quarter=quarter)
    lines = [NoticeLine(x.name, x.review_score, signed(x.delta), x.ytd)
             for x in reviews.review_lines(session, review, now)]
    # 3/5: out of the year's best review score, as the member's pages show it.
    review_max = load_rule_set(session, review.year, now).params.review_max
    period = notice_period(review.published_at, review.notice_until)
    context = {
        "review": review, "org_name": org.name, "heading": heading, "quarter": quarter,
        "title": f"{org.name} {heading}", "lines": lines, "period": period,
        "review_max": review_max,
        "finalized": moment_text(review.finalized_at) if review.finalized_at else None,
        "signed_on": signed_on_text(review.published_at),
        "draft_mark": (_("草稿 · 尚未公示，仅供核对") if review.status == ReviewStatus.draft
                       else None),
    }
    return Notice("print/review.html", context,
                  f"{org.name}{review.year}年{QUARTER_NAMES[review.quarter]}积分公示.pdf")


def rating_notice(session: Session, rating: Rating, org: Org, now: datetime) -> Notice:
    """The year's 评星定级 result: every member's annual score, stars and grade."""
    items = ratings.rating_items(session, rating.id or 0)
    rated, limit = ratings.rating_limit(items, session, rating.year, now)
    params = load_rule_set(session, rating.year, now).params
    heading = _("{year}年度 党员评星定级结果公示").format(year=rating.year)
    published = rating.status != RatingStatus.draft and rating.published_at is not None
    period = notice_period(rating.published_at, rating.notice_until) if published else None
    context = {
        "rating": rating, "org_name": org.name, "heading": heading,
        "title": f"{org.name} {heading}", "items": items, "rated": rated, "limit": limit,
        "excellent": sum(1 for i in items if i.grade == Grade.excellent.value),
        "exempt": sum(1 for i in items if i.exempt),
        "max_stars": len(params.star_thresholds),
        "approved": moment_text(rating.approved_at) if rating.approved_at else None,
        "period": period,
        "signed_on": signed_on_text(rating.approved_at or (
            rating.published_at if published else None)),
        "draft_mark": (_("草稿 · 尚未审定，仅供核对") if rating.status == RatingStatus.draft
                       else None),
    }
    return Notice("print/rating.html", context, f"{org.name}{rating.year}年度评星定级公示.pdf")


def notice_html(notice: Notice, *, for_pdf: bool, back_url: str = "/",
                pdf_url: str = "") -> str:
    """The notice's HTML: with the 打印 / PDF toolbar for a browser, without it for the PDF."""
    context = notice.context | {
        "for_pdf": for_pdf, "back_url": back_url, "pdf_url": pdf_url,
        "language": i18n.current_language()}
    return env.get_template(notice.template).render(context)


# A base no request ever goes to: the fetcher below serves /static/ from disk, nothing else.
_BASE_URL = "https://jifen.invalid/"


def static_file(url: str) -> tuple[bytes, str]:
    """A file under static/ named by a URL's path, and its type; ValueError for anything else."""
    path = urlsplit(url).path
    if path.startswith("/static/"):
        target = (STATIC_DIR / path.removeprefix("/static/")).resolve()
        if target.is_relative_to(STATIC_DIR) and target.is_file():
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            return target.read_bytes(), kind
    raise ValueError(f"not fetched for a printed notice: {url}")


def _fetcher(weasyprint: Any) -> Any:
    """WeasyPrint's URL fetcher, limited to static/: no network, no other file."""
    urls = weasyprint.urls
    if not hasattr(urls, "URLFetcherResponse"):  # WeasyPrint before 68: a function
        def fetch_dict(url: str) -> dict[str, Any]:
            body, kind = static_file(url)
            return {"string": body, "mime_type": kind, "redirected_url": url}

        return fetch_dict

    class StaticOnly(urls.URLFetcher):  # type: ignore[misc,name-defined]
        def fetch(self, url: str, headers: Any = None) -> Any:
            body, kind = static_file(url)
            return urls.URLFetcherResponse(url, body, {"Content-Type": kind})

    return StaticOnly()


def html_to_pdf(html: str) -> bytes:
    """Render the notice with WeasyPrint (blocking, CPU-bound: call it in a worker thread)."""
    # Our own stylesheet's rules for screens only, and a line per layout step: not news.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: pango or its friends are missing
        log.error("PDF unavailable: WeasyPrint cannot load: %s", error)
        raise PdfUnavailable(
            "PDF output is unavailable on this server: WeasyPrint cannot load (it needs the "
            "pango library and a Chinese font, e.g. Debian's libpango-1.0-0 libpangoft2-1.0-0 "
            "fonts-wqy-microhei). The print page works: print it from the browser.") from None
    # Importing WeasyPrint makes Pillow accept truncated images, in the whole process: an
    # evidence photo cut short would then be stored half grey (app/services/evidence.py).
    # Our PDFs draw only our own static images, so Pillow's default stands.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    started = time.perf_counter()
    pdf: bytes = weasyprint.HTML(string=html, base_url=_BASE_URL,
                                 url_fetcher=_fetcher(weasyprint)).write_pdf()
    log.info("notice PDF: %d bytes in %.0f ms", len(pdf), (time.perf_counter() - started) * 1e3)
    return pdf


async def pdf_response(html: str, filename: str, ascii_name: str = "notice.pdf") -> Response:
    """The PDF, made in a worker thread (one at a time), shown inline with its file name."""
    pdf = await anyio.to_thread.run_sync(html_to_pdf, html, limiter=_pdf_limiter)
    return Response(pdf, media_type=PDF_TYPE, headers={
        "Content-Disposition": content_disposition(filename, ascii_name, inline=True),
        "Cache-Control": "private, no-store"})


async def notice_pdf(session: Session, build: Callable[[], Notice]) -> Response:
    """Load and render in a worker thread, give the connection back, then make the PDF."""

    def load() -> tuple[str, Notice]:
        notice = build()
        html = notice_html(notice, for_pdf=True)
        session.close()  # nothing was written; the connection is not held during the PDF
        return html, notice

    html, notice = await anyio.to_thread.run_sync(load)
    return await pdf_response(html, notice.filename, notice.ascii_name)
