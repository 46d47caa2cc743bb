"""Access tokens, API key management and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from voxguard.api.deps import AdminDep, RuntimeDep, SessionDep, credential_of
from voxguard.errors import InvalidCredentials
from voxguard.services.audit import list_audit
from voxguard.services.auth import KEY_PREFIX, AuthService
from voxguard.services.schemas import ApiKeyCreated, ApiKeyOut, AuditOut, Role, TokenOut

router = APIRouter(prefix="/v1", tags=["auth"])


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.READER


@router.post("/auth/token")
def token(request: Request, session: SessionDep, runtime: RuntimeDep) -> TokenOut:
    """A short-lived access token (JWT) for the API key in the request's credentials."""
    credential = credential_of(request)
    if not credential.startswith(KEY_PREFIX):
        raise InvalidCredentials("Send an API key (not a token) to obtain an access token.")
    service = AuthService(session, runtime.settings)
    principal = service.authenticate(credential)
    runtime.limiter.hit(principal.key_id)
    return service.issue_token(principal)


@router.post("/keys", status_code=status.HTTP_201_CREATED)
def create_key(
    body: KeyCreate, session: SessionDep, runtime: RuntimeDep, principal: AdminDep
) -> ApiKeyCreated:
    return AuthService(session, runtime.settings, principal.actor).create_key(body.name, body.role)


@router.get("/keys")
def list_keys(session: SessionDep, runtime: RuntimeDep, principal: AdminDep) -> list[ApiKeyOut]:
    return AuthService(session, runtime.settings, principal.actor).list_keys()


@router.delete("/keys/{key_id}")
def revoke_key(
    key_id: str, session: SessionDep, runtime: RuntimeDep, principal: AdminDep
) -> ApiKeyOut:
    return AuthService(session, runtime.settings, principal.actor).revoke(key_id)


@router.get("/audit")
def audit_log(
    session: SessionDep,
    principal: AdminDep,
    entity_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Every change (enrollments, deletions, alert triage, keys), newest first."""
    return list_audit(session, entity_id, limit)
