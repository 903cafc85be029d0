"""Evidence photos through the API (for a mini-program): upload one ahead of its entry, and
read an entry's photo back, to exactly whom the pages show it."""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUpload

from app.api.deps import Bearer, CurrentActor, errors
from app.api.params import EntryIdPath
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas.operations import PhotoOut
from app.security import read_token
from app.services import entries, uploads
from app.services.errors import DomainError, NotFound
from app.services.evidence import Photo, stored_file
from app.settings import get_settings

router = APIRouter(tags=["entries"])

# A multipart post here may be as large as a photo (app/limits.py, app/main.py).
UPLOAD_PATH = "/api/v1/photos"
JPEG = "image/jpeg"
# Only the caller's own device may keep it, and not for another login on it (Vary).
PRIVATE = {"Cache-Control": "private, max-age=86400", "Vary": "Authorization"}

class PhotoSize(StrEnum):
    full = "full"
    thumb = "thumb"


UPLOAD_REFUSALS = {
    403: ("not_a_member",),
    413: ("photo_too_large", "body_too_large"),
    422: ("validation_error", "photo_unreadable", "photo_too_many_pixels"),
    503: ("storage_unavailable",),
    507: ("storage_full",),
}


_AHEAD = "jifen_photo_ahead"


async def _photo_ahead(request: Request, clock: ClockDep, credentials: Bearer) -> None:
    """The photo decoded before the request's transaction begins (the Idempotency-Key's
    claim and the caller check come after: on SQLite the first statement takes the
    database's one write lock), as on the self-report page. Only under a well-signed,
    unexpired token (no database read); an API key's service account is no member and is
    refused without a decoding."""
    if credentials is None or read_token(credentials.credentials, clock.now()) is None:
        return
    photo = (await request.form()).get("photo")  # parsed already, for the route
    if isinstance(photo, StarletteUpload):
        setattr(request.state, _AHEAD,
                (photo.file, await uploads.decode_ahead(photo.file)))


def _ahead_of(request: Request, source: object) -> Photo | DomainError | None:
    file, ahead = getattr(request.state, _AHEAD, (None, None))
    return ahead if file is source else None


@router.post(
    "/photos", status_code=status.HTTP_201_CREATED, response_model=PhotoOut,
    responses=errors(401, 403, 413, 422, 503, 507, codes=UPLOAD_REFUSALS),
    # A route's own dependencies are solved before the Idempotency-Key's (app/api/retries.py).
    dependencies=[Depends(_photo_ahead)])
def upload_photo(
    request: Request, session: SessionDep, actor: CurrentActor, clock: ClockDep,
    photo: Annotated[UploadFile, File(description=(
        "The photo: JPEG, PNG, WebP, HEIC or AVIF, as the camera or gallery gives it. "
        "Checked by its content (not its name or type); re-encoded as a JPEG at most 1600 "
        "pixels on the long side, without EXIF (no GPS)."), examples=["photo.jpg"])],
) -> PhotoOut:
    """Store a photo of mine for an entry about me: the answer's `evidence` is what POST
    /api/v1/entries (or …/resubmit) takes next, from me or from my committee recording an
    entry for me. Only a member, for themself, as on the self-report page (403
    `not_a_member` for an account without one).

    Multipart, one file field `photo`, up to JIFEN_MAX_UPLOAD_MB (8 MB by default; 413
    `photo_too_large`, or `body_too_large` for a body far over it). 422 `photo_unreadable`
    for a file that is not a photo, `photo_too_many_pixels` above 25 megapixels (a baseline
    JPEG: 120). A photo no entry names is served to no one; of those, a member keeps the
    newest 10, the older ones are forgotten at their next upload. 507 `storage_full` when
    the server's photo volume is full, 503 `storage_unavailable` when it fails: nothing is
    stored, and the same upload (its Idempotency-Key too) may be sent again later.
    """
    upload = uploads.received(photo.file, _ahead_of(request, photo.file))
    stored = uploads.upload_own_photo(session, actor, upload, clock.today(), clock.now())
    return PhotoOut(evidence=stored.path, member_id=stored.member_id, width=stored.width,
                    height=stored.height, uploaded_at=stored.uploaded_at)


@router.get(
    "/entries/{entry_id}/photo", response_class=Response,
    responses={200: {"description": "The photo, a JPEG (its ETag answers If-None-Match with "
                                    "304).",
                     "content": {JPEG: {"schema": {"type": "string", "format": "binary"}}}},
               **errors(401, 404, 422, codes={404: ("not_found", "no_photo"),
                                              422: ("validation_error",)})})
def read_entry_photo(
    entry_id: EntryIdPath, request: Request, session: SessionDep, actor: CurrentActor,
    size: Annotated[PhotoSize, Query(
        description="`full` (at most 1600 pixels on the long side) or `thumb` (at most "
                    "240).")] = PhotoSize.full,
) -> Response:
    """An entry's photo, to whoever may see the entry (its member, the committees of its
    branch and above, administrators), if it is a photo stored for the entry's member: 404
    `not_found` for an entry outside the caller's sight, `no_photo` for one without."""
    path = stored_file(Path(get_settings().upload_dir),
                       entries.entry_photo(session, actor, entry_id),
                       thumbnail=size == PhotoSize.thumb)
    if path is None:
        raise NotFound(f"Entry {entry_id} has no photo.", "no_photo")
    # Whole, never in ranges: a stored photo is small (≤ 1600 px, a few hundred KB), and a
    # range answer's refusals (416, 400) would not be the API's problem details.
    data = path.read_bytes()
    etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
    held = {tag.strip().removeprefix("W/") for tag in
            request.headers.get("if-none-match", "").split(",")}
    if etag in held or "*" in held:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED,
                        headers={**PRIVATE, "ETag": etag})
    return Response(data, media_type=JPEG, headers={
        **PRIVATE, "ETag": etag, "Content-Disposition": "inline", "Accept-Ranges": "none"})
