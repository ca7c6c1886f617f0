"""Users and API keys: creation, lookup, revocation and authentication."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from openqpu.errors import OpenQPUError
from openqpu.service.clock import utcnow
from openqpu.service.store import aggregates, keys
from openqpu.service.store.models import ApiKey, Role, User


class AuthenticationFailed(OpenQPUError):
    """The request carries no valid API key."""


class NotFound(OpenQPUError):
    """A user, key or job does not exist (or is not the caller's to see)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    name: str
    role: str
    key_id: str

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == Role.ADMIN.value


def _valid_country(country: str) -> str:
    code = country.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"country: expected a two-letter ISO 3166 code, got {country!r}")
    return code


def add_user(session: Session, name: str, country: str, *, admin: bool = False) -> User:
    """Create a user; the name must be new."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ValueError("name: must be 1 to 64 characters")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise ValueError(f"name: a user called {name!r} already exists")
    role = Role.ADMIN if admin else Role.USER
    user = User(name=name, country=_valid_country(country), role=role.value, created_at=utcnow())
    session.add(user)
    session.flush()
    aggregates.count_account(session, user.country, user.created_at.date(), 1)
    return user


def find_user(session: Session, name: str) -> User:
    """The user called ``name``."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user called {name!r}")
    return user


def issue_key(session: Session, user: User) -> str:
    """Make a key for ``user`` and return the token (shown once)."""
    made = keys.new_key()
    session.add(
        ApiKey(
            key_id=made.key_id, user_id=user.id, secret_hash=made.secret_hash, created_at=utcnow()
        )
    )
    session.flush()
    return made.token


def revoke_key(session: Session, key_id: str) -> None:
    """Revoke a key by its id (the part after ``oqk_``); it stops working at once."""
    if key_id.startswith(f"{keys.PREFIX}_"):
        parsed = keys.split_token(key_id)
        key_id = parsed[0] if parsed else key_id
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"no API key with id {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()


_KEYS = ApiKey.__table__
_USERS = User.__table__
# Built once: SQLAlchemy reuses its compiled form on every request.
_KEY_OWNER = (
    select(_KEYS.c.secret_hash, _KEYS.c.revoked_at, _USERS.c.id, _USERS.c.name, _USERS.c.role)
    .join(_USERS, _USERS.c.id == _KEYS.c.user_id)
    .where(_KEYS.c.key_id == bindparam("key_id"))
)


def authenticate(conn: Connection | Session, token: str) -> Principal:
    """The caller a bearer token belongs to (checked against the database every time)."""
    parsed = keys.split_token(token)
    if parsed is None:
        raise AuthenticationFailed("malformed API key: expected 'oqk_<id>_<secret>'")
    key_id, secret = parsed
    row = conn.execute(_KEY_OWNER, {"key_id": key_id}).first()
    # The hash is compared even when the key is unknown, so timing does not tell.
    stored = row.secret_hash if row else keys.hash_secret("")
    if not keys.secret_matches(secret, stored) or row is None or row.revoked_at is not None:
        raise AuthenticationFailed("invalid or revoked API key")
    return Principal(row.id, row.name, row.role, key_id)


def count_users(session: Session) -> int:
    """Number of accounts."""
    return int(session.scalar(select(func.count(User.id))) or 0)


def list_users(session: Session) -> list[tuple[User, int]]:
    """Every user with the number of active keys."""
    active = (
        select(ApiKey.user_id, func.count(ApiKey.key_id).label("n"))
        .where(ApiKey.revoked_at.is_(None))
        .group_by(ApiKey.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.user_id == User.id)
        .order_by(User.id)
    ).all()
    return [(user, int(n)) for user, n in rows]
