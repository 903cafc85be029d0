"""A year's rule set as a YAML file: exported from one year or deployment, imported into
another (a city's own 双十 list), checked by the same rules an edit goes through.

The file: a `format: jifen-rules/1` marker, the `year` it came from (only for the reader:
the import takes the year it is told), `params` (docs/scoring.md, Stars and Grades), a
missing number taking the default, and `items` (docs/scoring.md, Rule items), in their
order. Points are written without a sign, as everywhere else in Jifen: the kind decides
whether they add or deduct. An import replaces the year's whole rule set, or refuses with
every problem named by its path (`items[3].points: ...`) and writes nothing. It is refused
for a frozen year unless the file differs from the year's rules only in the procedural
parameters (app/services/rule_procedure.py), and for a file that drops a code the year's
entries use or changes such a code's kind (its name, points, cap and categories may change,
as an edit may change them: entries keep the points they were given).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.models import Entry, RuleItemRow, RuleSetRow
from app.points import ALL_CATEGORIES, Category, Kind, RatingParams, RuleItem, RuleSet
from app.points.rules import DEDUCTING_KINDS
from app.schemas import RuleUpdate
from app.services import audit
from app.services.errors import DomainError, Invalid, WorkflowConflict
from app.services.locking import lock_rule_year
from app.services.rule_procedure import PROCEDURAL, frozen_changes
from app.services.rules import (
    bump_revision,
    check_year,
    item_row,
    load_rule_set,
    rating_params_problems,
    rule_item_problems,
    rule_set_snapshot,
    write_params,
    year_is_frozen,
)

FORMAT = "jifen-rules/1"
# A rule set is a few KB; anything near this is not one.
MAX_FILE_BYTES = 256 * 1024
MAX_ITEMS = 200
ITEM_FIELDS = ("code", "kind", "name", "points", "min_points", "max_points", "cap",
               "categories")
PARAM_FIELDS = tuple(f.name for f in fields(RatingParams))
TOP_FIELDS = ("format", "year", "params", "items")

HEADER = """\
# Jifen 积分规则文件 — the rule set of {year} (双十规范积分, 评星定级).
# Import it into a year on the administrator's rules page, with
# POST /api/v1/rules/{{year}}/import, or with: jifen rules import YEAR FILE
# kind: positive 十项基本要求 (adds), negative 十个行为底线 (deducts),
#       bonus 现实表现加分 (adds), deduction 现实表现扣分 (deducts), veto 一票否决.
# points: whole numbers 1-100 without a sign; the kind says whether they add or deduct.
#   An item has `points` per unit, or `min_points` and `max_points` (chosen per entry);
#   a veto item has neither, and no cap.
# cap: the most points of the item counted in a year (null: no cap).
# categories: active 在职, mobile 流动, retired 离退休, rural 农村无职.
# params: review scores, star thresholds (least score for 1..5 stars) and grade numbers.
"""
PROCEDURE_NOTE = """\
  # Procedural (appraisal.md §6): these four stay editable after the year's rules freeze.
  # ballot_required 须经民主测评方可公示; rating_notice_days 评星定级公示天数 (0-60);
  # rectify_months 限期改正默认月数 (1-12); min_notice_days 最短公示天数 (0-60: a
  # shorter notice needs a reason)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (`items[3].points`), a stable code, English text."""

    path: str
    code: str
    message: str
    # The code or number the problem is about, for a message in another language.
    value: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RulesFileInvalid(Invalid):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems), "rules_file_invalid")
        self.problems = problems


class RulesFileTooLarge(DomainError):
    status_code = 413
    default_code = "rules_file_too_large"


# Writing


class _Flow(list[Any]):
    """A short list written on one line: [active, mobile, retired, rural]."""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    pass


_Dumper.add_representer(_Flow, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=True))


def _item_data(item: RuleItem) -> dict[str, Any]:
    data: dict[str, Any] = {"code": item.code, "kind": item.kind.value, "name": item.name}
    if item.kind is not Kind.veto:
        if item.points is not None:
            data["points"] = item.points
        else:
            data["min_points"], data["max_points"] = item.min_points, item.max_points
        data["cap"] = item.cap
    data["categories"] = _Flow(c.value for c in Category if c in item.categories)
    return data


