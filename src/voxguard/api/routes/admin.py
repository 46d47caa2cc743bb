"""Operations: housekeeping (admin)."""

from __future__ import annotations

from fastapi import APIRouter

from voxguard.api.deps import AdminDep, RuntimeDep, SessionDep
from voxguard.services.prune import PruneService
from voxguard.services.prune_schemas import PruneOptions, PruneReport

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/prune")
def prune(
    runtime: RuntimeDep,
    session: SessionDep,
    principal: AdminDep,
    body: PruneOptions | None = None,
) -> PruneReport:
    """Delete finished jobs' files older than the retention, the files of model versions no
    longer needed, and orphaned kept enrollment recordings (all of them with
    ``purge_kept_audio``); ``dry_run`` lists what would go. Files are deleted once the
    records have changed; audit-logged (409 ``prune_refused`` when asked to purge kept
    recordings still in use)."""
    return PruneService(session, runtime.settings, principal.actor).prune(body or PruneOptions())
