"""Evidence photos as they arrive with a request, and storing them for an entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from app.services.evidence import new_photo_path, prepare_photo, save_photo


@dataclass(frozen=True)
class Upload:
    """A photo as it arrived with a request: decoded only once the entry it goes with has
    passed every check (a refused entry costs no decoding)."""

    source: BinaryIO
    max_bytes: int
    folder: Path  # the upload directory (JIFEN_UPLOAD_DIR)


def store_photo(upload: Upload, today: date) -> str:
    """Decode and re-encode the photo and keep it on disk; its path. Refused photos
    (PhotoUnreadable, PhotoTooLarge, PhotoTooManyPixels) leave nothing."""
    photo = prepare_photo(upload.source, upload.max_bytes)
    path = new_photo_path(today)
    # Should the request fail after this, the entry goes with its rollback, and the file,
    # named by no entry, is never served.
    save_photo(upload.folder, path, photo)
    return path
