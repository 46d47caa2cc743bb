"""API keys, short-lived JWTs, and roles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy.orm import Session

from voxguard.config import Settings
from voxguard.errors import ApiKeyNotFound, InvalidCredentials, InvalidInput, PermissionDenied
from voxguard.services.schemas import ApiKeyCreated, ApiKeyOut, Role, TokenOut
from voxguard.store.api_keys import ApiKeyRepository
from voxguard.store.audit import AuditRepository
from voxguard.store.db import first_start_lock, unit_of_work
from voxguard.store.models import ApiKey, utcnow
from voxguard.store.setup import Store

KEY_PREFIX = "vg_"
_ALGORITHM = "HS256"
_RANK = {Role.READER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    key_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"key:{self.name}({self.key_id[:8]})"

    def require(self, role: Role) -> None:
        if _RANK[self.role] < _RANK[role]:
            raise PermissionDenied(
                f"This needs the {role} role; the key {self.name!r} is {self.role}.",
                required=str(role),
            )


LOCAL_ADMIN = Principal(key_id="local", name="cli", role=Role.ADMIN)


def hash_key(raw: str) -> str:
    # API keys carry 256 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class AuthService:
    def __init__(self, session: Session, settings: Settings, actor: str = "system") -> None:
        self.keys = ApiKeyRepository(session)
        self.audit = AuditRepository(session)
        self.settings = settings
        self.actor = actor

    def create_key(self, name: str, role: Role) -> ApiKeyCreated:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("A key name of 1 to 200 characters is required.")
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        row = self.keys.add(ApiKey(name=name, prefix=raw[:10], key_hash=hash_key(raw), role=role))
        self.audit.record(self.actor, "create", "api_key", row.id, name=name, role=str(role))
        return ApiKeyCreated(key=raw, **ApiKeyOut.model_validate(row).model_dump())

    def ensure_admin_key(self) -> ApiKeyCreated | None:
        """On an empty key table, create the first admin key (its secret is shown once)."""
        if self.keys.count() > 0:
            return None
        return self.create_key("admin", Role.ADMIN)

    def list_keys(self) -> list[ApiKeyOut]:
        return [ApiKeyOut.model_validate(r) for r in self.keys.list()]

    def revoke(self, key_id: str) -> ApiKeyOut:
        row = self.keys.get(key_id)
        if row is None:
            matches = [k for k in self.keys.list() if k.prefix == key_id or k.name == key_id]
            row = matches[0] if len(matches) == 1 else None
        if row is None:
            raise ApiKeyNotFound(f"No API key with id, prefix or name {key_id!r}.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self.audit.record(self.actor, "revoke", "api_key", row.id, name=row.name)
        self.keys.session.flush()
        return ApiKeyOut.model_validate(row)

    def authenticate(self, credential: str) -> Principal:
        """An API key or an access token issued for one; revoked keys fail either way."""
        if credential.startswith(KEY_PREFIX):
            row = self.keys.by_hash(hash_key(credential))
        else:
            row = self.keys.get(self._token_subject(credential))
        if row is None or row.revoked_at is not None:
            raise InvalidCredentials("The API key or token is not valid (or was revoked).")
        row.last_used_at = utcnow()
        return Principal(key_id=row.id, name=row.name, role=Role(row.role))

    def issue_token(self, principal: Principal) -> TokenOut:
        now = utcnow()
        ttl = self.settings.jwt_ttl_s
        claims = {
            "sub": principal.key_id,
            "role": str(principal.role),
            "iat": now,
            "exp": now + timedelta(seconds=ttl),
            "typ": "access",
        }
        token = jwt.encode(claims, self.settings.jwt_secret, algorithm=_ALGORITHM)
        return TokenOut(access_token=token, expires_in=ttl)

    def _token_subject(self, token: str) -> str:
        try:
            claims = jwt.decode(
                token,
                self.settings.jwt_secret,
                algorithms=[_ALGORITHM],
                options={"require": ["sub", "exp", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidCredentials("The access token has expired; request a new one.") from exc
        except jwt.PyJWTError as exc:
            raise InvalidCredentials("The API key or token is not valid.") from exc
        if claims.get("typ") != "access":
            raise InvalidCredentials("The token is not an access token.")
        return str(claims["sub"])


def bootstrap_admin_key(store: Store, settings: Settings) -> str | None:
    """Create and announce the first admin key on an empty database; None if keys exist."""
    # One admin key even when several hosts start at once on an empty database.
    with first_start_lock(store.engine), unit_of_work(store.sessions) as session:
        created = AuthService(session, settings, "bootstrap").ensure_admin_key()
    if created is None:
        return None
    print(
        "\n  VoxGuard created the first admin API key. It is shown only this once:\n\n"
        f"    {created.key}\n\n"
        "  Use it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.\n",
        flush=True,
    )
    return created.key
