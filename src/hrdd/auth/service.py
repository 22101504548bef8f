"""Keys: made random, shown once, stored as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hrdd.auth.models import ApiKey, Organisation
from hrdd.errors import Conflict, Invalid, NotFound
from hrdd.vocab import Role

KEY_PREFIX = "hrdd"
# Writing last_used_at on every request would turn every read into a write; a minute's
# resolution is enough to tell an active key from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_ROLE_RANK = {Role.investor: 0, Role.analyst: 1, Role.admin: 2}


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    key_name: str
    role: Role
    organisation_id: uuid.UUID
    organisation_name: str

    def has_role(self, needed: Role) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[needed]


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def generate_key() -> tuple[str, str, str]:
    """Return (full key, lookup prefix, hash of the secret). 256 random bits in the secret."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}_{prefix}_{secret}", prefix, _hash_secret(secret)


def create_organisation(session: Session, name: str) -> Organisation:
    name = name.strip()
    if not name:
        raise Invalid.at("name", "must not be empty")
    if session.scalar(select(Organisation).where(Organisation.name == name)) is not None:
        raise Conflict(f"an organisation named {name!r} exists already")
    org = Organisation(name=name)
    session.add(org)
    session.flush()
    return org


def find_organisation(session: Session, name_or_id: str) -> Organisation:
    try:
        org = session.get(Organisation, uuid.UUID(name_or_id))
    except ValueError:
        org = session.scalar(select(Organisation).where(Organisation.name == name_or_id))
    if org is None:
        raise NotFound(f"no organisation {name_or_id!r}")
    return org


def create_key(
    session: Session,
    organisation_id: uuid.UUID,
    name: str,
    role: Role,
    created_by: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    full_key, prefix, secret_hash = generate_key()
    key = ApiKey(
        organisation_id=organisation_id,
        name=name,
        role=role,
        prefix=prefix,
        secret_hash=secret_hash,
        created_by_key_id=created_by,
    )
    session.add(key)
    session.flush()
    return key, full_key


def authenticate(session: Session, presented: str) -> tuple[Principal, datetime | None] | None:
    """The principal for a presented key and when its use was last recorded, or None.
    ``session`` must be a system session; it only reads."""
    split = _split_key(presented)
    if split is None:
        return None
    prefix, secret = split
    row = session.execute(
        select(ApiKey, Organisation)
        .join(Organisation, Organisation.id == ApiKey.organisation_id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if row is None:
        # Spend the same hashing work as a real check so timing does not tell prefixes apart.
        hmac.compare_digest(_hash_secret(secret), _hash_secret(secret[::-1]))
        return None
    key, org = row
    if not hmac.compare_digest(key.secret_hash, _hash_secret(secret)) or key.revoked_at:
        return None
    principal = Principal(
        key_id=key.id,
        key_name=key.name,
        role=Role(key.role),
        organisation_id=org.id,
        organisation_name=org.name,
    )
    return principal, key.last_used_at


def record_key_use(session: Session, key_id: uuid.UUID, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def revoke_key(session: Session, key_id: uuid.UUID, now: datetime) -> ApiKey:
    key = session.scalars(select(ApiKey).where(ApiKey.id == key_id)).first()
    if key is None:
        raise NotFound(f"no API key {key_id}")
    if key.revoked_at is None and key.role == Role.admin:
        # Two admins revoking each other's keys at once would both count the other's as still
        # active on PostgreSQL: they take turns on the organisation's row (SQLite writers
        # already do), and the key is read again once it is this one's turn.
        lock_organisation(session, key.organisation_id)
        session.refresh(key, ["revoked_at"])
    if key.revoked_at is None:
        if key.role == Role.admin and _active_admin_keys(session) <= 1:
            # Without an admin key nobody could make keys again except on the server's CLI.
            raise Conflict(
                f"API key {key_id} is the organisation's last admin key; create another admin "
                "key first, then revoke this one"
            )
        key.revoked_at = now
    return key


def lock_organisation(session: Session, organisation_id: uuid.UUID) -> None:
    """Lock the organisation's row for the transaction, so that on PostgreSQL two writers that
    read something of the organisation's and then act on it take turns (SQLite writers
    already do; SQLite has no FOR UPDATE, and none is sent). FOR NO KEY UPDATE: rows that
    point at the organisation (answers, scores, audit) are still inserted meanwhile."""
    session.execute(
        select(Organisation.id)
        .where(Organisation.id == organisation_id)
        .with_for_update(key_share=True)
    )


def _active_admin_keys(session: Session) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.role == Role.admin, ApiKey.revoked_at.is_(None))
        )
        or 0
    )
