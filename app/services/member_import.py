"""Members in and out as a table (.xlsx or CSV): the template, a checked preview, an
all-or-nothing import, and an export in the same columns, so that export → import round-trips.

The preview writes nothing: every row is checked by the same rules as creating one member
(app/services/members.py) and every problem is named by row and column. The import checks
again under the branch locks and then creates the members through `create_member`, so a
refusal of any row leaves nothing written (the request's transaction is rolled back). The
same rows confirmed again by the same account are answered by the first import, without its
generated passwords, which are shown once and kept nowhere (app/services/import_receipts.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Account, ImportKind, ImportReceipt, Org, OrgKind, Standing
from app.points import Category
from app.security import hash_passwords
from app.services import import_receipts, members
from app.services.access import Actor, managed_org_filter, require_committee, require_person
from app.services.errors import DomainError, Invalid
from app.services.import_receipts import Earlier
from app.services.locking import lock_branches
from app.services.passwords import check_policy, generate_password
from app.services.sheets import (
    Column,
    ImportRefused,
    Row,
    RowProblem,
    parse_day,
    read_rows,
    text_problems,
)
from app.services.standing import check_probation

# The labels the pages show (app/present/labels.py CATEGORY_LABELS; a test keeps them equal).
CATEGORY_NAMES: dict[str, str] = {"在职": "active", "流动": "mobile", "离退休": "retired",
                                  "农村无职": "rural"}
CATEGORY_HEADINGS = {code: name for name, code in CATEGORY_NAMES.items()}
# The standing column (app/present/labels.py STANDING_LABELS).
STANDING_NAMES = {"正式党员": Standing.full, "预备党员": Standing.probationary,
                  "正式": Standing.full, "预备": Standing.probationary}
STANDING_HEADINGS = {Standing.full.value: "正式党员", Standing.probationary.value: "预备党员",
                     Standing.left.value: "已离开"}
# The one username rule: the API's MemberCreate.username and the administrator's form use it.
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{2,64}$"
USERNAME = re.compile(USERNAME_PATTERN)
NAME_MAX = 50
# Every new account's password is an argon2 hash (~0.05-0.2 s of a core each), computed
# while the branches are locked: a bigger roll is split into several files.
MAX_IMPORT_ROWS = 300

COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", 10, True, "党员姓名，不超过50字。"),
    Column("branch", "所属支部", 18, True,
           "党支部的名称（与系统中一致）或编号；只能导入到您负责的支部。"),
    Column("category", "类别", 10, True, "在职、流动、离退休、农村无职（也可填 active、mobile、"
           "retired、rural）。"),
    Column("joined_on", "入党日期", 12, True,
           "入党（转入）日期，如 2010-07-01，不能晚于今天。"),
    Column("username", "用户名", 16, True,
           "登录用户名：2到64位字母、数字或 _ . @ -，不能与已有账号或本表其他行重复。"),
    Column("standing", "身份", 10, False,
           "正式党员或预备党员（也可填 正式、预备、full、probationary）；留空为正式党员。"),
    Column("password", "初始密码", 14, False,
           "可留空：留空的由系统生成8位数字密码，导入成功后只显示一次，请当场记下或打印。"),
)
EXPORT_COLUMNS = COLUMNS[:-1]  # never a password
HEADINGS = {c.key: c.heading for c in COLUMNS}
# Headings as written: a required column is marked with * (read_rows accepts either form).
WRITTEN_COLUMNS = tuple(replace(c, heading=c.heading + "*") if c.required else c for c in COLUMNS)
_READ = tuple(replace(c, required=False) for c in COLUMNS)  # missing columns named below


@dataclass(frozen=True)
class ImportRow:
    """A row that passed every check: what create_member gets."""

    row: int
    name: str
    org_id: int
    branch: str
    category: str
    joined_on: date
    username: str
    password: str | None  # None: one is generated at the import
    standing: Standing = Standing.full


@dataclass
class Preview:
    lines: list[Row] = field(default_factory=list)      # every row as read, for display
    rows: list[ImportRow] = field(default_factory=list)  # the rows without a problem
    errors: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    def errors_by_row(self) -> dict[int, list[RowProblem]]:
        grouped: dict[int, list[RowProblem]] = {}
        for error in self.errors:
            grouped.setdefault(error.row, []).append(error)
        return grouped


@dataclass(frozen=True)
class Created:
    row: int
    member_id: int
    name: str
    org_id: int
    branch: str
    username: str
    password: str | None  # the generated password, shown once; None when the file gave one
    generated: bool = False  # the password was generated (None again: shown once already)


@dataclass(frozen=True)
class MembersImported:
    """A confirmed import. `again`: this confirm repeated an earlier one of the same rows,
    whose result this is, nothing created now and no generated password shown again."""

    created: list[Created]
    imported_at: datetime
    again: bool = False


def require_importer(actor: Actor) -> None:
    require_committee(actor, "import or export members")


def require_person_importing(actor: Actor) -> None:
    """An import creates accounts with passwords (given, or generated and answered): never a
    service account's, which could then log in as the members (app/services/members.py)."""
    require_person(actor, "import members (their accounts carry passwords)")


