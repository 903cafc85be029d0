"""Self-report (申报) with an optional photo, and serving evidence photos back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import Entry
from app.points import SELF_REPORT_KINDS
from app.present.i18n import N_, _
from app.present.messages import member_message_for, member_quarter_locked
from app.services import entries, member_view
from app.services.access import Actor
from app.services.entries import NewEntry, QuarterLocked, Resubmission
from app.services.errors import DomainError, Forbidden, Invalid, NotFound, attempt
from app.services.evidence import Photo, stored_file
from app.services.rules import load_rule_set
from app.services.scoring import member_year_score
from app.services.uploads import Upload, decode_ahead, received
from app.settings import get_settings
from app.web.deps import WebActor, session_claims
from app.web.forms import FormKey, id_or_none
from app.web.member.shared import EntryView, RuleChoice, entry_view, rule_choice
from app.web.once import Outcome, fingerprint, save_once
from app.web.render import flash, is_htmx, redirect, render

# The page that takes a photo: app.limits allows it a photo-sized body (main.py).
UPLOAD_PATH = "/me/report"
_DATE = re.compile(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*")


def _too_large_message() -> str:
    return _("照片太大了（不能超过{n}MB）。请换一张照片，或用手机重新拍一张。").format(
        n=get_settings().max_upload_mb)


def refuse_upload(request: Request) -> Response:
    """413 without having stored the body (app.limits refused it): the message where the
    person is."""
    message = _too_large_message()
    response = render(request, "pages/member/too_large.html", {"message": message},
                      partial="partials/member/form_error.html", status_code=413)
    if is_htmx(request):
        response.headers["HX-Retarget"] = "#report-error"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


router = APIRouter()


@dataclass(frozen=True)
class ReportForm:
    """What the person typed, given back to them when something must be corrected."""

    rule_code: str = ""
    occurred_on: str = ""
    quantity: str = "1"
    points: str = ""
    note: str = ""
    # A rejected entry of mine corrected and sent again (issue 17): its id, and whether its
    # photo goes with the new one (unless a new photo is chosen).
    resubmit: int | None = None
    keep_photo: bool = True
    # The form's one-time key (app/web/once.py), kept while it is shown again to correct.
    form_key: str = ""


def _choices(session: SessionDep, actor: Actor, clock: Clock) -> list[RuleChoice]:
    member, _org = member_view.me(session, actor)
    rules = load_rule_set(session, clock.today().year, clock.now())
    counted = {i.code: i.counted for i in member_year_score(session, rules, member.id or 0).items}
    return [rule_choice(i, counted.get(i.code, 0))
            for i in member_view.reportable_items(rules, member.category)]


def _rejected_view(session: SessionDep, actor: Actor, clock: Clock,
                   entry_id: int) -> EntryView:
    """The rejected entry a correction is for, as my entries list shows it."""
    entry = entries.get_entry(session, actor, entry_id)[0]
    return entry_view(entry, load_rule_set(session, entry.year, clock.now()))


def _form_page(request: Request, session: SessionDep, actor: Actor, clock: Clock,
               form: ReportForm, error: str | None = None, status_code: int = 200) -> Response:
    context = {"choices": _choices(session, actor, clock), "form": form,
               "today": clock.today().isoformat(), "error": error,
               "max_mb": get_settings().max_upload_mb, "message": error,
               "again": _rejected_view(session, actor, clock, form.resubmit)
               if form.resubmit is not None else None}
    response = render(request, "pages/member/report.html", context,
                      partial="partials/member/form_error.html" if error else None,
                      status_code=status_code)
    if error and is_htmx(request):
        # The form stays as typed (photo included); the message appears by its button.
        response.headers["HX-Retarget"] = "#report-error"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@router.get(UPLOAD_PATH)
def report_form(request: Request, session: SessionDep, actor: WebActor,
                clock: ClockDep, resubmit: str = "") -> Response:
    """The self-report form: what I did, when, how much, and a photo if I have one; with
    `resubmit`, filled in from a rejected entry of mine, to correct and send again."""
    if not resubmit:
        return _form_page(request, session, actor, clock,
                          ReportForm(occurred_on=clock.today().isoformat()))
    entry_id = _entry_id(resubmit)
    found = attempt(session, lambda: entries.resubmittable(session, actor, entry_id))
    if isinstance(found, DomainError):
        if found.code not in _NOT_RESUBMITTABLE:
            raise found
        return _not_resubmittable(request, found)
    rejected = found
    item = load_rule_set(session, rejected.year, clock.now()).item(rejected.rule_code)
    chosen = item is not None and item.chosen_points
    return _form_page(request, session, actor, clock, ReportForm(
        rule_code=rejected.rule_code, occurred_on=rejected.occurred_on.isoformat(),
        quantity="1" if chosen else str(rejected.quantity),
        points=str(abs(rejected.points)) if chosen else "", note=rejected.note,
        resubmit=rejected.id))


def _entry_id(text: str) -> int:
    entry_id = id_or_none(text)
    if entry_id is None:
        raise NotFound(f"Entry {text!r} does not exist or is outside your scope.")
    return entry_id


def _parse_day(text: str) -> date:
    match = _DATE.fullmatch(text)
    try:
        if match:
            return date(*(int(part) for part in match.groups()))
    except ValueError:
        pass
    raise Invalid(f"Not a date: {text!r}.", "date_invalid")


def _parse_number(text: str, default: int | None) -> int | None:
    text = text.strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise Invalid(f"Not a whole number: {text!r}.", "number_invalid") from None


_FORM_MESSAGES = {
    "rule_required": N_("请先选择要申报的项目。"),
    "date_invalid": N_("请填写正确的日期，例如 2026-01-05。"),
    "number_invalid": N_("次数和分值请填写整数，例如 1、2、3。"),
}


def _message(session: SessionDep, clock: Clock, error: DomainError) -> str:
    """The refusal in the member's words: what they can do instead (issue 17)."""
    text = _FORM_MESSAGES.get(error.code)
    if text:
        return _(text)
    if isinstance(error, QuarterLocked):
        return member_quarter_locked(error, entries.open_since(session, error.org_id,
                                                               clock.today()))
    return member_message_for(error)


