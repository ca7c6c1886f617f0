"""Accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from openqpu.service.api.deps import AdminUser, DatabaseDep, SettingsDep
from openqpu.service.clock import utcnow
from openqpu.service.schemas import UserPublic
from openqpu.service.store import accounts, jobs

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
def list_users(db: DatabaseDep, settings: SettingsDep, _admin: AdminUser) -> list[UserPublic]:
    """Every account with its active keys and its use of the quotas."""
    with db.read() as session:
        usage = jobs.usage_by_user(session, utcnow().date())
        return [
            UserPublic(
                id=user.id,
                name=user.name,
                country=user.country,
                role=user.role,
                created_at=user.created_at,
                active_keys=keys,
                active_jobs=usage.get(user.id, (0, 0))[0],
                shots_today=usage.get(user.id, (0, 0))[1],
                max_active_jobs=settings.max_queued_jobs_per_user,
                max_shots_per_day=settings.max_shots_per_day,
            )
            for user, keys in accounts.list_users(session)
        ]
