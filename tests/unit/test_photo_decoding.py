"""Photos cost memory only once they may: a size from the header above MAX_PIXELS is refused
before a pixel is decoded, whatever the file weighs; a JPEG is decoded at reduced size;
at most JIFEN_IMAGE_CONCURRENCY photos are decoded at once (app/services/evidence.py,
issue 14: eight 190 KB 7000×7000 PNGs took two workers from 1.8 GB to 5.2 GB)."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any

import pytest
from PIL import Image, ImageFile

from app.present import i18n
from app.present.messages import message_for
from app.present.print_notice import html_to_pdf
from app.services import evidence
from app.services.evidence import MIB, PhotoTooManyPixels, PhotoUnreadable, prepare_photo
from app.settings import Settings


def png_claiming(width: int, height: int, rows: int | None = None) -> bytes:
    """A valid PNG of width×height black pixels (1 bit each, deflated): a few KB, however
    many pixels it holds. With `rows`, only so many rows follow the header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(1 + (width + 7) // 8)  # filter byte, then the row's bits
    packer = zlib.compressobj(9)
    count = height if rows is None else rows
    pixels = b"".join(packer.compress(row) for _ in range(count)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


def image_file(kind: str, size: tuple[int, int], mode: str = "RGB",
               orientation: int | None = None) -> bytes:
    image = Image.new(mode, size)  # black; transparent if it has alpha
    out = BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, kind, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, tuple[int, int]]]]:
    """Every decode (ImageFile.load) of the test: the format and the size decoded."""
    loads: list[tuple[str, tuple[int, int]]] = []
    real = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        if self.tile:  # not yet decoded: this call decodes
            loads.append((self.format or "", self.size))
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    yield loads


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(7000, 7000, id="the-finding-49MP"),
        # Above Pillow's own ceiling (179 MP), which would refuse it without a size.
        pytest.param(20000, 20000, id="400MP-says-its-size"),
        pytest.param(5000, 5001, id="just-over"),
        pytest.param(1, 25_000_001, id="one-pixel-wide"),
        pytest.param(2**31 - 1, 2**31 - 1, id="largest-a-png-can-claim"),
    ],
)
def test_too_many_pixels_are_refused_from_the_header_without_decoding(
        width: int, height: int, decoded: list[tuple[str, tuple[int, int]]]) -> None:
    # The tallest claims' rows are not built (time): the header is refused before any is read.
    bomb = png_claiming(width, height, None if height <= 20000 else 0)
    assert len(bomb) < 100_000
    with pytest.raises(PhotoTooManyPixels) as refused:
        prepare_photo(BytesIO(bomb), 8 * MIB)
    error = refused.value
    assert (error.status_code, error.code) == (422, "photo_too_many_pixels")
    assert (error.width, error.height, error.limit) == (width, height, 25_000_000)
    assert f"{width}×{height} = {width * height:,} pixels; at most 25,000,000" in error.detail
    assert decoded == []


def test_the_limit_itself_is_taken(decoded: list[tuple[str, tuple[int, int]]]) -> None:
    photo = prepare_photo(BytesIO(png_claiming(5000, 5000)), 8 * MIB)
    assert (photo.width, photo.height) == (1600, 1600)
    assert decoded == [("PNG", (5000, 5000))]


@pytest.mark.parametrize(
    ("kind", "size", "decoded_at"),
    [
        # A phone's usual 12 MP photo: decoded at half size (a quarter of the memory).
        pytest.param("JPEG", (4000, 3000), (2000, 1500), id="jpeg-12MP-at-half"),
        pytest.param("JPEG", (6800, 3600), (1700, 900), id="jpeg-24MP-at-a-quarter"),
        pytest.param("JPEG", (1600, 1200), (1600, 1200), id="jpeg-small-in-full"),
        pytest.param("PNG", (3000, 2000), (3000, 2000), id="png-in-full"),
    ],
)
def test_a_jpeg_is_decoded_at_reduced_size(
        kind: str, size: tuple[int, int], decoded_at: tuple[int, int],
        decoded: list[tuple[str, tuple[int, int]]]) -> None:
    photo = prepare_photo(BytesIO(image_file(kind, size)), 8 * MIB)
    assert decoded == [(kind, decoded_at)]
    assert max(photo.width, photo.height) == min(1600, max(size))


def test_a_baseline_jpeg_of_a_full_sensor_mode_is_taken_at_a_quarter(
        decoded: list[tuple[str, tuple[int, int]]]) -> None:
    """Phone cameras write baseline JPEGs, decoded a few lines at a time at reduced size: a
    108 MP photo (a 108 MP phone's full-sensor mode) costs little and is taken."""
    data = image_file("JPEG", (12000, 9000))
    photo = prepare_photo(BytesIO(data), 8 * MIB)
    assert decoded == [("JPEG", (3000, 2250))]
    assert (photo.width, photo.height) == (1600, 1200)
    with pytest.raises(PhotoTooManyPixels) as refused:  # beyond any phone: a bomb
        prepare_photo(BytesIO(image_file("JPEG", (12000, 10001))), 8 * MIB)
    assert refused.value.limit == 120_000_000