def _new_entry(session: SessionDep, actor: Actor, clock: Clock, form: ReportForm) -> NewEntry:
    """The entry the form asks for; refusals the form can see before the service does."""
    if not form.rule_code:
        raise Invalid("Pick an item.", "rule_required")
    day = _parse_day(form.occurred_on)
    item = load_rule_set(session, day.year, clock.now()).item(form.rule_code) \
        if 2000 <= day.year <= clock.today().year else None
    if item is not None and item.kind not in SELF_REPORT_KINDS:
        # Even a committee member reports only these about themself on this page.
        raise Forbidden("Members may self-report only positive and bonus items.",
                        "self_report_kind")
    chosen = item is not None and item.chosen_points
    return NewEntry(
        member_id=actor.member_id or 0, rule_code=form.rule_code, occurred_on=day,
        quantity=None if chosen else _parse_number(form.quantity, 1),
        points=_parse_number(form.points, None) if chosen else None,
        note=form.note)


def _first_photo(photos: Sequence[object]) -> StarletteUpload | None:
    """The photo sent, if any: two inputs (camera, album) share the name, and an empty one
    arrives as "". (Starlette's UploadFile: FastAPI's is a subclass the parsed form does
    not use.)"""
    return next((p for p in photos if isinstance(p, StarletteUpload) and p.filename), None)


async def _photo_ahead(request: Request, clock: ClockDep) -> Photo | DomainError | None:
    """The form's photo decoded before the caller check begins the request's transaction
    (on SQLite, the database's one write lock; the branch's lock comes later still), so
    that no other change waits on it. Only under a signed, unexpired login (checked
    without the database): nobody else can make the server decode."""
    if session_claims(request.session, clock) is None:
        return None
    upload = _first_photo((await request.form()).getlist("photo"))  # parsed already
    if upload is None:
        return None
    return await decode_ahead(upload.file)


PhotoAhead = Annotated[Photo | DomainError | None, Depends(_photo_ahead)]


