"""First start: make an administrator so that someone can sign in.

The administrator's key is written to an owner-only file under the data directory
(``admin-key``), never to a log: ``openqpu serve`` shows it on a terminal only.
"""

from __future__ import annotations

import os
from pathlib import Path

from openqpu.service.settings import Settings
from openqpu.service.store import accounts
from openqpu.service.store.database import Database, normalise_url

ADMIN_KEY_FILE = "admin-key"


def ensure_admin(db: Database) -> str | None:
    """Create user ``admin`` with a key when there are no users; return the key or None."""
    with db.write() as session:
        if accounts.count_users(session) > 0:
            return None
        country = os.environ.get("OPENQPU_ADMIN_COUNTRY", "ZZ")
        admin = accounts.add_user(session, "admin", country, admin=True)
        return accounts.issue_key(session, admin)


def data_directory(settings: Settings) -> Path:
    """Where the server keeps its files: ``data_dir``, else the SQLite file's folder, else var/."""
    if settings.data_dir:
        return Path(settings.data_dir)
    url = normalise_url(settings.database_url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            return Path(path).parent
    return Path("var")


def save_admin_key(settings: Settings, key: str) -> Path:
    """Write ``key`` to ``<data dir>/admin-key`` (folder 0700 when made, file 0600); its path."""
    folder = data_directory(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / ADMIN_KEY_FILE
    descriptor = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    os.fchmod(descriptor, 0o600)  # a file left by an earlier run may have had other modes
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return path
