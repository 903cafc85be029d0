"""How long the file doors take on a real server: imports, exports and PDF notices.

    .venv/bin/python -m bench.files [--members 300] [--entries 1000] [--repeat 3]

Loads the demo into a fresh SQLite file (production settings: real argon2 hashes), starts
one uvicorn worker and times, as the demo's 党委 committee (dangwei), through the API:
a members import of N rows (preview, then the import, which hashes a generated password
for each), an entries import of M rows (preview, import), the exports of a review, a
rating, the organisation's summary and a member's year, and the PDF notice of a review.
Prints one line per step (median of --repeat for the read-only ones) and writes
bench/results/files.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench.server import ROOT, Server

PASSWORD = "jifen-demo-2025"


def _csv(rows: list[list[str]], headings: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode()


def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = call()
    return (time.perf_counter() - start) * 1000, answer


def _ok(answer: httpx.Response, status: int = 200) -> httpx.Response:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code} {answer.text[:300]}")
    return answer


class Probe(threading.Thread):
    """Records an entry in another branch every half second; keeps each one's latency."""

    def __init__(self, base_url: str, token: str, member_id: int) -> None:
        super().__init__(daemon=True)
        self.base_url, self.token, self.member_id = base_url, token, member_id
        self.latencies: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=120, headers={
                "Authorization": f"Bearer {self.token}"}) as client:
            while not self.done.wait(0.5):
                body = {"member_id": self.member_id, "rule_code": "P02",
                        "occurred_on": date.today().isoformat(), "quantity": 1}
                ms, _ = _timed(lambda b=body: _ok(client.post("/api/v1/entries", json=b),
                                                  201))
                self.latencies.append(ms)

    def stop(self) -> None:
        self.done.set()
        self.join()


def run(members: int, entries: int, repeat: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="jifen-files-"))
    url = f"sqlite:///{workdir}/demo.db"
    env = {"JIFEN_DATABASE_URL": url, "JIFEN_ENV": "development"}
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], check=True, cwd=ROOT,
                   env={**_environ(), **env}, capture_output=True)
    subprocess.run([sys.executable, "-m", "app.cli", "demo"], check=True, cwd=ROOT,
                   env={**_environ(), **env}, capture_output=True)
    server = Server(url, workdir=workdir)
    server.start()
    results: dict[str, Any] = {"members": members, "entries": entries}
    try:
        with httpx.Client(base_url=server.url, timeout=600) as client:
            token = _ok(client.post("/api/v1/auth/token", data={
                "username": "dangwei", "password": PASSWORD})).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            branches = [o for o in _ok(client.get("/api/v1/orgs")).json()["items"]
                        if o["kind"] == "branch"]
            branch = branches[0]
            sheet = _csv([[f"导入{i:04d}", branch["name"], "在职", "2010-07-01",
                           f"import{i:04d}", ""] for i in range(members)],
                         ["姓名", "所属支部", "类别", "入党日期", "用户名", "初始密码"])
            files = {"file": ("members.csv", sheet)}
            ms, _ = _timed(lambda: _ok(client.post("/api/v1/members/import", files=files,
                                                   data={"dry_run": "true"})))
            results["members_preview_ms"] = ms
            # Meanwhile another branch's entries are recorded: are they held up?
            other = _ok(client.get("/api/v1/members", params={"org_id": branches[1]["id"]}))
            probe = Probe(server.url, token, other.json()["items"][0]["id"])
            probe.start()
            try:
                ms, answer = _timed(lambda: _ok(client.post("/api/v1/members/import",
                                                            files=files), 201))
            finally:
                probe.stop()
            results["members_import_ms"] = ms
            results["writes_during_import"] = len(probe.latencies)
            results["write_during_import_max_ms"] = max(probe.latencies, default=0.0)
            assert answer.json()["created"] == members
            today = date.today()
            year = today.year
            # Days of this quarter up to today: the earlier quarters of the demo are final.
            start = date(year, 3 * ((today.month - 1) // 3) + 1, 1)
            days = (today - start).days + 1
            rows = [[f"import{i % members:04d}", "", "",
                     (start + timedelta(days=i % days)).isoformat(), "P01", "1", "",
                     f"第{i}行"] for i in range(entries)]
            sheet = _csv(rows, ["用户名", "姓名", "支部", "日期", "规则编号", "数量", "分值",
                                "说明"])
            files = {"file": ("entries.csv", sheet)}
            ms, _ = _timed(lambda: _ok(client.post("/api/v1/entries/import", files=files,
                                                   data={"dry_run": "true", "year": str(year)})))
            results["entries_preview_ms"] = ms
            ms, answer = _timed(lambda: _ok(client.post("/api/v1/entries/import", files=files,
                                                        data={"year": str(year)}), 201))
            results["entries_import_ms"] = ms
            assert answer.json()["created"] == entries
            mine = {"org_id": branch["id"]}
            reviews = _ok(client.get("/api/v1/reviews", params=mine)).json()["items"]
            review = next(r for r in reviews if r["status"] in ("published", "finalized"))
            ratings = _ok(client.get("/api/v1/ratings", params=mine)).json()["items"]
            party = next(o for o in _ok(client.get("/api/v1/orgs")).json()["items"]
                         if o["kind"] != "branch")
            member = _ok(client.get("/api/v1/members", params=mine)).json()["items"][0]
            reads = {
                "review_xlsx_ms": f"/api/v1/reviews/{review['id']}/export",
                "review_pdf_ms": f"/api/v1/reviews/{review['id']}/notice.pdf",
                "summary_xlsx_ms": f"/api/v1/orgs/{party['id']}/summary/export?year={year - 1}",
                "member_year_xlsx_ms": f"/api/v1/members/{member['id']}/entries/export",
                "members_xlsx_ms": "/api/v1/members/export",
            }
            if ratings:
                reads["rating_xlsx_ms"] = f"/api/v1/ratings/{ratings[0]['id']}/export"
            for name, path in reads.items():
                _ok(client.get(path))  # warm (fonts, templates)
                results[name] = statistics.median(
                    _timed(lambda p=path: _ok(client.get(p)))[0] for _ in range(repeat))
    finally:
        server.stop()
    return results


def _environ() -> dict[str, str]:
    import os
    return dict(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = run(args.members, args.entries, args.repeat)
    for key, value in results.items():
        print(f"{key:22} {value:10.0f}" if isinstance(value, float) else f"{key:22} {value}")
    out = ROOT / "bench" / "results" / "files.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
