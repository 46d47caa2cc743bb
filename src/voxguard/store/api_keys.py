"""API keys: only hashes are stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from voxguard.store.models import ApiKey
from voxguard.store.repository import Repository


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return self.session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()

    def list(self) -> Sequence[ApiKey]:
        return self.session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)).all()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(ApiKey)) or 0