# --------------------------------------------------------------------------- checking
def parse_standing(text: str) -> Standing | None:
    """正式党员 / 预备党员 (or full / probationary); empty is full. None: not one of them (a
    member who has left is not imported)."""
    value = text.strip()
    if not value:
        return Standing.full
    if value in STANDING_NAMES:
        return STANDING_NAMES[value]
    return {"full": Standing.full, "probationary": Standing.probationary}.get(value.lower())


def parse_category(text: str) -> str | None:
    value = text.strip()
    if value in CATEGORY_NAMES:
        return CATEGORY_NAMES[value]
    try:
        return Category(value.lower()).value
    except ValueError:
        return None


class _Branches:
    """The branches the actor may import into, by id and by name."""

    def __init__(self, session: Session, actor: Actor) -> None:
        rows = session.exec(select(Org).where(managed_org_filter(actor),
                                              col(Org.kind) == OrgKind.branch)).all()
        self.by_id = {org.id: org for org in rows if org.id is not None}
        self.by_name: dict[str, list[Org]] = {}
        for org in rows:
            self.by_name.setdefault(org.name.strip(), []).append(org)

    def find(self, text: str) -> Org | RowProblem | None:
        value = text.strip()
        if value.isdigit() and len(value) <= 16 and int(value) in self.by_id:
            return self.by_id[int(value)]
        found = self.by_name.get(value, [])
        if len(found) > 1:
            return RowProblem(0, "branch", "branch_ambiguous",
                              f"Several branches you manage are named {value!r}; "
                              f"write the branch's number instead "
                              f"({', '.join(str(o.id) for o in found)}).")
        return found[0] if found else None


def _taken(session: Session, usernames: Iterable[str]) -> set[str]:
    """The usernames that already have an account (one query per 500)."""
    names = sorted(set(usernames))
    taken: set[str] = set()
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        taken.update(session.exec(select(Account.username)
                                  .where(col(Account.username).in_(chunk))).all())
    return taken


def _check_row(line: Row, branches: _Branches, today: date) -> ImportRow | list[RowProblem]:
    """One row against the rules of create_member; every problem of the row, not the first."""
    v = {key: line.values.get(key, "").strip() for key in HEADINGS}
    errors: list[RowProblem] = []

    def fail(column: str, code: str, message: str) -> None:
        value = "" if column == "password" else v[column]  # a password is never echoed
        errors.append(RowProblem(line.number, column, code, message, value))

    errors.extend(text_problems(line, one_line=("name", "branch", "username")))
    if not v["name"]:
        fail("name", "member_name_required", "The name is empty.")
    elif len(v["name"]) > NAME_MAX:
        fail("name", "name_too_long", f"The name is longer than {NAME_MAX} characters.")
    branch: Org | None = None
    if not v["branch"]:
        fail("branch", "branch_required", "The branch is empty.")
    else:
        found = branches.find(v["branch"])
        if isinstance(found, RowProblem):
            errors.append(replace(found, row=line.number, value=v["branch"]))
        elif found is None:
            fail("branch", "branch_unknown", f"No branch {v['branch']!r} among the branches "
                 "you manage; write its name as the system has it, or its number.")
        else:
            branch = found
    category = parse_category(v["category"])
    if category is None:
        fail("category", "category_unknown", f"Unknown category {v['category']!r}: write "
             "在职, 流动, 离退休 or 农村无职 (or active, mobile, retired, rural).")
    standing = parse_standing(v["standing"])
    if standing is None:
        fail("standing", "standing_unknown", f"Unknown standing {v['standing']!r}: write "
             "正式党员 or 预备党员 (or full, probationary), or leave it empty for 正式党员.")
    joined_on = parse_day(v["joined_on"])
    if joined_on is None:
        fail("joined_on", "joined_on_invalid",
             f"Not a date: {v['joined_on']!r}; write it as 2010-07-01.")
    elif joined_on > today:
        fail("joined_on", "future_date", f"joined_on {joined_on} is in the future.")
    elif standing == Standing.probationary:
        try:
            check_probation(joined_on, today)
        except DomainError as error:
            fail("standing", error.code, error.detail)
    username = v["username"]
    if not USERNAME.fullmatch(username):
        fail("username", "username_invalid",
             "The username must be 2 to 64 letters, digits or _ . @ -.")
    password = line.values.get("password", "")  # as typed: spaces count in a password
    if password:
        try:
            check_policy(password, username)
        except DomainError as error:
            fail("password", error.code, error.detail)
    if errors or branch is None or category is None or joined_on is None or standing is None:
        return errors
    return ImportRow(line.number, v["name"], branch.id or 0, branch.name, category, joined_on,
                     username, password or None, standing)


