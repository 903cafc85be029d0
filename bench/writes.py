"""The open loop's writes: a member's self-report with a small photo, and its approval.

A self-report is what a member's phone sends: the report form (`POST /me/report`), one
multipart request with the fields, the session's CSRF token and a photo of about 10 KB,
answered 303 to the member's entries. An approval is the committee's
`POST /api/v1/entries/{id}/approve` of a pending self-report, as the branch's secretary
(bearer token). The members are the run's logged-in sample, less those who hold the
committee grant (nobody approves their own entry); each is approved by the first committee
member of their branch.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from PIL import Image

from app.db import make_engine
from bench.dataset import DataSet
from bench.load import Request, run_load
from bench.server import api_token

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REPORT_PATH = "/me/report"
RULE = "P01"  # 参加集中学习: an item every category may report


def small_photo() -> bytes:
    """A 320×240 JPEG of about 10 KB, as a phone's photo scaled down would be (not blank:
    the app decodes and re-encodes it)."""
    image = Image.new("RGB", (320, 240))
    image.putdata([(x % 256, y % 256, (x * y) % 256) for y in range(240) for x in range(320)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def multipart(fields: dict[str, str], photo: bytes) -> tuple[str, bytes]:
    """The content type and body of the report form with its photo."""
    boundary = f"jifenbench{uuid.uuid4().hex}"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
                 f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                 + photo + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


@dataclass
class Writer:
    member_id: int
    cookie: str
    csrf: str
    approver_token: str


@dataclass
class Writes:
    """The writers, and the requests they send."""

    database_url: str
    writers: list[Writer]
    photo: bytes
    today: date

    @classmethod
    def prepare(cls, base_url: str, database_url: str, data: DataSet,
                cookies: list[str]) -> Writes:
        """The sample's members who hold no grant, with their session's CSRF token (from the
        report form) and their branch secretary's bearer token."""
        import httpx2 as httpx

        engine = make_engine(database_url)
        with engine.connect() as connection:
            granted = {m for (m,) in connection.execute(sa.text(
                "SELECT DISTINCT member_id FROM role_grant"))}
            approver = dict(connection.execute(sa.text(
                "SELECT m.id, (SELECT a.username FROM role_grant g JOIN account a "
                "ON a.member_id = g.member_id WHERE g.org_id = m.org_id "
                "ORDER BY g.member_id LIMIT 1) FROM member m WHERE m.id IN "
                f"({', '.join(str(int(i)) for i in data.sample_ids)})")).all())
        engine.dispose()
        tokens: dict[str, str] = {}
        writers = []
        with httpx.Client(base_url=base_url, timeout=60) as client:
            for member_id, cookie in zip(data.sample_ids, cookies, strict=True):
                secretary = approver.get(member_id)
                if member_id in granted or not secretary:
                    continue
                form = client.get(REPORT_PATH, headers={"Cookie": f"jifen_session={cookie}"})
                match = _CSRF.search(form.text)
                if form.status_code != 200 or match is None:
                    raise RuntimeError(f"GET {REPORT_PATH}: {form.status_code} without a "
                                       "CSRF token")
                if secretary not in tokens:
                    tokens[secretary] = api_token(base_url, secretary, data.password)
                writers.append(Writer(member_id, cookie, match.group(1), tokens[secretary]))
        if not writers:
            raise RuntimeError("no member of the sample may self-report (all hold grants)")
        return cls(database_url, writers, small_photo(), date.today())

    def report(self, i: int) -> Request:
        """The i-th self-report (by the writers in turn): answered 303 when stored."""
        writer = self.writers[i % len(self.writers)]
        content_type, body = multipart({
            "csrf_token": writer.csrf, "rule_code": RULE, "occurred_on": self.today.isoformat(),
            "quantity": "1", "note": f"bench {i}"}, self.photo)
        return Request(REPORT_PATH, (("Cookie", f"jifen_session={writer.cookie}"),
                                     ("Content-Type", content_type)),
                       method="POST", body=body, expect=303)

    def pending(self, base_url: str, n: int) -> list[Request]:
        """n approvals, each of its own pending self-report, made now (not timed)."""
        if n <= 0:
            return []
        made = run_load(base_url, [self.report(1_000_000 + i) for i in range(n)], 4)
        if made.failures:
            raise RuntimeError(f"self-reports to approve: {made.failures}")
        by_member = {w.member_id: w for w in self.writers}
        engine = make_engine(self.database_url)
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT id, member_id FROM entry WHERE status = 'pending' AND year = :year "
                f"AND member_id IN ({', '.join(str(m) for m in by_member)}) ORDER BY id"),
                {"year": self.today.year}).all()
        engine.dispose()
        if len(rows) < n:
            raise RuntimeError(f"{len(rows)} pending self-reports, {n} wanted")
        return [Request(f"/api/v1/entries/{entry_id}/approve", (
            ("Authorization", f"Bearer {by_member[member_id].approver_token}"),),
            method="POST") for entry_id, member_id in rows[:n]]
