"""Evidence photos on record: which member each stored photo is for, and who uploaded it.

An entry's `evidence` names a photo the app stored (app/services/evidence.py). It may name
only a photo stored for the entry's own member, uploaded by the member or by whoever
recorded an entry for them: a path sent in the API's `evidence` field that names another
member's photo, or no stored photo at all, is refused with one answer for both (nothing to
learn about others' paths), and /evidence/{id} serves a photo only through an entry of the
member it was stored for (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session

from app.models import EvidencePhoto, Member
from app.services.access import Actor
from app.services.errors import Invalid
from app.services.evidence import new_photo_path, prepare_photo, save_photo


@dataclass(frozen=True)
class Upload:
    """A photo as it arrived with a request: decoded only once the entry it goes with has
    passed every check (a refused entry costs no decoding)."""

    source: BinaryIO
    max_bytes: int
    folder: Path  # the upload directory (JIFEN_UPLOAD_DIR)


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
    photo = prepare_photo(upload.source, upload.max_bytes)
    path = new_photo_path(today)
    session.add(EvidencePhoto(path=path, member_id=member.id or 0,
                              uploaded_by=actor.account_id, uploaded_at=now))
    # Should the request fail after this, the row goes with its rollback, and the file, on
    # record nowhere, is never served.
    save_photo(upload.folder, path, photo)
    return path
