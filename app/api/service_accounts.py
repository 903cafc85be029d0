"""Service accounts and their API keys, for administrators (docs/api/keys.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import JSONResponse

from app.api.deps import CurrentActor, errors
from app.clock import ClockDep
from app.db import SessionDep
from app.models import ApiKey
from app.present.headers import NO_STORE
from app.schemas import MAX_ID
from app.schemas.service_accounts import (
    ApiKeyOut,
    NewKeyOut,
    ServiceAccountCreate,
    ServiceAccountCreatedOut,
    ServiceAccountOut,
)
from app.services import service_accounts
from app.services.service_accounts import NewKey, ServiceAccountView

router = APIRouter(tags=["service-accounts"])

ADMIN_ONLY: dict[int, tuple[str, ...]] = {403: ("admin_only",)}
AccountId = Annotated[int, Path(ge=1, le=MAX_ID, description="The service account's id.")]
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The key's id (`keys[].id`).")]


def key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(id=key.id or 0, prefix=key.prefix, created_at=key.created_at,
                     last_used_at=key.last_used_at, revoked_at=key.revoked_at)


def account_out(view: ServiceAccountView) -> ServiceAccountOut:
    return ServiceAccountOut(
        id=view.account.id or 0, name=view.account.username, org_id=view.org.id or 0,
        org_name=view.org.name, access=view.service.access, note=view.service.note,
        created_at=view.service.created_at, keys=[key_out(k) for k in view.keys])


def new_key_out(made: NewKey) -> NewKeyOut:
    return NewKeyOut(key=made.key, key_id=made.row.id or 0, prefix=made.row.prefix,
                     service_account_id=made.row.account_id)


def _once(body: ServiceAccountCreatedOut | NewKeyOut) -> JSONResponse:
    """A new key is in it: 201, and no cache keeps a copy."""
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_201_CREATED,
                        headers=NO_STORE)


@router.post("/service-accounts", status_code=status.HTTP_201_CREATED,
             response_model=ServiceAccountCreatedOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 **ADMIN_ONLY, 409: ("username_taken",),
                 422: ("validation_error", "bad_name", "bad_note")}))
def create_service_account(body: ServiceAccountCreate, session: SessionDep,
                           actor: CurrentActor, clock: ClockDep) -> JSONResponse:
    """Create a service account and its first API key (administrators).

    The key (`api_key.key`) is in this answer only: store it in the program that uses it.
    It acts on the organisation's subtree as its committee would (`read`: GET only), never
    as an administrator, and takes no part in disposal cases or ballots."""
    view, first = service_accounts.create_service_account(
        session, actor, body.name, body.org_id, body.access, body.note, clock.now())
    return _once(ServiceAccountCreatedOut(service_account=account_out(view),
                                          api_key=new_key_out(first)))


@router.get("/service-accounts", response_model=list[ServiceAccountOut],
            responses=errors(401, 403, codes=ADMIN_ONLY))
def list_service_accounts(session: SessionDep, actor: CurrentActor,
                          response: Response) -> list[ServiceAccountOut]:
    """Every service account with its keys (prefix, created, last used, revoked), by name
    (administrators)."""
    response.headers.update(NO_STORE)
    return [account_out(v) for v in service_accounts.list_service_accounts(session, actor)]


@router.get("/service-accounts/{account_id}", response_model=ServiceAccountOut,
            responses=errors(401, 403, 404, 422, codes=ADMIN_ONLY))
def read_service_account(session: SessionDep, actor: CurrentActor, response: Response,
                         account_id: AccountId) -> ServiceAccountOut:
    """One service account with its keys (administrators)."""
    response.headers.update(NO_STORE)
    return account_out(service_accounts.get_service_account(session, actor, account_id))


@router.post("/service-accounts/{account_id}/keys", status_code=status.HTTP_201_CREATED,
             response_model=NewKeyOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 **ADMIN_ONLY, 409: ("too_many_keys",)}))
def add_key(session: SessionDep, actor: CurrentActor, clock: ClockDep,
            account_id: AccountId) -> JSONResponse:
    """Add another key (to rotate: add one, switch the program to it, revoke the old one).

    The key is in this answer only. At most 5 keys in use at once (409 `too_many_keys`)."""
    return _once(new_key_out(service_accounts.add_key(session, actor, account_id,
                                                      clock.now())))


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 **ADMIN_ONLY, 409: ("key_revoked",)}))
def revoke_key(session: SessionDep, actor: CurrentActor, clock: ClockDep, response: Response,
               key_id: KeyId) -> ApiKeyOut:
    """Revoke a key, for good: from now on it is refused (401 `invalid_token`); 409
    `key_revoked` if it was already."""
    response.headers.update(NO_STORE)
    return key_out(service_accounts.revoke_key(session, actor, key_id, clock.now()))
