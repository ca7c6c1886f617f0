"""Shared FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openqpu.service.api.ratelimit import admit
from openqpu.service.settings import Settings
from openqpu.service.store.accounts import AuthenticationFailed, Principal, authenticate
from openqpu.service.store.database import Database

_bearer = HTTPBearer(auto_error=False, description="An API key: 'oqk_<id>_<secret>'")


async def get_db(request: Request) -> Database:
    """The app's database."""
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return request.app.state.settings


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``."""
    if credentials is None:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer <key>'")
    # Checked against the database on every request, so a revoked key stops at once.
    # One indexed read: cheaper on the event loop than a hop to a thread.
    with request.app.state.db.connect() as conn:
        principal = authenticate(conn, credentials.credentials)
    admit(request, principal)
    return principal


async def admin_user(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    """The caller, who must be an administrator."""
    if not principal.is_admin:
        from openqpu.service.api.errors import PermissionDenied

        raise PermissionDenied("this endpoint is for administrators")
    return principal


DatabaseDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CurrentUser = Annotated[Principal, Depends(current_user)]
AdminUser = Annotated[Principal, Depends(admin_user)]