def check_rows(session: Session, actor: Actor, lines: list[Row], today: date) -> Preview:
    """Every row checked, nothing written: the rows that pass and every problem."""
    require_importer(actor)
    preview = Preview(lines=lines)
    if not lines:
        preview.errors.append(RowProblem(2, None, "import_empty",
                                         "The file has no rows below the heading row."))
        return preview
    present = set().union(*(line.values.keys() for line in lines))
    missing = [c for c in COLUMNS if c.required and c.key not in present]
    if missing:
        preview.errors.extend(RowProblem(1, c.key, "column_missing",
                                         f"Row 1 has no column {c.heading} ({c.key}); use the "
                                         "template's heading row.") for c in missing)
        return preview
    if len(lines) > MAX_IMPORT_ROWS:
        preview.errors.append(RowProblem(lines[MAX_IMPORT_ROWS].number, None, "too_many_rows",
                                         f"More than {MAX_IMPORT_ROWS} members in one file; "
                                         "split it into several files."))
        return preview
    branches = _Branches(session, actor)
    well_formed = {line.number: name for line in lines
                   if USERNAME.fullmatch(name := line.values.get("username", "").strip())}
    taken = _taken(session, well_formed.values())
    first_row: dict[str, int] = {}
    for line in lines:
        checked = _check_row(line, branches, today)
        problems = checked if isinstance(checked, list) else []
        username = well_formed.get(line.number)
        if username in taken:
            problems.append(RowProblem(line.number, "username", "username_taken",
                                       f"The username {username!r} is taken; choose another.",
                                       username))
        elif username is not None:
            key = username.casefold()
            if key in first_row:
                problems.append(RowProblem(line.number, "username", "username_duplicate",
                                           f"The username {username!r} is also in row "
                                           f"{first_row[key]}; each member needs their own.",
                                           username))
            else:
                first_row[key] = line.number
        if problems:
            preview.errors.extend(problems)
        elif isinstance(checked, ImportRow):
            preview.rows.append(checked)
    preview.errors.sort(key=lambda e: (e.row, list(HEADINGS).index(e.column)
                                       if e.column in HEADINGS else -1))
    return preview


def preview_file(session: Session, actor: Actor, data: bytes, filename: str,
                 today: date) -> Preview:
    """The file read and checked, nothing written; a file that is no table is one error."""
    require_importer(actor)
    require_person_importing(actor)
    try:
        lines = _read(data, filename)
    except ImportRefused as refused:
        return Preview(errors=refused.errors)
    preview = check_rows(session, actor, lines, today)
    before = import_receipts.earlier(session, actor, ImportKind.members, _digest(lines),
                                     _stands)
    if before is not None:  # why every username is taken now
        preview.errors.insert(0, before.notice("members_already_imported", "members"))
    return preview


def _digest(lines: list[Row]) -> str:
    # Passwords left out: the digest is kept, and a password is never stored anywhere.
    return import_receipts.rows_digest(None, lines, leave_out=("password",))


def _stands(_session: Session, _receipt: ImportReceipt) -> bool:
    return True  # members are never deleted: what an import created stays


def _answered(earlier: Earlier) -> MembersImported:
    created = [Created(**c) for c in earlier.result.get("members", [])]
    return MembersImported(created, earlier.receipt.imported_at, again=True)


