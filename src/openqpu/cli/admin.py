"""``openqpu user`` and ``openqpu key``: accounts, managed on the database directly."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openqpu.service.store.database import Database


def add_admin_commands(commands: argparse._SubParsersAction) -> None:
    """``user add|list`` and ``key new|revoke``."""
    user = commands.add_parser("user", help="manage accounts (on the server's database)")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="create a user and print their first API key")
    add.add_argument("name")
    add.add_argument("--country", required=True, help="ISO 3166 two-letter code, e.g. CN")
    add.add_argument("--admin", action="store_true", help="make an administrator")
    add.add_argument("--db", dest="database_url", default=None)
    add.set_defaults(handler=_user_add)
    listing = user_commands.add_parser("list", help="list users")
    listing.add_argument("--db", dest="database_url", default=None)
    listing.set_defaults(handler=_user_list)
    remove = user_commands.add_parser(
        "delete", help="remove a user with their keys, jobs and results"
    )
    remove.add_argument("name")
    remove.add_argument("--db", dest="database_url", default=None)
    remove.set_defaults(handler=_user_delete)
    export = commands.add_parser(
        "export", help="write all jobs, results, users and calibration history as JSON Lines"
    )
    export.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    export.add_argument("--db", dest="database_url", default=None)
    export.set_defaults(handler=_export)
    upkeep = commands.add_parser(
        "maintenance",
        help="fold the statistics, archive old results (OPENQPU_RESULT_RETENTION_DAYS), "
        "tidy the database",
    )
    upkeep.add_argument("--db", dest="database_url", default=None)
    upkeep.add_argument(
        "--retention-days",
        type=float,
        default=None,
        help="archive results of jobs finished more than this many days ago (0: keep)",
    )
    upkeep.add_argument("--archive-dir", default=None, help="folder of the JSON Lines archives")
    upkeep.add_argument(
        "--delete", action="store_true", help="delete old results instead of archiving them"
    )
    upkeep.add_argument(
        "--every", type=float, default=0.0, help="run again every this many seconds (0: once)"
    )
    upkeep.set_defaults(handler=_maintenance)
    key = commands.add_parser("key", help="manage API keys (on the server's database)")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    new = key_commands.add_parser("new", help="make another API key for a user")
    new.add_argument("name", help="user name")
    new.add_argument("--db", dest="database_url", default=None)
    new.set_defaults(handler=_key_new)
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id or the whole key")
    revoke.add_argument("key")
    revoke.add_argument("--db", dest="database_url", default=None)
    revoke.set_defaults(handler=_key_revoke)


def _database(args: argparse.Namespace) -> Database:
    from openqpu.service.settings import Settings
    from openqpu.service.store.database import Database

    database = Database(Settings.from_env(database_url=args.database_url).database_url)
    database.migrate()
    return database


def _fail(exc: Exception) -> int:
    print(f"openqpu: {exc}", file=sys.stderr)
    return 1


def _user_delete(args: argparse.Namespace) -> int:
    from openqpu.service.store.accounts import NotFound
    from openqpu.service.store.export import delete_user

    try:
        removed = delete_user(_database(args), args.name)
    except NotFound as exc:
        return _fail(exc)
    summary = ", ".join(f"{count} {what}" for what, count in removed.items())
    print(f"deleted user {args.name} ({summary})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from openqpu.service.store.export import write_jsonl

    database = _database(args)
    try:
        if args.output == "-":
            counts = write_jsonl(database, sys.stdout)
        else:
            with open(args.output, "w", encoding="utf-8") as out:
                counts = write_jsonl(database, out)
    except OSError as exc:
        return _fail(exc)
    summary = ", ".join(f"{count} {kind}s" for kind, count in counts.items()) or "nothing"
    print(f"exported {summary}", file=sys.stderr)
    return 0


def _user_add(args: argparse.Namespace) -> int:
    from openqpu.service.store import accounts

    try:
        with _database(args).write() as session:
            user = accounts.add_user(session, args.name, args.country, admin=args.admin)
            token = accounts.issue_key(session, user)
    except (ValueError, accounts.NotFound) as exc:
        return _fail(exc)
    print(f"created {user.role} {user.name} ({user.country})")
    print(f"API key (shown once): {token}")
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from openqpu.service.store import accounts

    with _database(args).read() as session:
        rows = accounts.list_users(session)
    print(f"{'id':>4}  {'name':<24} {'country':<7} {'role':<6} {'keys':>4}")
    for user, keys in rows:
        print(f"{user.id:>4}  {user.name:<24} {user.country:<7} {user.role:<6} {keys:>4}")
    return 0


def _key_new(args: argparse.Namespace) -> int:
    from openqpu.service.store import accounts

    try:
        with _database(args).write() as session:
            token = accounts.issue_key(session, accounts.find_user(session, args.name))
    except accounts.NotFound as exc:
        return _fail(exc)
    print(f"API key for {args.name} (shown once): {token}")
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    from openqpu.service.store import accounts

    try:
        with _database(args).write() as session:
            accounts.revoke_key(session, args.key)
    except accounts.NotFound as exc:
        return _fail(exc)
    print("revoked")
    return 0


def _maintenance(args: argparse.Namespace) -> int:
    import time

    from openqpu.service.settings import Settings
    from openqpu.service.store.database import Database
    from openqpu.service.store.retention import maintain

    try:
        settings = Settings.from_env(
            database_url=args.database_url,
            result_retention_days=args.retention_days,
            retention_archive_dir=args.archive_dir,
            retention_delete=1 if args.delete else None,
        )
    except ValueError as exc:
        return _fail(exc)
    database = Database(settings.database_url)
    database.migrate()
    while True:
        report = maintain(database, settings)
        kept = report.retention
        where = f" to {kept.archive}" if kept.archive else " (deleted)"
        moved = (
            f"{kept.results} results and {kept.events} events of {kept.jobs} jobs{where}"
            if kept.jobs
            else "no results due"
            if settings.result_retention_days > 0
            else "no retention period set"
        )
        print(
            f"maintenance: {report.deltas_folded} statistics deltas folded; {moved}; "
            f"{report.visits_pruned} old visitor rows dropped; "
            f"{report.sqlite_pages_freed} SQLite pages freed"
        )
        for note in report.notes:
            print(f"  note: {note}")
        sys.stdout.flush()
        if args.every <= 0:
            return 0
        time.sleep(args.every)
