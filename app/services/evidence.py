"""Evidence photos: checked by content, re-encoded small, kept on disk, served back safely.

A photo is accepted only if Pillow decodes it as one of PHOTO_FORMATS; it is then turned
upright (EXIF orientation), re-encoded as JPEG at most LONG_SIDE pixels on the long side
with no EXIF (no GPS, no camera data), and stored as evidence/YYYY/MM/<uuid4>.jpg under
the upload directory, with a small thumbnail beside it. Only paths of that exact shape are
ever read back, so no entry can point the server at another file (and only through an
entry of the member it was stored for: app/services/uploads.py).

Decoding is what costs memory: a 190 KB PNG can promise 7000×7000 pixels, 200 MB once
decoded. So the size is read from the header and refused above MAX_PIXELS before a pixel
is decoded, a JPEG is decoded straight at reduced size, and at most JIFEN_IMAGE_CONCURRENCY
photos are decoded at once per process; the others wait their turn (issue 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import os
import re
import struct
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import anyio.to_thread
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from app.services.errors import DomainError, Invalid
from app.settings import get_settings

try:  # HEIC/HEIF (iPhone photos) when the pillow-heif plugin is installed.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - depends on the installation
    pass

Image.init()
# What a phone camera or gallery sends; Pillow opens nothing else (no EPS, PSD, TIFF...).
# JPEG includes MPO, the multi-picture JPEG some phone cameras write.
PHOTO_FORMATS = tuple(f for f in ("JPEG", "PNG", "WEBP", "HEIF", "AVIF") if f in Image.OPEN)
LONG_SIDE = 1600
THUMB_SIDE = 240
JPEG_QUALITY = 82
THUMB_QUALITY = 70
# A photo of a meeting needs no more: a phone's usual photo is 12 MP (4000×3000), an
# iPhone's default 24 MP (5712×4284). Beyond it is a camera's full-sensor mode or a
# decompression bomb. One ceiling for every format: a JPEG with several scans (progressive
# ones) keeps all its coefficients in memory even when decoded at reduced size.
MAX_PIXELS = 25_000_000
# Except a baseline (not progressive) JPEG, which is what phone cameras write: libjpeg
# decodes it a few lines at a time straight at 1/4 or 1/8 size, so a 108 MP photo of a
# camera's full-sensor mode (12000×9000) costs about as much memory as a 12 MP one
# (docs/reliability.md gives the figures).
MAX_BASELINE_JPEG_PIXELS = 120_000_000
# Pillow's own warning (and, at twice this, refusal) for what our ceilings already bound.
Image.MAX_IMAGE_PIXELS = MAX_BASELINE_JPEG_PIXELS
MIB = 1024 * 1024

# The threads that decode photos in this process (JIFEN_IMAGE_CONCURRENCY, app/settings.py);
# a request waits for one. Dedicated threads, not a semaphore over the request threads: the
# C allocator keeps an arena of memory per thread that decoded, so decoding on any of eight
# request threads held eight photos' worth after the burst (the review of issue 14: 1.4 GB).
_decoders = ThreadPoolExecutor(max_workers=get_settings().image_concurrency,
                               thread_name_prefix="jifen-photo")


def _give_back_memory() -> None:
    """Hand the freed pages of a decode back to the system (glibc's malloc_trim), so an idle
    process does not keep its largest photo's memory; nothing where there is no glibc."""
    if _malloc_trim is not None:
        _malloc_trim(0)


try:
    _malloc_trim: Any = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # pragma: no cover - not glibc
    _malloc_trim = None

_STORED = re.compile(r"evidence/\d{4}/\d{2}/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                     r"[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jpg")


class PhotoTooLarge(DomainError):
    status_code = 413
    default_code = "photo_too_large"


class StorageFull(DomainError):
    """The photo volume has no room (ENOSPC, or a quota): nothing was stored; the same upload
    may succeed once space is freed."""

    status_code = 507
    default_code = "storage_full"


class StorageUnavailable(DomainError):
    """The photo volume failed otherwise (an NFS mount gone, read-only, an I/O error):
    nothing was stored."""

    status_code = 503
    default_code = "storage_unavailable"


class PhotoUnreadable(Invalid):
    default_code = "photo_unreadable"


class PhotoTooManyPixels(Invalid):
    """More pixels than MAX_PIXELS, read from the header: refused before decoding."""

    default_code = "photo_too_many_pixels"

    def __init__(self, width: int, height: int, limit: int = MAX_PIXELS) -> None:
        super().__init__(f"The photo has {width}×{height} = {width * height:,} pixels; at most "
                         f"{limit:,} are accepted. Send a smaller photo (a phone's usual "
                         "camera mode takes one).")
        self.width = width
        self.height = height
        self.limit = limit


@dataclass(frozen=True)
class Photo:
    """A checked photo, re-encoded, not yet on disk."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int


def _size_of(source: BinaryIO) -> int:
    source.seek(0, os.SEEK_END)
    size = source.tell()
    source.seek(0)
    return size


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: transparency and palettes would turn black in a JPEG."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        background.info = dict(image.info)  # the EXIF orientation, still to be applied
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, quality: int, *, progressive: bool = True) -> bytes:
    """Progressive for the photo: a slow network shows all of it early, blurred, and it is
    a few per cent smaller (a 1600×1200 photo: 4 %), for about twice the CPU of a plain
    optimized one (42 against 19 ms). Not for a thumbnail: one of 240 pixels is smaller
    plain (4.9 against 5.1 KB) and takes a third of the time."""
    out = BytesIO()
    # No exif= argument: nothing of the camera's metadata (GPS included) is written.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=progressive)
    return out.getvalue()


def _open_header(source: BinaryIO) -> ImageFile.ImageFile:
    """Image.open reading only the header, like it, but without Pillow's own ceiling (179
    megapixels, an error that names no size): ours, lower, refuses and says the size."""
    source.seek(0)
    prefix = source.read(16)
    for kind in PHOTO_FORMATS:
        factory, accept = Image.OPEN[kind]
        known = not accept or accept(prefix)
        if not known or isinstance(known, str):
            continue
        source.seek(0)
        try:
            return factory(source, "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # as Image.open does: maybe another format's
    raise UnidentifiedImageError("not a photo")


def _decode_on_this_thread(source: BinaryIO, width: int, height: int) -> Photo:
    try:
        return _reencode(source, width, height)
    finally:
        _give_back_memory()


def _pixel_limit(probe: ImageFile.ImageFile) -> int:
    baseline = probe.format in ("JPEG", "MPO") and not probe.info.get("progressive")
    return MAX_BASELINE_JPEG_PIXELS if baseline else MAX_PIXELS


def _reencode(source: BinaryIO, width: int, height: int) -> Photo:
    """Decode (the costly step) and re-encode a photo whose header passed."""
    source.seek(0)
    with Image.open(source, formats=PHOTO_FORMATS) as image:
        scale = LONG_SIDE / max(width, height, 1)
        if scale < 1:
            # JPEG decodes straight at 1/2, 1/4 or 1/8 size: far less memory.
            image.draft("RGB", (int(width * scale) + 1, int(height * scale) + 1))
        photo = _flatten(image)
        # Made small before it is turned upright: the turn copies only the small picture.
        photo.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
        photo = ImageOps.exif_transpose(photo)
        thumb = photo.copy()
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        return Photo(jpeg=_jpeg(photo, JPEG_QUALITY),
                     thumbnail=_jpeg(thumb, THUMB_QUALITY, progressive=False),
                     width=photo.width, height=photo.height)


def prepare_photo(source: BinaryIO, max_bytes: int) -> Photo:
    """Check an upload by its content and re-encode it; PhotoUnreadable, PhotoTooLarge (bytes)
    or PhotoTooManyPixels. Call it once the workflow has accepted what the photo goes with,
    or ahead of the request's transaction (`prepare_photo_async`)."""
    width, height = check_header(source, max_bytes)
    with _unreadable():
        return _decoders.submit(_decode_on_this_thread, source, width, height).result()


async def prepare_photo_async(source: BinaryIO, max_bytes: int) -> Photo:
    """`prepare_photo` from the event loop: the header read in a worker thread, then the
    decoding awaited in its queue without holding a request's thread while it waits."""
    width, height = await anyio.to_thread.run_sync(check_header, source, max_bytes)
    with _unreadable():
        return await asyncio.wrap_future(
            _decoders.submit(_decode_on_this_thread, source, width, height))


def check_header(source: BinaryIO, max_bytes: int) -> tuple[int, int]:
    """The photo's size in pixels from its header, outside the decoding queue (a refusal
    never waits for others' decoding): PhotoTooLarge (bytes), PhotoTooManyPixels or
    PhotoUnreadable."""
    if _size_of(source) > max_bytes:
        raise PhotoTooLarge(f"The photo is larger than {max_bytes // MIB} MB.")
    with _unreadable(), _open_header(source) as probe:
        width, height = probe.size
        limit = _pixel_limit(probe)
        if width * height > limit:
            raise PhotoTooManyPixels(width, height, limit)
        probe.verify()
    return width, height


@contextlib.contextmanager
def _unreadable() -> Iterator[None]:
    """What Pillow raises on a file that is not a photo (or one contradicting its own
    header: a bomb error here), as PhotoUnreadable."""
    try:
        yield
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, TypeError,
            EOFError, MemoryError, struct.error, Image.DecompressionBombError):
        raise PhotoUnreadable("The file is not a photo (JPEG, PNG, WebP or HEIC).") from None


def new_photo_path(today: date) -> str:
    """Where a new photo will be stored, relative to the upload directory."""
    return f"evidence/{today.year:04d}/{today.month:02d}/{uuid.uuid4()}.jpg"


def _thumb_name(path: Path) -> Path:
    return path.with_name(path.stem + ".thumb.jpg")


def _write(path: Path, data: bytes) -> None:
    """All or nothing: a half-written file never carries the final name."""
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def stored_file(upload_dir: Path, relative: str | None, *, thumbnail: bool = False) -> Path | None:
    """The file of a path this module wrote, if it is there; None for anything else."""
    if not relative or not _STORED.fullmatch(relative):
        return None
    root = upload_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        return None
    if thumbnail and _thumb_name(path).is_file():
        return _thumb_name(path)
    return path if path.is_file() else None


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})