def test_a_progressive_jpeg_keeps_the_lower_limit(
        decoded: list[tuple[str, tuple[int, int]]]) -> None:
    """A progressive JPEG keeps every coefficient of the whole picture in memory even at
    reduced size: above 25 MP it is refused from its header."""
    out = BytesIO()
    Image.new("RGB", (6000, 5000)).save(out, "JPEG", progressive=True)
    with pytest.raises(PhotoTooManyPixels) as refused:
        prepare_photo(BytesIO(out.getvalue()), 8 * MIB)
    assert (refused.value.width, refused.value.height, refused.value.limit) == \
        (6000, 5000, 25_000_000)
    assert decoded == []


@pytest.mark.parametrize(
    ("kind", "mode", "orientation", "stored"),
    [
        pytest.param("JPEG", "RGB", 6, (30, 40), id="jpeg-turned"),
        pytest.param("PNG", "RGBA", 6, (30, 40), id="transparent-png-turned"),
        pytest.param("PNG", "P", 8, (30, 40), id="palette-png-turned"),
        pytest.param("WEBP", "RGB", 3, (40, 30), id="webp-upside-down"),
        pytest.param("PNG", "L", None, (40, 30), id="grey-png-as-it-is"),
    ],
)
def test_photos_are_stored_upright_as_small_jpegs(kind: str, mode: str,
                                                  orientation: int | None,
                                                  stored: tuple[int, int]) -> None:
    photo = prepare_photo(BytesIO(image_file(kind, (40, 30), mode, orientation)), 8 * MIB)
    with Image.open(BytesIO(photo.jpeg)) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", stored)
        assert not image.getexif()
        if mode == "RGBA":  # transparent: on white, not black
            pixel = image.getpixel((15, 20))
            assert isinstance(pixel, tuple) and min(pixel) > 240


def test_the_photo_is_progressive_and_its_thumbnail_plain() -> None:
    """A slow network shows the whole photo early; a thumbnail is smaller plain."""
    photo = prepare_photo(BytesIO(image_file("JPEG", (1200, 900), "RGB", 6)), 8 * MIB)
    with Image.open(BytesIO(photo.jpeg)) as full, Image.open(BytesIO(photo.thumbnail)) as thumb:
        assert full.info.get("progressive") and not thumb.info.get("progressive")
        assert (full.size, thumb.size) == ((900, 1200), (180, 240))  # both upright
        assert not full.getexif() and not thumb.getexif()


def test_a_photo_cut_short_is_refused_even_after_a_pdf_was_made() -> None:
    """WeasyPrint, once imported, makes Pillow accept truncated images in the whole process;
    making a PDF puts Pillow's default back, so a photo cut short is still no photo."""
    photo = BytesIO()
    Image.new("RGB", (2000, 1000), (180, 30, 30)).save(photo, "JPEG", quality=90)
    cut = BytesIO(photo.getvalue()[:2000])
    html_to_pdf("<p>公示</p>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(PhotoUnreadable):
        prepare_photo(cut, 8 * MIB)


def test_a_header_alone_is_not_a_photo() -> None:
    header_only = png_claiming(40, 30).split(b"IDAT")[0]
    with pytest.raises(PhotoUnreadable):
        prepare_photo(BytesIO(header_only), 8 * MIB)


@pytest.mark.parametrize(
    ("language", "limit"),
    [("zh_CN", "最多2500万像素"), ("en", "25 million")],
)
def test_the_page_says_the_size_and_the_limit(language: str, limit: str) -> None:
    try:
        i18n.set_language(language)
        text = message_for(PhotoTooManyPixels(20000, 20000))
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
    assert "20000×20000" in text and limit in text


class _Counting:
    """How many photos are being decoded at the same time."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_at_most_the_limit_of_photos_are_decoded_at_once_on_as_many_threads(
        limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve requests at once: `limit` decodes at a time, all on `limit` threads (the C
    allocator keeps memory per thread that decoded: on twelve threads, twelve photos' worth
    stayed after the burst)."""
    decoders = ThreadPoolExecutor(max_workers=limit)
    monkeypatch.setattr(evidence, "_decoders", decoders)
    counting = _Counting()
    threads: set[int] = set()
    real = evidence._reencode

    def slow_reencode(source: Any, width: int, height: int) -> evidence.Photo:
        threads.add(threading.get_ident())
        with counting:
            time.sleep(0.05)
            return real(source, width, height)

    monkeypatch.setattr(evidence, "_reencode", slow_reencode)
    upload = image_file("PNG", (40, 30))
    with ThreadPoolExecutor(max_workers=12) as pool:
        photos = list(pool.map(lambda _: prepare_photo(BytesIO(upload), MIB), range(12)))
    decoders.shutdown()
    assert [(p.width, p.height) for p in photos] == [(40, 30)] * 12
    assert counting.most == limit and len(threads) == limit


def test_a_refusal_does_not_wait_for_the_decoding_of_others(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The header is read outside the queue: a bomb is refused at once, even when every
    decoding slot is taken."""
    decoders = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(evidence, "_decoders", decoders)
    busy = threading.Event()
    decoders.submit(busy.wait, 10)  # the one decoder is taken
    bomb = png_claiming(7000, 7000)
    with ThreadPoolExecutor(max_workers=1) as pool:
        attempt = pool.submit(prepare_photo, BytesIO(bomb), MIB)
        try:
            with pytest.raises(PhotoTooManyPixels):
                attempt.result(timeout=5)
        finally:
            busy.set()
    decoders.shutdown()


def test_the_setting_sizes_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    assert evidence._decoders._max_workers == Settings().image_concurrency == 2
    monkeypatch.setenv("JIFEN_IMAGE_CONCURRENCY", "3")
    assert Settings().image_concurrency == 3