def _read(data: bytes, filename: str) -> list[Row]:
    if not data.strip():
        raise ImportRefused([RowProblem(1, None, "import_empty", f"{filename}: the file is "
                                        "empty; fill in the template.")])
    try:
        return read_rows(data, filename, _READ)
    except ImportRefused:
        raise
    except Invalid as error:
        raise ImportRefused([RowProblem(1, None, "bad_file", error.detail)]) from error


# --------------------------------------------------------------------------- importing
@dataclass(frozen=True)
class Passwords:
    """Each row's password (given, or generated) and its hash, made before the import."""

    by_row: dict[int, tuple[str, str]]


def prepare_passwords(session: Session, actor: Actor, lines: list[Row],
                      today: date) -> Passwords:
    """Check the rows (reads only), end that read, then hash every password.

    Call it before anything is written in the request. An argon2 hash takes ~0.2 s of a
    core, so 300 take most of a minute on one: they are made JIFEN_HASH_CONCURRENCY at a
    time, and outside any transaction, because on SQLite a writer's transaction holds the
    database's one write lock (every other write would wait, then fail), and on PostgreSQL
    the branch locks would be held as long. ImportRefused if any row has a problem.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("prepare_passwords must run before anything is written")
    if import_receipts.earlier(session, actor, ImportKind.members, _digest(lines),
                               _stands) is not None:
        session.rollback()
        return Passwords({})  # imported already: import_rows answers with that import
    preview = check_rows(session, actor, lines, today)
    if not preview.ok:
        raise ImportRefused(preview.errors)
    session.rollback()  # only reads so far: this ends the transaction and frees its lock
    chosen = {row.row: row.password or generate_password(row.username)
              for row in preview.rows}
    hashes = hash_passwords(list(chosen.values()))
    return Passwords({row: (password, hashed)
                      for (row, password), hashed in zip(chosen.items(), hashes, strict=True)})


def import_rows(session: Session, actor: Actor, lines: list[Row], now: datetime,
                today: date, passwords: Passwords) -> MembersImported:
    """All the rows or none: ImportRefused (nothing written) if any row has a problem.
    `passwords` from prepare_passwords, called first in the same request. The same rows
    confirmed again by the same account: the first import's result, nothing created."""
    with session.begin_nested():  # a refusal undoes the receipt too
        claimed = import_receipts.claim(session, actor, ImportKind.members, _digest(lines),
                                        None, now, _stands)
        if isinstance(claimed, Earlier):
            return _answered(claimed)
        created = _create(session, actor, lines, now, today, passwords)
        import_receipts.settle(session, claimed, len(created), {"members": [
            asdict(replace(c, password=None)) for c in created]})
    return MembersImported(created, now)


def _create(session: Session, actor: Actor, lines: list[Row], now: datetime, today: date,
            passwords: Passwords) -> list[Created]:
    preview = check_rows(session, actor, lines, today)
    if not preview.ok:
        raise ImportRefused(preview.errors)
    org_ids = sorted({row.org_id for row in preview.rows})
    # The branches' locks first (in id order), then the check again: a username taken or a
    # branch's committee changed since the preview is caught here, not by a half import.
    lock_branches(session, sa.select(col(Org.id)).where(col(Org.id).in_(org_ids)))
    again = check_rows(session, actor, lines, today)
    if not again.ok:
        raise ImportRefused(again.errors)
    created = []
    for row in again.rows:
        if row.row not in passwords.by_row:  # a row that became valid since: hash it here
            password = row.password or generate_password(row.username)
            hashed = hash_passwords([password])[0]
        else:
            password, hashed = passwords.by_row[row.row]
        new = members.NewMember(name=row.name, org_id=row.org_id, category=row.category,
                                joined_on=row.joined_on, username=row.username,
                                password=password, standing=row.standing)
        # Generated or written in the file, the importer knows it: the member replaces it
        # at their first login (app/services/passwords.py).
        member, _account = members.create_member(session, actor, new, now, today, hashed,
                                                  must_change_password=True)
        created.append(Created(row.row, member.id or 0, member.name, row.org_id, row.branch,
                               row.username, None if row.password else password,
                               generated=not row.password))
    return created


def import_file(session: Session, actor: Actor, data: bytes, filename: str, now: datetime,
                today: date) -> MembersImported:
    require_importer(actor)
    require_person_importing(actor)
    lines = _read(data, filename)
    passwords = prepare_passwords(session, actor, lines, today)
    return import_rows(session, actor, lines, now, today, passwords)
