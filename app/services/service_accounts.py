"""Service accounts and their API keys: how a program (a city's data platform) calls the API.

An administrator creates a service account (a name, the organisation whose subtree it may
read or change, `read` or `read-write`) and gets its first key, shown once. The key is
`jfk_<prefix>_<secret>`, sent as `Authorization: Bearer <key>` like a token; only its
SHA-256 is kept (the key is 256 random bits: nobody finds it from the hash, and a slow hash
on every request would only cost time). A second key can be added (rotation) and any key
revoked, for good. Every change is in the audit log.

A key acts as a committee of its organisation would (app/services/access.py, Actor), with
no member, never as an administrator, in no disposal case and no ballot; a `read` key
changes nothing (403 `read_only_key`, app/api/deps.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from app.models import Account, ApiKey, Org, ServiceAccess, ServiceAccount
from app.security import key_hash, key_matches, key_prefix, new_api_key
from app.services import audit
from app.services.access import Actor, require_admin
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.member_import import USERNAME
from app.services.members import username_taken
from app.services.text import bad_character

# No argon2 hash looks like this: verify_password refuses it, so nobody logs in with a
# password to a service account (app/services/accounts.py refuses them first anyway).
NO_PASSWORD = "!service"
NOTE_MAX = 200
# last_used_at moves on at most this often per key: no write on every read.
LAST_USED_EVERY = timedelta(minutes=1)
# A service account holds at most this many keys that are not revoked (rotation needs 2).
LIVE_KEYS_MAX = 5


@dataclass(frozen=True)
class NewKey:
    """A key just made: `key` is shown in this answer only, never again."""

    row: ApiKey
    key: str


@dataclass(frozen=True)
class ServiceAccountView:
    account: Account
    service: ServiceAccount
    org: Org
    keys: list[ApiKey]


# --- administering ---------------------------------------------------------------------------


def _key_audit(key: ApiKey) -> dict[str, object]:
    """What the audit log keeps of a key: never its hash."""
    return {"id": key.id, "account_id": key.account_id, "prefix": key.prefix,
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}


def _make_key(session: Session, actor: Actor, account_id: int, now: datetime) -> NewKey:
    for _ in range(5):  # 32**8 prefixes: a clash is rare, two in a row rarer still
        key, prefix = new_api_key()
        if session.exec(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            break
    row = ApiKey(account_id=account_id, prefix=prefix, key_hash=key_hash(key),
                 created_by=actor.account_id, created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="api_key.create",
                 object_type="api_key", object_id=row.id, at=now, after=_key_audit(row))
    return NewKey(row=row, key=key)


def create_service_account(session: Session, actor: Actor, name: str, org_id: int,
                           access: ServiceAccess, note: str, now: datetime
                           ) -> tuple[ServiceAccountView, NewKey]:
    """A new service account and its first key (administrators only)."""
    require_admin(actor)
    name, note = name.strip(), note.strip()
    if not USERNAME.match(name):
        raise Invalid("The name is 2 to 64 letters, digits and _ . @ - (it is the account's "
                      "username, as GET /api/v1/me answers it).", "bad_name")
    if len(note) > NOTE_MAX or bad_character(note, one_line=True):
        raise Invalid(f"The note is one line of at most {NOTE_MAX} characters.", "bad_note")
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound(f"Organisation {org_id} does not exist.")
    if username_taken(session, name):
        raise WorkflowConflict(f"The name {name!r} is taken (by a person's or a service "
                               "account's username); choose another.", "username_taken")
    account = Account(username=name, password_hash=NO_PASSWORD, is_admin=False,
                      password_changed_at=now, created_at=now)
    session.add(account)
    session.flush()
    assert account.id is not None
    service = ServiceAccount(account_id=account.id, org_id=org_id, access=access, note=note,
                             created_by=actor.account_id, created_at=now)
    session.add(service)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="service_account.create",
                 object_type="service_account", object_id=account.id, at=now,
                 after={"username": name, "org_id": org_id, "access": str(access),
                        "note": note})
    first = _make_key(session, actor, account.id, now)
    return ServiceAccountView(account, service, org, [first.row]), first


def add_key(session: Session, actor: Actor, account_id: int, now: datetime) -> NewKey:
    """Another key for the service account (to rotate: add, switch the program, revoke)."""
    view = get_service_account(session, actor, account_id)
    live = [k for k in view.keys if k.revoked_at is None]
    if len(live) >= LIVE_KEYS_MAX:
        raise WorkflowConflict(f"{view.account.username} has {len(live)} keys in use; revoke "
                               "one before adding another.", "too_many_keys")
    return _make_key(session, actor, account_id, now)


def revoke_key(session: Session, actor: Actor, key_id: int, now: datetime) -> ApiKey:
    """Revoke a key for good: from now on it is refused (401 invalid_token)."""
    require_admin(actor)
    key = session.get(ApiKey, key_id, with_for_update=True)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist.")
    if key.revoked_at is not None:
        raise WorkflowConflict(f"API key {key.prefix} was revoked already, on "
                               f"{key.revoked_at:%Y-%m-%d %H:%M} UTC.", "key_revoked")
    before = _key_audit(key)
    key.revoked_at, key.revoked_by = now, actor.account_id
    session.add(key)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="api_key.revoke",
                 object_type="api_key", object_id=key.id, at=now, before=before,
                 after=_key_audit(key))
    return key


def _keys_of(session: Session, account_ids: list[int]) -> dict[int, list[ApiKey]]:
    found: dict[int, list[ApiKey]] = {i: [] for i in account_ids}
    if account_ids:
        for key in session.exec(select(ApiKey).where(col(ApiKey.account_id).in_(account_ids))
                                .order_by(col(ApiKey.id))).all():
            found[key.account_id].append(key)
    return found


_VIEW = (select(Account, ServiceAccount, Org)
         .join(ServiceAccount, col(ServiceAccount.account_id) == Account.id)
         .join(Org, col(Org.id) == ServiceAccount.org_id))


def list_service_accounts(session: Session, actor: Actor) -> list[ServiceAccountView]:
    """Every service account with its keys, by name (administrators only)."""
    require_admin(actor)
    rows = session.exec(_VIEW.order_by(col(Account.username))).all()
    keys = _keys_of(session, [a.id or 0 for a, _, _ in rows])
    return [ServiceAccountView(a, s, o, keys[a.id or 0]) for a, s, o in rows]


def get_service_account(session: Session, actor: Actor, account_id: int) -> ServiceAccountView:
    require_admin(actor)
    row = session.exec(_VIEW.where(col(Account.id) == account_id)).first()
    if row is None:
        raise NotFound(f"Service account {account_id} does not exist.")
    account, service, org = row
    return ServiceAccountView(account, service, org, _keys_of(session, [account_id])[account_id])


def is_service_account(session: Session, account_id: int) -> bool:
    return session.get(ServiceAccount, account_id) is not None


# --- a key on a request ------------------------------------------------------------------------

# Built once: every request with a key runs it. One statement: the key, its account's
# scope and the organisation's path.
_KEY = (
    sa.select(col(ApiKey.id), col(ApiKey.key_hash), col(ApiKey.revoked_at),
              col(ApiKey.last_used_at), col(Account.id), col(Account.username),
              col(ServiceAccount.access), col(Org.id), col(Org.path))
    .join(ServiceAccount, col(ServiceAccount.account_id) == ApiKey.account_id)
    .join(Account, col(Account.id) == ServiceAccount.account_id)
    .join(Org, col(Org.id) == ServiceAccount.org_id)
    .where(col(ApiKey.prefix) == sa.bindparam("prefix"))
)


@dataclass(frozen=True)
class KeyUse:
    """The service account a key speaks for, and whether its last_used_at is due (the key's
    id then: note_use it once the request has done its work)."""

    actor: Actor
    note_key: int | None


def key_actor(session: Session, key: str, now: datetime) -> KeyUse | None:
    """The service account a key speaks for, as an Actor; None for anything but a key this
    app made and has not revoked."""
    prefix = key_prefix(key)
    row = session.execute(_KEY, {"prefix": prefix}).first() if prefix else None
    if row is None:
        key_matches(key, "0" * 64)  # as long as a wrong key of a known prefix
        return None
    key_id, stored, revoked_at, last_used, account_id, username, access, org_id, path = row
    if not key_matches(key, stored) or revoked_at is not None:
        return None
    actor = Actor(account_id=account_id, username=username, is_admin=False,
                  committee_paths=(path,), committee_org_ids=(org_id,), service=True,
                  read_only=access != ServiceAccess.read_write)
    due = last_used is None or now - last_used >= LAST_USED_EVERY
    return KeyUse(actor, key_id if due else None)


def note_use(session: Session, key_id: int, now: datetime) -> None:
    """last_used_at, at most once a minute per key, best effort. Asked at the end of the
    request, just before its commit, so the row (and on SQLite the database's write lock)
    is held a moment, not through a long read; a reading request on SQLite that finds the
    lock taken, or its snapshot overtaken, leaves it to the next request."""
    try:
        with session.begin_nested():
            session.execute(sa.update(ApiKey).where(
                col(ApiKey.id) == key_id,
                sa.or_(col(ApiKey.last_used_at).is_(None),
                       col(ApiKey.last_used_at) <= now - LAST_USED_EVERY))
                .values(last_used_at=now).execution_options(synchronize_session=False))
    except OperationalError:
        pass