def save_photo(upload_dir: Path, relative: str, photo: Photo) -> None:
    """Write the photo and its thumbnail at a path from new_photo_path: both or neither.

    A volume that cannot take them is StorageFull (no room) or StorageUnavailable (any other
    failure of the filesystem), with nothing of them left behind: no partial file, no photo
    without its thumbnail. Raised before the request commits, so its row goes too."""
    if not _STORED.fullmatch(relative):
        raise ValueError(f"not an evidence path: {relative!r}")
    path = upload_dir.resolve() / relative
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, photo.jpeg)
        _write(_thumb_name(path), photo.thumbnail)
    except BaseException as error:
        with contextlib.suppress(OSError):  # a volume gone: the error below says it
            delete_photo(upload_dir, relative)
        if isinstance(error, OSError):
            if error.errno in _NO_ROOM:
                raise StorageFull("The server's photo storage is full; nothing was stored. "
                                  "Send the photo again later.") from error
            raise StorageUnavailable("The server's photo storage failed; nothing was stored. "
                                     "Send the photo again later.") from error
        raise


def stored_files(upload_dir: Path) -> Iterator[tuple[str, list[tuple[str, float, int]]]]:
    """The photos on the volume, a month's folder at a time: (`evidence/YYYY/MM`, [(the
    photo's path as stored, the newest mtime of its files, their bytes)]). A thumbnail or a
    half-written part counts with its photo, found even if the photo itself is not there."""
    root = upload_dir.resolve() / "evidence"
    for month in sorted(root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]")):
        if not _is_own_folder(upload_dir, month.relative_to(root.parent)):
            continue  # a link to a folder elsewhere: nothing of ours is in it
        found: dict[str, tuple[float, int]] = {}
        for file in month.iterdir():
            name = file.name.removesuffix(".part")
            name = name.replace(".thumb.jpg", ".jpg")
            relative = f"evidence/{month.parent.name}/{month.name}/{name}"
            if not _STORED.fullmatch(relative):
                continue
            try:
                stat = file.stat()
            except FileNotFoundError:  # removed meanwhile
                continue
            newest, total = found.get(relative, (0.0, 0))
            found[relative] = (max(newest, stat.st_mtime), total + stat.st_size)
        yield (f"evidence/{month.parent.name}/{month.name}",
               [(path, newest, total) for path, (newest, total) in sorted(found.items())])


def _is_own_folder(upload_dir: Path, relative: Path) -> bool:
    """Whether the folder at `relative` under the upload directory is really there, not a
    symbolic link (of it, or of a folder between) to a folder elsewhere: what is deleted
    through it would be another folder's files."""
    root = upload_dir.resolve()
    return (root / relative).resolve() == root / relative


def delete_photo(upload_dir: Path, relative: str) -> None:
    """Remove a photo whose entry was never stored (a failed request), thumbnail included;
    never through a linked folder (a file that is itself a link loses the link only)."""
    if not _STORED.fullmatch(relative) or not _is_own_folder(upload_dir,
                                                              Path(relative).parent):
        return
    path = upload_dir.resolve() / relative
    for leftover in (path, _thumb_name(path), path.with_name(path.name + ".part"),
                     _thumb_name(path).with_name(_thumb_name(path).name + ".part")):
        leftover.unlink(missing_ok=True)
