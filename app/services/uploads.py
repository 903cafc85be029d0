"""Evidence photos on record: which member each stored photo is for, and who uploaded it.

An entry's `evidence` names a photo the app stored (app/services/evidence.py). It may name
only a photo stored for the entry's own member, uploaded by the member or by whoever
recorded an entry for them: a path sent in the API's `evidence` field that names another
member's photo, or no stored photo at all, is refused with one answer for both (nothing to
learn about others' paths), and /evidence/{id} serves a photo only through an entry of the
member it was stored for (issue 14).

A photo is stored with its entry (the self-report page, `photo` of create_entry), or ahead of
it by its member (POST /api/v1/photos: `upload_own_photo`), to be named as an entry's
`evidence` next. One uploaded ahead and never named is served to nobody; a member keeps at
most MAX_UNATTACHED of them, the oldest forgotten (row and files) at their next upload.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Entry, EvidencePhoto, Member
from app.services.access import Actor, get_member
from app.services.errors import DomainError, Forbidden, Invalid
from app.services.evidence import (
    MIB,
    Photo,
    delete_photo,
    new_photo_path,
    prepare_photo,
    prepare_photo_async,
    save_photo,
    stored_files,
)
from app.services.locking import lock_branch
from app.settings import get_settings

# Photos a member uploaded ahead of their entries and has not yet named as any entry's
# evidence: more than a mini-program's retries need, and a bound on what a member can
# leave on disk (about 300 KB each, re-encoded).
MAX_UNATTACHED = 10


@dataclass(frozen=True)
class Upload:
    """A photo as it arrived with a request, stored once the entry it goes with has passed
    every check. Decoded then, or `ahead` (`decode_ahead`): before the request's transaction
    began, so the decoding (a phone's 12-megapixel photo: 130-180 ms of CPU) holds no lock;
    its refusal, if any, is still given where the decoding would have been, after the
    entry's own refusals."""

    source: BinaryIO
    max_bytes: int
    folder: Path  # the upload directory (JIFEN_UPLOAD_DIR)
    ahead: Photo | DomainError | None = None


def upload_limit() -> int:
    """The most a photo may weigh, in bytes (JIFEN_MAX_UPLOAD_MB)."""
    return get_settings().max_upload_mb * MIB


def received(source: BinaryIO, ahead: Photo | DomainError | None = None) -> Upload:
    """A photo as a request sent it, under the settings' limit, for their upload folder."""
    return Upload(source, upload_limit(), Path(get_settings().upload_dir), ahead)


async def decode_ahead(source: BinaryIO) -> Photo | DomainError:
    """The photo checked and re-encoded, or why it is refused (PhotoUnreadable,
    PhotoTooLarge, PhotoTooManyPixels): for `Upload.ahead`. From the event loop, holding
    no request's thread while the photo waits for a decoding slot."""
    try:
        return await prepare_photo_async(source, upload_limit())
    except DomainError as refused:
        return refused


def _decoded(upload: Upload) -> Photo:
    if isinstance(upload.ahead, DomainError):
        raise upload.ahead
    return upload.ahead or prepare_photo(upload.source, upload.max_bytes)


def is_members_photo(session: Session, member_id: int, path: str | None) -> bool:
    """Whether `path` names a photo stored for this member."""
    photo = session.get(EvidencePhoto, path) if path else None
    return photo is not None and photo.member_id == member_id


def own_photo(session: Session, member: Member, path: str | None) -> str | None:
    """A path an entry of `member` may name as its evidence (None for none), or Invalid."""
    if not path:
        return None
    if not is_members_photo(session, member.id or 0, path):
        raise Invalid(f"evidence must be the path of a photo stored for member {member.id} "
                      "(the evidence of one of their entries); other text is not taken.",
                      "evidence_unknown")
    return path


def store_photo(session: Session, actor: Actor, member: Member, upload: Upload,
                today: date, now: datetime) -> str:
    """Decode and re-encode the photo, keep it on disk and on record for `member`; its path.
    Refused photos (PhotoUnreadable, PhotoTooLarge, PhotoTooManyPixels) leave nothing."""
    photo = _decoded(upload)
    path = new_photo_path(today)
    session.add(EvidencePhoto(path=path, member_id=member.id or 0,
                              uploaded_by=actor.account_id, uploaded_at=now))
    _save_with_its_row(session, upload.folder, path, photo)
    return path


@dataclass(frozen=True)
class StoredPhoto:
    """A photo stored for a member ahead of its entry."""

    path: str
    member_id: int
    width: int
    height: int
    uploaded_at: datetime


def upload_own_photo(session: Session, actor: Actor, upload: Upload, today: date,
                     now: datetime) -> StoredPhoto:
    """A photo a member stores for themself, to name as the `evidence` of an entry about them
    next (by them, or by their committee recording one). As on the self-report page, only a
    member uploads, and only for themself: Forbidden `not_a_member` for an account without
    one. The photo is checked and re-encoded as there (PhotoUnreadable, PhotoTooLarge,
    PhotoTooManyPixels); beyond MAX_UNATTACHED photos not yet named, the oldest go."""
    if actor.member_id is None:
        raise Forbidden("Photos are uploaded by a member, for entries about themself; this "
                        "account is not a member's.", "not_a_member")
    # Decoded before the branch's lock, so the costly step holds up no other change of the
    # branch (on SQLite the caller check's transaction holds the write lock already: the
    # self-report page decodes ahead of it, docs/performance.md, round two part six).
    photo = _decoded(upload)
    member, org = get_member(session, actor, actor.member_id)
    # The branch's lock, which create_entry takes before it reads the member's photos: a
    # photo is never forgotten between an entry's check of it and that entry's write.
    lock_branch(session, org.id or 0)
    _forget_unattached(session, member.id or 0, upload.folder, keep=MAX_UNATTACHED - 1)
    path = new_photo_path(today)
    session.add(EvidencePhoto(path=path, member_id=member.id or 0,
                              uploaded_by=actor.account_id, uploaded_at=now))
    _save_with_its_row(session, upload.folder, path, photo)
    return StoredPhoto(path=path, member_id=member.id or 0, width=photo.width,
                       height=photo.height, uploaded_at=now)


def _forget_unattached(session: Session, member_id: int, folder: Path, keep: int) -> None:
    """All but the newest `keep` of the member's photos that no entry of theirs names: their
    rows now, their files once that is committed (rolled back, the files stay)."""
    named = select(Entry.evidence).where(col(Entry.member_id) == member_id,
                                         col(Entry.evidence).is_not(None))
    unattached = session.exec(
        select(EvidencePhoto).where(col(EvidencePhoto.member_id) == member_id,
                                    col(EvidencePhoto.path).not_in(named))
        .order_by(col(EvidencePhoto.uploaded_at).desc(), col(EvidencePhoto.path).desc())
        .offset(keep)).all()
    for photo in unattached:
        session.delete(photo)
        _remove_when_committed(session, folder, photo.path)


_FORGOTTEN = "jifen_forgotten_photos"


def _remove_when_committed(session: Session, folder: Path, path: str) -> None:
    session.info.setdefault(_FORGOTTEN, []).append((folder, path))


# The listeners of this module are every session's (listening on one session costs more
# than the commit they watch), doing nothing in a session that wrote or forgot no photo.
@sa.event.listens_for(sa.orm.Session, "after_commit")
def _remove_forgotten(session: Session) -> None:
    forgotten: list[tuple[Path, str]] = session.info.get(_FORGOTTEN, [])
    while forgotten:
        delete_photo(*forgotten.pop())


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _keep_forgotten(session: Session, _previous: Any) -> None:
    # A rollback, even of a savepoint, may have put rows back: their files stay (a file on
    # record nowhere is served to no one; a row without its file would be a broken photo).
    session.info.get(_FORGOTTEN, []).clear()


# --- a photo written by a request that stores nothing ------------------------------------

_WRITTEN = "jifen_written_photos"
_COMMIT_SENT = "jifen_commit_sent"


def _save_with_its_row(session: Session, folder: Path, path: str, photo: Photo) -> None:
    """Write the photo of a row just added. Should the request fail before it commits (a
    refusal after the photo, a client gone), the row goes with the rollback and the files
    go with it. Should the commit itself fail (the database lost mid-commit), whether the
    row landed is unknown: the files stay, so no stored entry loses its photo, and
    `jifen sweep-photos` removes them later if they are on record nowhere."""
    session.info.setdefault(_WRITTEN, []).append((folder, path))
    save_photo(folder, path, photo)


@sa.event.listens_for(sa.orm.Session, "before_commit")
def _commit_sent(session: Session) -> None:
    if session.info.get(_WRITTEN):
        session.info[_COMMIT_SENT] = True


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _written_kept(session: Session) -> None:
    if _WRITTEN in session.info:
        session.info[_WRITTEN].clear()
        session.info.pop(_COMMIT_SENT, None)


@sa.event.listens_for(sa.orm.Session, "after_transaction_end")
def _written_dropped(session: Session, transaction: Any) -> None:
    if transaction.parent is not None or _WRITTEN not in session.info:
        return  # a savepoint (the outer transaction decides), or no photo written
    written: list[tuple[Path, str]] = session.info.get(_WRITTEN, [])
    if session.info.pop(_COMMIT_SENT, False):
        written.clear()  # the commit failed: its outcome unknown, the files stay
    while written:
        with contextlib.suppress(OSError):  # a volume gone: the sweep finds them later
            delete_photo(*written.pop())


# --- photos on the volume and on record nowhere -------------------------------------------

@dataclass(frozen=True)
class Sweep:
    """What sweep_unrecorded found (and removed, unless a dry run)."""

    removed: list[str]
    bytes: int
    kept_recent: int  # on record nowhere but newer than the cut-off: maybe mid-request
    seen: int  # photos on the volume, on record or not


def sweep_unrecorded(session: Session, folder: Path, older_than: timedelta,
                     now: datetime, *, dry_run: bool = False) -> Sweep:
    """Remove the photos (with their thumbnails and half-written parts) under `folder` that
    no evidence_photo row names and that are older than `older_than`: left by a request
    whose commit failed, or by a process killed between writing and committing. A photo
    younger than that may belong to a request still running, so it stays."""
    cutoff = (now - older_than).timestamp()
    removed: list[str] = []
    size = recent = seen = 0
    for month, files in stored_files(folder):
        seen += len(files)
        recorded = set(session.exec(select(EvidencePhoto.path).where(
            col(EvidencePhoto.path).startswith(month + "/"))).all())
        for relative, newest, total in files:
            if relative in recorded:
                continue
            if newest > cutoff:
                recent += 1
                continue
            removed.append(relative)
            size += total
            if not dry_run:
                delete_photo(folder, relative)
    return Sweep(removed=removed, bytes=size, kept_recent=recent, seen=seen)