@router.post(UPLOAD_PATH)
def report(
    request: Request, session: SessionDep, ahead: PhotoAhead, actor: WebActor,
    clock: ClockDep,
    rule_code: Annotated[str, Form(max_length=10)] = "",
    occurred_on: Annotated[str, Form(max_length=30)] = "",
    quantity: Annotated[str, Form(max_length=10)] = "",
    points: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=1000)] = "",
    photo: Annotated[list[UploadFile | str] | None, File()] = None,
    resubmit: Annotated[str, Form(max_length=30)] = "",
    keep_photo: Annotated[str, Form(max_length=10)] = "",
    form_key: FormKey = "",
) -> Response:
    """Create a pending entry about me (with `resubmit`, the correction of a rejected one);
    the photo is stored only if the entry is."""
    member_view.me(session, actor)
    form = ReportForm(rule_code=rule_code.strip(), occurred_on=occurred_on.strip(),
                      quantity=quantity.strip(), points=points.strip(), note=note.strip(),
                      resubmit=_entry_id(resubmit) if resubmit.strip() else None,
                      keep_photo=bool(keep_photo), form_key=form_key)
    upload = _first_photo(photo or [])
    values = {k: str(v) for k, v in asdict(form).items() if k != "form_key"}
    asked = fingerprint(UPLOAD_PATH, values, [upload.file] if upload else [])
    return save_once(request, session, actor, clock, form.form_key, asked,
                     lambda: _report(request, session, actor, clock, form, upload, ahead),
                     _("这条申报刚才已经提交了，没有重复提交。"))


def _report(request: Request, session: SessionDep, actor: Actor, clock: Clock,
            form: ReportForm, upload: StarletteUpload | None,
            ahead: Photo | DomainError | None) -> Outcome:
    photo_upload = received(upload.file, ahead) if upload else None
    # The photo (decoded ahead) is stored, or its refusal given, only once the entry has
    # passed every check; a refusal (of the entry or of its photo) undoes what the checks
    # wrote, e.g. the year's rule set.
    outcome = attempt(session, lambda: _record(session, actor, clock, form, photo_upload))
    if isinstance(outcome, DomainError):
        error = outcome
        # A correction whose rejected entry may no longer be sent again (resubmitted
        # already, or its quarter confirmed since the page was opened).
        closed = None if form.resubmit is None else attempt(
            session, lambda: entries.resubmittable(session, actor, form.resubmit or 0))
        if isinstance(closed, DomainError) and closed.code in _NOT_RESUBMITTABLE:
            # Sent again from an old page (already resubmitted, its quarter confirmed
            # since): my entries say how.
            return Outcome(_not_resubmittable(request, closed))
        message = _too_large_message() if error.status_code == 413 \
            else _message(session, clock, error)
        if upload is not None and not is_htmx(request) and not error.code.startswith("photo_") \
                and error.status_code != 413:
            message += _("（照片需要重新选择）")
        return Outcome(_form_page(request, session, actor, clock, form, message,
                                  error.status_code))
    if form.resubmit is None:
        flash(request, _("已提交，等待支委审核"))
        return Outcome(redirect(request, "/me/entries"), "/me/entries")
    flash(request, _("已重新提交，等待支委审核"))
    at = f"/me/entries?year={outcome.year}"
    return Outcome(redirect(request, at), at)


def _not_resubmittable(request: Request, error: DomainError) -> Response:
    """To my entries, saying why this rejected entry is not sent again."""
    flash(request, _("这个季度已确认，不能再修改后重新提交。") if error.code == "quarter_locked"
          else member_message_for(error), "error")
    return redirect(request, "/me/entries")


# Refusals of a correction the form cannot help with.
_NOT_RESUBMITTABLE = ("not_rejected", "already_resubmitted", "not_own_entry", "quarter_locked")


def _record(session: SessionDep, actor: Actor, clock: Clock, form: ReportForm,
            photo: Upload | None) -> Entry:
    new = _new_entry(session, actor, clock, form)
    if form.resubmit is None:
        return entries.create_entry(session, actor, new, clock.now(), clock.today(),
                                    photo=photo)
    # Every field is on the form, filled in from the rejected entry: all are sent.
    change = Resubmission(rule_code=new.rule_code, occurred_on=new.occurred_on,
                          quantity=new.quantity, points=new.points, note=new.note,
                          keep_photo=form.keep_photo)
    return entries.resubmit_entry(session, actor, form.resubmit, change, clock.now(),
                                  clock.today(), photo=photo)


@router.get("/evidence/{entry_id}")
def evidence_photo(entry_id: int, session: SessionDep, actor: WebActor,
                   size: Literal["full", "thumb"] = "full") -> Response:
    """The photo of an entry, to whoever may see the entry (if it is its member's photo)."""
    path = stored_file(Path(get_settings().upload_dir),
                       entries.entry_photo(session, actor, entry_id), thumbnail=size == "thumb")
    if path is None:
        raise NotFound(f"Entry {entry_id} has no photo.")
    return FileResponse(path, media_type="image/jpeg", headers={
        "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
    })
