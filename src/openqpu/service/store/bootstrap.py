"""First start: make an administrator so that someone can sign in."""

from __future__ import annotations

import os

from openqpu.service.store import accounts
from openqpu.service.store.database import Database


def ensure_admin(db: Database) -> str | None:
    """Create user ``admin`` with a key when there are no users; return the key or None."""
    with db.write() as session:
        if accounts.count_users(session) > 0:
            return None
        country = os.environ.get("OPENQPU_ADMIN_COUNTRY", "ZZ")
        admin = accounts.add_user(session, "admin", country, admin=True)
        return accounts.issue_key(session, admin)
