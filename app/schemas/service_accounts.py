"""Service accounts and their API keys (docs/api/keys.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.models import ServiceAccess
from app.schemas import Body, FromText, Id, OneLine
from app.services.member_import import USERNAME_PATTERN


class ServiceAccountCreate(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"name": "city-platform", "org_id": 1, "access": "read", "note": "市大数据平台"}]})

    name: Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)] = Field(description=(
        "2 to 64 letters, digits and _ . @ -: the account's username (GET /api/v1/me), "
        "unique among all accounts."))
    org_id: Id = Field(description="The organisation whose subtree the keys may read (and, "
                                   "read-write, change) as its committee would.")
    access: Annotated[ServiceAccess, FromText] = Field(description=(
        "`read`: GET only (anything else is 403 `read_only_key`); `read-write`: what a "
        "committee of the organisation may do, but never in a disposal case or a ballot."))
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200),
                    OneLine] = Field(default="", description="Who uses it, for what.")


class ApiKeyOut(BaseModel):
    id: int
    prefix: str = Field(description="The key's public part (`jfk_<prefix>_...`): how an "
                                    "administrator tells keys apart. The key itself is "
                                    "never shown again.")
    created_at: datetime
    last_used_at: datetime | None = Field(description=(
        "Last accepted request with the key (noted at most once a minute); null: unused."))
    revoked_at: datetime | None = Field(description="Null while the key works.")


class ServiceAccountOut(BaseModel):
    id: int = Field(description="The service account's account id (as created_by and the "
                                "audit log name it).")
    name: str
    org_id: int
    org_name: str
    access: ServiceAccess
    note: str
    created_at: datetime
    keys: list[ApiKeyOut]


class NewKeyOut(BaseModel):
    """A new key: shown in this answer only (Cache-Control: no-store)."""

    key: str = Field(description="Send it as `Authorization: Bearer <key>`. Shown only in "
                                 "this answer: only its SHA-256 is kept.")
    key_id: int
    prefix: str
    service_account_id: int


class ServiceAccountCreatedOut(BaseModel):
    service_account: ServiceAccountOut
    api_key: NewKeyOut
