"""A form sent twice is saved once (issue 19): a tap again after a timeout, the browser
sending it again, a proxy's retry.

Each form that creates something carries a one-time key, a hidden field `form_key` rendered
fresh with the form (app/web/forms.new_form_key, in every page's context). Before the form's
work runs, the key is claimed like the API's Idempotency-Key (app/services/idempotency.py),
as the logged-in account's (`web:<account id>`: another account's key is another key):

- Saved: the claim keeps where the saved thing is shown (the page the form goes to), in the
  transaction that saves it. The same form sent again goes there too, told it was received
  already; nothing is saved again.
- Not saved (refused, or a step that saves nothing, such as a confirmation): the key is
  released in the same transaction. Unlike the API, a refusal is never kept: the form is
  shown again as typed (htmx leaves it in place, key and all), and the corrected form is
  sent with the same key, which must then run.
- The same key with other values (the page came back from the browser's history and was
  changed after it was saved): refused, `idempotency_key_reused`; while the first is still
  being saved, `idempotency_in_progress` (app/present/messages.py says both).

A form sent without a key (a page opened before this release) is saved as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from fastapi import Request
from fastapi.responses import Response

from app.clock import Clock
from app.db import SessionDep
from app.services import idempotency
from app.services.access import Actor
from app.services.idempotency import Answer, Claim
from app.web.render import flash, redirect

log = logging.getLogger("jifen")

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Outcome:
    """A form's answer, and where what it saved is shown (None: nothing was saved)."""

    response: Response
    saved_at: str | None = None


def fingerprint(path: str, values: Mapping[str, str], files: Sequence[BinaryIO] = ()) -> str:
    """SHA-256 of what the form asks: its path, its fields as the route read them (not their
    order, nor the CSRF token or the key) and the bytes of each file."""
    digest = hashlib.sha256(json.dumps([path, sorted(values.items())],
                                       ensure_ascii=False).encode())
    for file in files:
        part = hashlib.sha256()
        file.seek(0)
        while chunk := file.read(_CHUNK):
            part.update(chunk)
        file.seek(0)
        digest.update(part.digest())
    return digest.hexdigest()


_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def usable_key(key: str) -> bool:
    """A key of new_form_key's alphabet, at most 64 characters. Another (a page tampered
    with) is no key: the form is saved as a page older than the keys would be, its typed
    text never lost to a refusal of a field the member cannot see."""
    return _KEY.fullmatch(key) is not None


def save_once(request: Request, session: SessionDep, actor: Actor, clock: Clock, key: str,
              asked: str, work: Callable[[], Outcome], received: str) -> Response:
    """The form's answer: `work` run once for its key (`asked`, its fingerprint), or, sent
    again once saved, a redirect to where it was saved with `received` said there."""
    if not usable_key(key):
        return work().response
    found = idempotency.claim(session, f"web:{actor.account_id}", key, asked, clock.now())
    if isinstance(found, Answer):
        flash(request, received)
        return redirect(request, dict(found.headers).get("location", "/"))
    try:
        outcome = work()
    except BaseException:
        _release(found)
        raise
    idempotency.settle(found, None if outcome.saved_at is None else
                       Answer(303, [("location", outcome.saved_at)], b""))
    return outcome.response


def _release(claim: Claim) -> None:
    """The work failed (its writes are undone): the key is given back at once, or, the
    database failing too, once it answers again."""
    try:
        idempotency.release(claim)
    except Exception:
        log.exception("could not release a form's key")
        idempotency.release_later(claim)
