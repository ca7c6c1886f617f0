"""Accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from openqpu.service import accounts
from openqpu.service.deps import AdminUser, DatabaseDep
from openqpu.service.schemas import UserPublic

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
def list_users(db: DatabaseDep, _admin: AdminUser) -> list[UserPublic]:
    """Every account with its number of active keys."""
    with db.read() as session:
        return [
            UserPublic(
                id=user.id,
                name=user.name,
                country=user.country,
                role=user.role,
                created_at=user.created_at,
                active_keys=keys,
            )
            for user, keys in accounts.list_users(session)
        ]