def dump_rule_set(rules: RuleSet) -> str:
    """The rule set as the text of a rule file: the same rules give the same text."""
    params = rules.params
    data = {
        "format": FORMAT,
        "year": rules.year,
        "params": {name: _Flow(params.star_thresholds) if name == "star_thresholds"
                   else getattr(params, name) for name in PARAM_FIELDS},
        "items": [_item_data(i) for i in rules.items],
    }
    body = str(yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100))
    # The procedural parameters come last in params (RatingParams' order): said so above them.
    first = f"\n  {PROCEDURAL[0]}:"
    return HEADER.format(year=rules.year) + body.replace(first, "\n" + PROCEDURE_NOTE + first, 1)


def export_rule_set(session: Session, year: int, now: datetime) -> str:
    return dump_rule_set(load_rule_set(session, year, now))


# Reading


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """safe_load's loader, refusing anchors and aliases (no billion laughs) and repeated keys
    (which YAML would silently let the last one win)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(None, None, "anchors and aliases (&, *) are not "
                                       "allowed in a rule file", self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Hashable] = set()
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in seen:
                    raise yaml.MarkedYAMLError(None, None, f"the key {key!r} appears twice",
                                               key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _parse_yaml(data: bytes | str) -> Any:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_FILE_BYTES:
        raise RulesFileTooLarge(f"The rule file is larger than {MAX_FILE_BYTES // 1024} KB; "
                                "a rule set is a few KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RulesFileInvalid([Problem("file", "not_utf8", "is not UTF-8 text")]) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader, see above
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        text = error.problem or error.context or "cannot be read"
        raise RulesFileInvalid([Problem("file", "not_yaml",
                                        f"is not valid YAML: {text}{where}")]) from None
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError):
        raise RulesFileInvalid([Problem("file", "not_yaml", "is not valid YAML")]) from None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Walks a parsed document, noting every problem with its path."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        # Each code given in the file: its index and the kind written for it.
        self.codes: dict[str, tuple[int, str | None]] = {}

    def note(self, path: str, code: str, message: str, value: object = "") -> None:
        self.problems.append(Problem(path, code, message, str(value)))

    def unknown_keys(self, where: str, mapping: dict[Any, Any], known: tuple[str, ...],
                     what: str) -> None:
        for key in mapping:
            if key not in known:
                self.note(f"{where}.{key}" if where else str(key), "unknown_field",
                          f"is not a field of {what} (known: {', '.join(known)})")

    def document(self, doc: Any, year: int) -> RuleSet | None:
        if not isinstance(doc, dict):
            self.note("file", "not_a_mapping", "must be a YAML mapping with format, year, "
                      "params and items")
            return None
        self.unknown_keys("", doc, TOP_FIELDS, "a rule file")
        if "format" not in doc:
            self.note("format", "format_missing", f"is missing: a rule file says format: "
                      f"{FORMAT}")
        elif doc["format"] != FORMAT:
            self.note("format", "format_unknown", f"must be {FORMAT}")
        if "year" in doc and not (_is_int(doc["year"]) and 2000 <= doc["year"] <= 2100):
            self.note("year", "year_invalid", "must be a year from 2000 to 2100")
        params = self.params(doc.get("params", {}))
        items = self.items(doc.get("items"))
        if self.problems or params is None or items is None:
            return None
        return RuleSet(year=year, items=tuple(items), params=params)

    def params(self, raw: Any) -> RatingParams | None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.note("params", "not_a_mapping", "must be a mapping of the rating numbers")
            return None
        self.unknown_keys("params", raw, PARAM_FIELDS, "params")
        values: dict[str, Any] = {}
        for name in PARAM_FIELDS:
            if name not in raw:
                continue
            value = raw[name]
            if name == "star_thresholds":
                if not isinstance(value, list) or not all(_is_int(v) for v in value):
                    self.note(f"params.{name}", "not_a_list", "must be a list of whole numbers")
                    continue
                values[name] = tuple(value)
            elif name == "ballot_required":
                if isinstance(value, bool):
                    values[name] = value
                else:
                    self.note(f"params.{name}", "not_a_boolean", "must be true or false")
            elif not _is_int(value):
                self.note(f"params.{name}", "not_an_integer", "must be a whole number")
            else:
                values[name] = value
        if len(values) < len([n for n in PARAM_FIELDS if n in raw]):
            return None
        params = RatingParams(**values)
        for field, code, message in rating_params_problems(params):
            self.note(f"params.{field}", code, message)
        return params

    def items(self, raw: Any) -> list[RuleItem] | None:
        if not isinstance(raw, list) or not raw:
            self.note("items", "items_required", "must be a list of at least one rule item")
            return None
        if len(raw) > MAX_ITEMS:
            self.note("items", "too_many_items", f"must have at most {MAX_ITEMS} items")
            return None
        items = [self.item(i, entry) for i, entry in enumerate(raw)]
        return [i for i in items if i is not None]

    def item(self, index: int, raw: Any) -> RuleItem | None:
        where = f"items[{index}]"
        if not isinstance(raw, dict):
            self.note(where, "not_a_mapping", "must be a mapping with code, kind, name and "
                      "points")
            return None
        before = len(self.problems)
        self.unknown_keys(where, raw, ITEM_FIELDS, "a rule item")
        code, kind = raw.get("code"), raw.get("kind")
        if not isinstance(code, str):
            self.note(f"{where}.code", "code_required", "is required (text such as P01)")
        elif code in self.codes:
            self.note(f"{where}.code", "code_duplicate",
                      f"{code} is already the code of items[{self.codes[code][0]}]", code)
        else:
            self.codes[code] = (index, kind if isinstance(kind, str) else None)
        if kind not in {k.value for k in Kind}:
            self.note(f"{where}.kind", "kind_invalid", "must be one of " +
                      ", ".join(k.value for k in Kind))
            kind = None
        if raw.get("name") is None:
            self.note(f"{where}.name", "name_required", "is required")
        given = {k for k in ITEM_FIELDS if raw.get(k) is not None}
        given -= self.signed(where, raw, Kind(kind) if kind else None)
        # Name, points, cap and categories: the very checks of an edit (PUT /rules/{code});
        # the range's ends are checked as points.
        checked: dict[str, Any] = {k: raw[k] for k in ("name", "points", "cap", "categories")
                                   if k in given}
        ranges = {k: raw[k] for k in ("min_points", "max_points") if k in given}
        tried: list[tuple[str | None, dict[str, Any]]] = [(None, checked)]
        tried += [(k, {"points": v}) for k, v in ranges.items()]
        for field, value in tried:
            try:
                RuleUpdate.model_validate(value)
            except ValidationError as error:
                for e in error.errors():
                    loc = [str(p) if isinstance(p, str) else f"[{p}]" for p in e["loc"]]
                    if field is not None:
                        loc[0] = field
                    self.note(f"{where}." + ".".join(loc).replace(".[", "["),
                              e["type"], e["msg"][:1].lower() + e["msg"][1:])
        if len(self.problems) > before:
            return None
        assert isinstance(code, str) and kind is not None
        categories = raw.get("categories")
        item = RuleItem(
            code=code, kind=Kind(kind), name=str(raw["name"]).strip(),
            points=raw.get("points"), cap=raw.get("cap"),
            min_points=raw.get("min_points"), max_points=raw.get("max_points"),
            categories=ALL_CATEGORIES if categories is None
            else frozenset(Category(c) for c in categories))
        for field, problem, message in rule_item_problems(item):
            self.note(f"{where}.{field}", problem, message)
        return None if len(self.problems) > before else item

    def signed(self, where: str, raw: dict[str, Any], kind: Kind | None) -> set[str]:
        """The point fields written with a minus sign, each noted as a problem."""
        signed: set[str] = set()
        for name in ("points", "min_points", "max_points"):
            value = raw.get(name)
            if isinstance(value, int) and _is_int(value) and value < 0:
                effect = "a deduction" if kind in DEDUCTING_KINDS else "an addition"
                self.note(f"{where}.{name}", "points_signed",
                          f"write it without a sign ({-value}): the kind "
                          f"{kind.value if kind else '?'} already makes it {effect}", -value)
                signed.add(name)
        return signed


def read_rules_file(data: bytes | str, year: int) -> RuleSet:
    """The rule set a file gives for `year`; RulesFileInvalid lists every problem."""
    rules, problems, _ = _read(data, year)
    if rules is None:
        raise RulesFileInvalid(problems)
    return rules


def _read(data: bytes | str, year: int) -> tuple[RuleSet | None, list[Problem],
                                                   dict[str, tuple[int, str | None]]]:
    reader = _Reader()
    rules = reader.document(_parse_yaml(data), year)
    return rules, reader.problems, reader.codes


# Importing


@dataclass(frozen=True)
class ImportResult:
    rules: RuleSet
    created: bool
    dry_run: bool
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    params_changed: bool


def _codes_in_use(session: Session, year: int) -> dict[str, tuple[str, int]]:
    """The codes the year's entries (of any status) name: their kind and how many."""
    rows = session.exec(
        select(Entry.rule_code, Entry.kind, sa.func.count())
        .where(Entry.year == year).group_by(col(Entry.rule_code), col(Entry.kind))
    ).all()
    return {code: (kind, count) for code, kind, count in rows}


