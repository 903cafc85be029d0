"""Rule sets as YAML files through the API: export, import into another year, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app import db as db_module
from app import settings
from app.cli import main
from app.models import AuditLog, RuleSetRow
from app.services.rules import ensure_rule_set
from tests.api.support import NO_NOTICE, World, ok, refused

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "rules" / "shuangshi-2026.yaml"

YAML = {"Content-Type": "application/yaml"}


def export(world: World, year: int, who: str = "admin") -> str:
    answer = world.client.get(f"/api/v1/rules/{year}/export.yaml", headers=world.as_(who))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/yaml; charset=utf-8"
    assert answer.headers["content-disposition"] == \
        f'attachment; filename="jifen-rules-{year}.yaml"'
    return answer.text


def send(world: World, year: int, text: str | bytes, who: str = "admin",
         **params: Any) -> Any:
    body = text.encode() if isinstance(text, str) else text
    return world.client.post(f"/api/v1/rules/{year}/import", content=body, params=params,
                             headers={**world.as_(who), **YAML})


def problems(answer: Any) -> list[tuple[str, str]]:
    body = refused(answer, 422, "rules_file_invalid")
    return [(e["path"], e["type"]) for e in body["errors"]]


def revision(db: Session, year: int) -> str | None:
    db.expire_all()
    row = db.get(RuleSetRow, year)
    return row.revision if row else None


def test_export_2026_import_into_2027_gives_the_same_rules(world: World, db: Session) -> None:
    text = export(world, 2026)
    assert "format: jifen-rules/1" in text and "name: 参加集中学习" in text
    assert revision(db, 2027) is None
    created = ok(send(world, 2027, text), 201)
    assert created["year"] == 2027 and created["created"] is True
    # 2027 read as the rules it starts from, 2026's: the same rules, so nothing new.
    assert (created["added"], created["removed"], created["changed"]) == ([], [], [])
    assert created["params_changed"] is False
    assert created["params"]["star_thresholds"] == [60, 70, 80, 90, 96]
    rules_2026 = ok(world.get("a1", "/rules", year=2026))
    rules_2027 = ok(world.get("a1", "/rules", year=2027))
    # The same items; 2027's are stored now (its time), 2026's only read (null).
    assert [i.pop("updated_at") for i in rules_2026["items"]] == [None] * 26
    assert {i.pop("updated_at") for i in rules_2027["items"]} == {rules_2027["updated_at"]}
    assert rules_2027["items"] == rules_2026["items"]
    assert len(rules_2027["items"]) == 26
    assert export(world, 2027) == text.replace("2026", "2027")
    # Again: nothing new, answered 200, and the year's revision moves on all the same.
    first = revision(db, 2027)
    again = ok(send(world, 2027, text), 200)
    assert (again["created"], again["added"], again["removed"], again["changed"]) == \
        (False, [], [], [])
    assert revision(db, 2027) not in (None, first)


def test_a_citys_variant_replaces_the_year_and_is_audited(world: World, db: Session) -> None:
    # 2026 stored, as its first entry would store it (reading it, as export does, does not).
    ensure_rule_set(db, 2026, world.clock.now())
    text = export(world, 2026)
    every = "  categories: [active, mobile, retired, rural]\n"
    variant = (text.replace("name: 参加集中学习\n  points: 2",
                            "name: 参加集中学习(市版)\n  points: 3")
               .replace("- code: N10\n  kind: negative\n  name: 参与不良风气（赌博、大操大办等）\n"
                        "  points: 5\n  cap: null\n" + every,
                        "- code: P11\n  kind: positive\n  name: 参加社区网格服务\n  points: 2\n"
                        "  cap: 6\n  categories: [retired, rural]\n")
               .replace("excellent_divisor: 3", "excellent_divisor: 4"))
    before = revision(db, 2026)
    answer = ok(send(world, 2026, variant))
    assert (answer["added"], answer["removed"], answer["changed"], answer["params_changed"]) == \
        (["P11"], ["N10"], ["P01"], True)
    items = {i["code"]: i for i in ok(world.get("admin", "/rules", year=2026))["items"]}
    assert "N10" not in items and len(items) == 26
    assert items["P01"]["name"] == "参加集中学习(市版)" and items["P01"]["points"] == 3
    assert items["P11"]["cap"] == 6 and items["P11"]["categories"] == ["retired", "rural"]
    assert revision(db, 2026) != before
    # The new item is usable at once; the member's category decides, as for any item.
    world.add_member("r1", world.branch_a, category="retired")
    entry = world.entry("sec_a", "r1", "P11", "2026-01-05")
    assert (entry["points"], entry["kind"]) == (2, "positive")
    logged = db.exec(select(AuditLog).where(AuditLog.action == "rules.import")
                     .order_by(col(AuditLog.id).desc())).first()
    assert logged is not None and logged.object_id == 2026
    assert "参加集中学习(市版)" in (logged.after or "") and "N10" in (logged.before or "")


def test_dry_run_checks_and_writes_nothing(world: World, db: Session) -> None:
    text = export(world, 2026)
    checked = ok(send(world, 2028, text, dry_run="true"))
    assert checked["dry_run"] is True and checked["year"] == 2028 and len(checked["items"]) == 26
    assert revision(db, 2028) is None
    before = revision(db, 2026)
    changed = ok(send(world, 2026, text.replace("points: 4\n", "points: 5\n"), dry_run=True))
    assert changed["changed"] == ["P06", "P10"]
    assert revision(db, 2026) == before
    assert ok(world.get("admin", "/rules", year=2026))["items"][5]["points"] == 4


def freeze(world: World, year: int) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": year, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))


PROCEDURAL = (("ballot_required: true", "ballot_required: false"),
              ("rating_notice_days: 5", "rating_notice_days: 7"),
              ("rectify_months: 6", "rectify_months: 3"),
              ("min_notice_days: 5", "min_notice_days: 2"))


def procedural(text: str) -> str:
    for old, new in PROCEDURAL:
        text = text.replace(old, new)
    return text


def test_a_frozen_year_refuses_an_import_that_changes_the_scoring(world: World,
                                                                  db: Session) -> None:
    text = export(world, 2025)
    freeze(world, 2025)
    before = revision(db, 2025)
    # Anything but the procedural parameters, alone or beside them: refused, checked or not,
    # and the detail names what the file would change.
    cases = [
        (text.replace("excellent_divisor: 3", "excellent_divisor: 4"), "params.excellent_divisor"),
        (text.replace("name: 参加集中学习\n", "name: 参加集中学习(市版)\n"), "changes P01."),
        (procedural(text).replace("points: 4\n", "points: 5\n"), "changes P06, P10."),
        (text.replace("- code: V04", "- code: V05"), "changes V05, V04."),
    ]
    for changed, named in cases:
        for dry_run in (False, True):
            body = refused(send(world, 2025, changed, dry_run=dry_run), 409, "rules_frozen")
            assert named in body["detail"], body["detail"]
            assert "only ballot_required, rating_notice_days, rectify_months, " \
                "min_notice_days may" in body["detail"]
    # Two items swapped: the same items, another order (the rules page's order).
    lines = text.split("- code: ")
    swapped = "- code: ".join([*lines[:1], lines[2], lines[1], *lines[3:]])
    assert "changes items." in refused(send(world, 2025, swapped), 409, "rules_frozen")["detail"]
    # A bad file is a bad file, frozen or not.
    assert problems(send(world, 2025, text.replace("rectify_months: 6", "rectify_months: 13"))) \
        == [("params.rectify_months", "months_out_of_range")]
    assert problems(send(world, 2025, text.replace("ballot_required: true",
                                                    "ballot_required: 'no'"))) == \
        [("params.ballot_required", "not_a_boolean")]
    assert problems(send(world, 2025, text.replace("min_notice_days: 5",
                                                    "min_notice_days: 61"))) == \
        [("params.min_notice_days", "min_notice_out_of_range")]
    assert revision(db, 2025) == before and export(world, 2025) == text


def test_a_frozen_year_imports_its_procedural_parameters(world: World, db: Session) -> None:
    text = export(world, 2025)
    freeze(world, 2025)
    before = revision(db, 2025)
    changed = procedural(text)
    checked = ok(send(world, 2025, changed, dry_run=True))
    assert (checked["frozen"], checked["dry_run"], checked["params_changed"]) == \
        (True, True, True)
    assert revision(db, 2025) == before
    done = ok(send(world, 2025, changed))
    assert (done["frozen"], done["added"], done["removed"], done["changed"],
            done["params_changed"]) == (True, [], [], [], True)
    expected = {"ballot_required": False, "rating_notice_days": 7, "rectify_months": 3,
                "min_notice_days": 2}
    assert {k: done["params"][k] for k in expected} == expected
    shown = ok(world.get("a1", "/rules", year=2025))
    assert shown["frozen"] is True and shown["params"] == done["params"]
    assert shown["params"]["excellent_divisor"] == 3
    assert export(world, 2025) == changed
    assert revision(db, 2025) not in (None, before)
    logged = db.exec(select(AuditLog).where(AuditLog.action == "rules.import",
                                            AuditLog.object_id == 2025)).one()
    assert '"rating_notice_days": 5' in (logged.before or "")
    assert '"rating_notice_days": 7' in (logged.after or "")
    # The file as it stands, again: nothing beyond the procedure differs, so it is taken.
    assert ok(send(world, 2025, changed))["params_changed"] is False


def test_codes_used_by_entries_cannot_go_or_change_kind(world: World, db: Session) -> None:
    text = export(world, 2026)
    world.entry("sec_a", "a1", "N01", "2026-01-05")
    world.entry("a1", "a1", "P01", "2026-01-06")  # pending: still the year's entry
    before_rules, before_revision = export(world, 2026), revision(db, 2026)
    without = text.replace("- code: N01\n  kind: negative\n", "- code: X01\n  kind: negative\n")
    without = without.replace("- code: P01\n  kind: positive", "- code: P01\n  kind: bonus")
    assert problems(send(world, 2026, without)) == [("items", "code_in_use"),
                                                    ("items[0].kind", "kind_in_use")]
    body = send(world, 2026, without).json()
    assert "N01 is used by 1 entries of 2026; it cannot be removed" in body["detail"]
    # Renaming and new points are fine (entries keep the points they were given).
    renamed = text.replace("name: 无故缺席组织生活\n  points: 2",
                           "name: 无故缺席组织生活会\n  points: 3")
    assert ok(send(world, 2026, renamed))["changed"] == ["N01"]
    assert ok(world.get("admin", "/rules", year=2026))["items"][10]["points"] == 3
    # Unchanged by the refusals: back to the export before them, bar the renamed item.
    assert export(world, 2026) == renamed and before_rules == text
    assert revision(db, 2026) != before_revision


def test_each_problem_is_named_and_nothing_is_written(world: World, db: Session) -> None:
    text = export(world, 2026)
    bad = (text.replace("format: jifen-rules/1", "format: jifen-rules/9")
           .replace("[60, 70, 80, 90, 96]", "[60, 80, 70, 90, 96]")
           .replace("name: 无故缺席组织生活\n  points: 2", "name: 无故缺席组织生活\n  points: -2")
           .replace("code: P02", "code: P01")
           .replace("- code: V01\n  kind: veto\n", "- code: V01\n  kind: veto\n  cap: 3\n")
           .replace("min_points: 1\n  max_points: 10", "min_points: 10\n  max_points: 1"))
    before = revision(db, 2026)
    answer = send(world, 2026, bad)
    assert problems(answer) == [
        ("format", "format_unknown"),
        ("params.star_thresholds", "star_thresholds_order"),
        ("items[1].code", "code_duplicate"),
        ("items[10].points", "points_signed"),
        ("items[21].max_points", "range_reversed"),
        ("items[22].cap", "cap_not_allowed"),
    ]
    messages = {e["path"]: e["msg"] for e in answer.json()["errors"]}
    assert answer.json()["errors"][3]["loc"] == ["body", "items", 10, "points"]
    assert messages["items[10].points"] == \
        "write it without a sign (2): the kind negative already makes it a deduction"
    assert "items[22].cap: a veto item has no cap" in answer.json()["detail"]
    assert revision(db, 2026) == before and export(world, 2026) == text


def test_only_an_administrator_imports_and_anyone_logged_in_exports(world: World) -> None:
    text = export(world, 2026, who="a1")
    assert text == export(world, 2026)
    refused(send(world, 2026, text, who="a1"), 403, "admin_only")
    refused(send(world, 2026, text, who="sec_a"), 403, "admin_only")
    anonymous = world.client.post("/api/v1/rules/2026/import", content=text.encode(),
                                  headers=YAML)
    refused(anonymous, 401)
    refused(world.client.get("/api/v1/rules/2026/export.yaml"), 401)
    refused(world.client.get("/api/v1/rules/1999/export.yaml", headers=world.as_("a1")), 422)


def test_a_multipart_upload_is_read_like_a_raw_body(world: World) -> None:
    text = export(world, 2026)
    answer = world.client.post("/api/v1/rules/2027/import", headers=world.as_("admin"),
                               files={"file": ("x.yaml", text.encode(), "application/yaml")})
    assert ok(answer, 201)["created"] is True
    missing = world.client.post("/api/v1/rules/2027/import", headers=world.as_("admin"),
                                files={"other": ("x.yaml", b"format: x", "text/plain")})
    refused(missing, 422, "rules_file_missing")


def test_hostile_files_are_refused_never_a_500(world: World, db: Session) -> None:
    before = revision(db, 2026)
    assert problems(send(world, 2026, "{{{ not: yaml")) == [("file", "not_yaml")]
    assert problems(send(world, 2026, b"\xff\xfe\x00binary")) == [("file", "not_utf8")]
    assert problems(send(world, 2026, "")) == [("file", "not_a_mapping")]
    assert problems(send(world, 2026, '{"format": "jifen-rules/1", "items": 3}')) == \
        [("items", "items_required")]
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    answer = send(world, 2026, bomb)
    assert problems(answer) == [("file", "not_yaml")]
    assert "anchors and aliases" in answer.json()["errors"][0]["msg"]
    assert problems(send(world, 2026, "[" * 50_000 + "]" * 50_000)) == [("file", "not_yaml")]
    assert problems(send(world, 2026, "!!python/object/apply:os.system ['true']")) == \
        [("file", "not_yaml")]
    refused(send(world, 2026, "# " + "x" * 300_000), 413, "rules_file_too_large")
    refused(send(world, 2026, "x" * 2_000_000), 413, "body_too_large")
    assert revision(db, 2026) == before


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JIFEN_DATABASE_URL", url)
    settings.get_settings.cache_clear()
    db_module.get_engine.cache_clear()
    yield url
    db_module.get_engine().dispose()
    settings.get_settings.cache_clear()
    db_module.get_engine.cache_clear()


def test_the_command_exports_and_imports(own_database: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["rules", "export", "2026"]) == 0
    text = capsys.readouterr().out
    assert text == SHIPPED.read_text(encoding="utf-8")
    variant = tmp_path / "city.yaml"
    variant.write_text(text.replace("points: 4\n", "points: 6\n"), encoding="utf-8")
    assert main(["rules", "import", "2026", str(variant), "--dry-run"]) == 0
    assert "checked, not imported" in capsys.readouterr().out
    assert main(["rules", "import", "2026", str(variant)]) == 0
    assert "changed P06, P10" in capsys.readouterr().out
    assert main(["rules", "export", "2026"]) == 0
    assert capsys.readouterr().out == variant.read_text(encoding="utf-8")
    variant.write_text(text.replace("kind: veto", "kind: vetoed", 1), encoding="utf-8")
    assert main(["rules", "import", "2026", str(variant)]) == 1
    assert "items[22].kind: must be one of" in capsys.readouterr().err
    assert main(["rules", "import", "2026", str(tmp_path / "missing.yaml")]) == 2
