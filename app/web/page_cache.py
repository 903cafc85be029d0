"""The member's score page, kept while nothing it shows has changed.

Members look at their score far more often than it changes (at a quarter's 公示, everyone
at once). A page is kept per login session under a key read by one indexed statement:

- the branch's revision, which every change to the branch's records replaces
  (app/services/locking.py: entries, reviews, objections, ratings, its members and their
  committee roles), and the revision of the rule set the year reads (its own, else the
  one it starts from: app/services/rules.py);
- the account (password change, admin, notices seen up to), the session (its CSRF token
  is in the page), the language, HTMX or not, the year asked for and today's date (a
  quarter begins on a date).

Revisions are random and never reused, so a kept page is the page of that state: no
process has to tell another that something changed, and a server restarted, or a database
restored from a backup, cannot show a page of another state. The same statement checks the
login (the account exists, the password and the session generation have not changed since,
the session was not logged out, and it has not expired);
anything else, and any page with a message to show once, goes the long way
(app/web/deps.py: web_actor), which also answers the refusals.

A kept page is stored compressed and answered as it is (gzip), or 304 Not Modified to a
browser that already has it: on a slow phone network the page is not sent again at all.
"""

from __future__ import annotations

import gzip
import secrets
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from app.clock import Clock
from app.db import SessionDep
from app.present import i18n
from app.services import kept_pages
from app.settings import get_settings
from app.web.deps import session_claims
from app.web.render import is_htmx

MEDIA_TYPE = "text/html; charset=utf-8"
VARY = "HX-Request, Accept-Encoding"
# Browsers may keep the page but must ask whether it changed (the ETag) before showing it.
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class KeptPage:
    gz: bytes
    etag: str


class PageCache:
    """The last ``size`` pages used, in this process (0: none kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._pages: OrderedDict[Hashable, KeptPage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: Hashable) -> KeptPage | None:
        with self._lock:
            page = self._pages.get(key)
            if page is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: Hashable, page: KeptPage) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self.hits = self.misses = 0


def page_cache(request: Request) -> PageCache:
    """The process's cache (made at start-up, app/main.py lifespan)."""
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None:
        cache = request.app.state.page_cache = PageCache(get_settings().page_cache_size)
    return cache


def lookup(request: Request, session: SessionDep, clock: Clock, page_name: str,
           year: int) -> Response | None:
    """The kept answer to this request for this caller, or None (the key is then noted on the
    request for `keep`, unless the page is not to be kept)."""
    cache = page_cache(request)
    if cache.size <= 0:
        return None
    data = request.session
    claims = session_claims(data, clock)
    if claims is None or "flash" in data:
        return None  # not logged in, expired, or a message to show: the long way
    state = kept_pages.page_state(session, claims, year)
    if state is None or state.session_ended or \
            not claims.admits(state.password_changed_at, state.session_generation):
        return None
    request.state.page_key = key = (
        page_name, year, claims.account_id, *state[1:], data.get("csrf"),
        i18n.current_language(), is_htmx(request), clock.today())
    page = cache.get(key)
    if page is None:
        return None
    # Its read ends in this thread as the endpoint returns, as every read's (app/hops.py).
    return _answer(request, page)


def keep(request: Request, response: Response) -> Response:
    """Keep a page made the long way under the key `lookup` noted, and answer it."""
    key = getattr(request.state, "page_key", None)
    if key is None or response.status_code != 200 or "flash" in request.session:
        return response
    page = KeptPage(gz=gzip.compress(bytes(response.body), compresslevel=6),
                    etag=f'W/"{secrets.token_urlsafe(12)}"')
    page_cache(request).put(key, page)
    return _answer(request, page)


def _answer(request: Request, page: KeptPage) -> Response:
    headers = {"ETag": page.etag, "Vary": VARY, "Cache-Control": CACHE_CONTROL}
    if page.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        # Already compressed: the GZip middleware passes an encoded body through.
        return Response(page.gz, media_type=MEDIA_TYPE,
                        headers=headers | {"Content-Encoding": "gzip"})
    return Response(gzip.decompress(page.gz), media_type=MEDIA_TYPE, headers=headers)