def _in_use_problems(session: Session, year: int,
                     codes: dict[str, tuple[int, str | None]]) -> list[Problem]:
    problems = []
    for code, (kind, count) in sorted(_codes_in_use(session, year).items()):
        if code not in codes:
            problems.append(Problem("items", "code_in_use", f"{code} is used by {count} "
                                    f"entries of {year}; it cannot be removed", code))
        elif codes[code][1] not in (None, kind):
            problems.append(Problem(f"items[{codes[code][0]}].kind", "kind_in_use",
                                    f"{code} is used by {count} entries of {year} as {kind}; "
                                    "its kind cannot change", code))
    return problems


def import_rule_set(session: Session, actor_id: int | None, year: int, data: bytes | str,
                    now: datetime, *, dry_run: bool = False) -> ImportResult:
    """Replace the year's rule set with a file's, or refuse and write nothing."""
    check_year(year)
    rules, problems, codes = _read(data, year)
    if rules is None:
        raise RulesFileInvalid(problems)
    if year_is_frozen(session, year):
        # Only the procedural parameters may still change (appraisal.md §6).
        kept = frozen_changes(load_rule_set(session, year, now), rules)
        if kept:
            raise WorkflowConflict(
                f"The {year} rule set is frozen: a quarter of {year} has been finalized; "
                f"only {', '.join(PROCEDURAL)} may still change, and the file changes "
                f"{', '.join(kept[:10])}{' …' if len(kept) > 10 else ''}.", "rules_frozen")
    problems += _in_use_problems(session, year, codes)
    if problems:
        raise RulesFileInvalid(problems)
    if not dry_run:
        # A year not stored yet is created here once, whoever else stores it at the same time.
        lock_rule_year(session, year)
    row = session.get(RuleSetRow, year, with_for_update=True)
    # Against what the year reads as, stored or not: the rules its page and GET showed.
    current = load_rule_set(session, year, now)
    old = {i.code: i for i in current.items}
    new = {i.code: i for i in rules.items}
    result = ImportResult(
        rules=rules, created=row is None, dry_run=dry_run,
        added=tuple(c for c in new if c not in old),
        removed=tuple(c for c in old if c not in new),
        changed=tuple(c for c in new if c in old and old[c] != new[c]),
        params_changed=current.params != rules.params)
    if not dry_run:
        _write(session, actor_id, year, rules, row, now)
    return result


def _write(session: Session, actor_id: int | None, year: int, rules: RuleSet,
           row: RuleSetRow | None, now: datetime) -> None:
    before = rule_set_snapshot(session, row) if row is not None else None
    if row is None:
        row = RuleSetRow(year=year, created_at=now)
    write_params(row, rules.params)
    session.add(row)
    session.flush()
    existing = {r.code: r for r in session.exec(
        select(RuleItemRow).where(RuleItemRow.year == year)).all()}
    for position, item in enumerate(rules.items):
        session.add(item_row(year, item, position, existing.pop(item.code, None)))
    for gone in existing.values():  # unused codes only (checked above)
        session.delete(gone)
    bump_revision(session, row)
    session.flush()
    audit.record(session, actor_id=actor_id, action="rules.import", object_type="rule_set",
                 object_id=year, at=now, before=before, after=rule_set_snapshot(session, row))
