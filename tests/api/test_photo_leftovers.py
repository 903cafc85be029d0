"""Photos a request wrote but did not store (issue 19, the drill's review): a request that
fails before its commit takes its photo's files with it; one whose commit itself failed
(the primary lost mid-commit: whether the row landed is unknown) leaves them, so no stored
entry loses its photo; `jifen sweep-photos` removes, later, files no record names."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app import cli
from app.models import EvidencePhoto
from app.services import errors
from app.services import uploads as upload_service
from app.services.evidence import delete_photo
from tests.api.support import World, ok, refused
from tests.api.test_photo_api import files_in, jpeg, upload, uploads

__all__ = ["uploads"]  # the fixture, used by name below


def recorded(db: Session) -> set[str]:
    db.expire_all()
    return set(db.exec(select(EvidencePhoto.path)).all())


def names(folder: Path) -> list[str]:
    return [p.name for p in files_in(folder)]


def test_a_request_refused_after_its_photo_was_written_leaves_no_file(
        world: World, db: Session, uploads: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = upload_service.save_photo

    def refused_after(folder: Path, path: str, photo: Any) -> None:
        real(folder, path, photo)
        assert len(names(uploads)) == 2  # the photo and its thumbnail, on the volume
        raise errors.Invalid("refused after the photo was written", "late_refusal")

    monkeypatch.setattr(upload_service, "save_photo", refused_after)
    refused(upload(world, "a1", jpeg()), 422, "late_refusal")
    assert names(uploads) == [] and recorded(db) == set()


def test_a_failed_commit_keeps_the_files_and_the_sweep_removes_them_later(
        world: World, db: Session, uploads: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    kept = ok(upload(world, "a1", jpeg()), 201)["evidence"]

    def lost(_session: Session) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    world.as_("a2")  # logged in beforehand: the login commits too
    sa.event.listen(db, "before_commit", lost)  # after the upload's own listener
    try:
        refused(upload(world, "a2", jpeg()), 503, "database_unavailable")
    finally:
        sa.event.remove(db, "before_commit", lost)
    assert recorded(db) == {kept}
    leftover = [p for p in files_in(uploads) if Path(kept).stem not in p.name]
    assert len(leftover) == 2  # the failed request's photo and thumbnail stay, for now

    monkeypatch.setattr(cli, "get_read_engine", lambda: db.get_bind())
    # Young files may belong to a request still running: the default cut-off keeps them.
    assert cli.main(["sweep-photos"]) == 0
    assert "removed 0 photo(s)" in capsys.readouterr().out and len(files_in(uploads)) == 4
    for path in leftover:  # a day and a bit later
        old = time.time() - 25 * 3600
        os.utime(path, (old, old))
    assert cli.main(["sweep-photos", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove 1 photo(s)" in out and len(files_in(uploads)) == 4
    assert cli.main(["sweep-photos"]) == 0
    assert "removed 1 photo(s)" in capsys.readouterr().out
    # What is on record stays, photo and thumbnail.
    assert sorted(names(uploads)) == sorted([Path(kept).name, Path(kept).stem + ".thumb.jpg"])
    assert recorded(db) == {kept}


def test_the_sweep_takes_half_written_parts_and_lone_thumbnails_and_nothing_else(
        db: Session, uploads: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    month = uploads / "evidence" / "2026" / "03"
    month.mkdir(parents=True)
    stem = "0b6f3c1e-2a4d-4c8e-9f1a-3d5e7b9c1a2f"
    (month / f"{stem}.jpg.part").write_bytes(b"x" * 10)
    (month / f"{stem}.thumb.jpg").write_bytes(b"y" * 5)
    (month / "notes.txt").write_text("not a photo of ours")
    (month / "1234.jpg").write_bytes(b"z")  # not a name the app writes
    old = time.time() - 48 * 3600
    for path in month.iterdir():
        os.utime(path, (old, old))
    monkeypatch.setattr(cli, "get_read_engine", lambda: db.get_bind())
    assert cli.main(["sweep-photos", "--older-than", "1"]) == 0
    assert f"evidence/2026/03/{stem}.jpg" in capsys.readouterr().out
    assert sorted(p.name for p in month.iterdir()) == ["1234.jpg", "notes.txt"]


@pytest.mark.parametrize("hours", ["-1", "soon", "nan", "inf"])
def test_the_sweep_refuses_a_cut_off_that_is_not_hours(
        hours: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["sweep-photos", "--older-than", hours])
    assert stopped.value.code == 2
    assert "not a number of hours" in capsys.readouterr().err


def _old_photo(folder: Path, stem: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in (f"{stem}.jpg", f"{stem}.thumb.jpg"):
        (folder / name).write_bytes(b"jpeg")
        old = time.time() - 48 * 3600
        os.utime(folder / name, (old, old))


STEMS = [f"0b6f3c1e-2a4d-4c8e-9f1a-3d5e7b9c1a{n:02x}" for n in range(14)]


def test_the_sweep_never_deletes_through_a_linked_folder(
        db: Session, uploads: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A month folder (or the evidence folder) that is a link to a folder elsewhere: the
    files there are not the volume's and stay, whatever their names."""
    elsewhere = tmp_path / "elsewhere"
    _old_photo(elsewhere, STEMS[0])
    (elsewhere / f"{STEMS[1]}.jpg.part").write_bytes(b"x")
    (uploads / "evidence" / "2026").mkdir(parents=True)
    (uploads / "evidence" / "2026" / "10").symlink_to(elsewhere)
    monkeypatch.setattr(cli, "get_read_engine", lambda: db.get_bind())
    assert cli.main(["sweep-photos", "--older-than", "0"]) == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(
        [f"{STEMS[0]}.jpg", f"{STEMS[0]}.thumb.jpg", f"{STEMS[1]}.jpg.part"])
    # Nor through a linked evidence folder, nor by delete_photo called directly.
    (uploads / "evidence" / "2026" / "10").unlink()
    (uploads / "evidence" / "2026").rmdir()
    (uploads / "evidence").rmdir()
    (uploads / "evidence").symlink_to(tmp_path / "elsewhere-root", target_is_directory=True)
    _old_photo(tmp_path / "elsewhere-root" / "2026" / "10", STEMS[2])
    assert cli.main(["sweep-photos", "--older-than", "0"]) == 0
    delete_photo(uploads, f"evidence/2026/10/{STEMS[2]}.jpg")
    assert len(list((tmp_path / "elsewhere-root" / "2026" / "10").iterdir())) == 2


def test_the_sweep_asks_before_removing_most_of_the_volume(
        world: World, db: Session, uploads: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that is not the volume's (a typo in the URL, an old backup restored):
    every photo looks unrecorded. More than half of them, and more than 10: refused."""
    month = uploads / "evidence" / "2025" / "11"
    for stem in STEMS[:12]:
        _old_photo(month, stem)
    monkeypatch.setattr(cli, "get_read_engine", lambda: db.get_bind())
    assert cli.main(["sweep-photos", "--older-than", "1"]) == 1
    assert "12 of the 12 photos" in capsys.readouterr().err
    assert len(files_in(uploads)) == 24
    assert cli.main(["sweep-photos", "--older-than", "1", "--force"]) == 0
    assert "removed 12 photo(s)" in capsys.readouterr().out and files_in(uploads) == []


def test_the_sweep_says_so_in_one_line_when_the_database_has_no_schema(
        tmp_path: Path, uploads: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _old_photo(uploads / "evidence" / "2025" / "11", STEMS[0])
    empty = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setattr(cli, "get_read_engine", lambda: empty)
    assert cli.main(["sweep-photos"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the database" in err and "jifen migrate" in err
    assert len(err.strip().splitlines()) == 1 and len(files_in(uploads)) == 2
