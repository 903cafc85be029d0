"""The `jifen` command: serve, migrate, create-admin, demo, backup, restore, check."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from app.clock import current_clock
from app.db import get_engine, get_read_engine
from app.migrate import upgrade
from app.ops import configure_logging
from app.services.errors import DomainError
from app.settings import get_settings


def _migrate() -> None:
    upgrade(get_settings().database_url)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    _migrate()
    if args.demo and _load_demo(already_there_is_fine=True) != 0:
        return 1
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker counts its requests in a file there; /metrics, answered by any one
        # of them, sums them all (app/ops.py). Set before the workers start.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jifen-metrics-")
    # log_config=None: the app writes the log lines (app/ops.py), here for uvicorn's
    # start-up and in each worker from its start.
    configure_logging()
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, forwarded_allow_ips="*", log_config=None)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate()
    print("The database schema is up to date.")
    return 0


def _password(args: argparse.Namespace, command: str) -> str | None:
    """--password, or, without it, the password typed twice at a terminal (not echoed) or
    the first line of stdin: a password on the command line is seen by every user of the
    machine (`ps`) and kept in the shell's history. None (said why) when there is none."""
    if args.password is not None:
        return str(args.password)
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(f"Password for {args.username}: ")
        if getpass.getpass("The same again: ") != first:
            print(f"jifen {command}: the two passwords differ; nothing changed.",
                  file=sys.stderr)
            return None
        return first
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        print(f"jifen {command}: no password given (--password, or one line on stdin); "
              "nothing changed.", file=sys.stderr)
        return None
    return line


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.services.accounts import create_admin
    from app.services.passwords import check_policy

    password = _password(args, "create-admin")
    if password is None:
        return 2
    args.password = password
    try:
        check_policy(args.password, args.username)
    except DomainError as refused:
        print(f"jifen create-admin: {refused.detail}", file=sys.stderr)
        return 2
    _migrate()
    with Session(get_engine()) as session:
        create_admin(session, args.username, args.password, current_clock().now())
        session.commit()
    print(f"Administrator {args.username} created.")
    return 0


def cmd_set_password(args: argparse.Namespace) -> int:
    from app.services.passwords import set_password

    password = _password(args, "set-password")
    if password is None:
        return 2
    args.password = password
    with Session(get_engine()) as session:
        set_password(session, args.username, args.password, current_clock().now())
        session.commit()
    print(f"New password set for {args.username}; their sessions and tokens are logged out.")
    return 0


def _load_demo(already_there_is_fine: bool = False) -> int:
    from app.demo import load_demo
    from app.services.errors import WorkflowConflict

    print("Loading the demo (about a minute the first time: every account's password is "
          "hashed)...", flush=True)
    with Session(get_engine()) as session:
        try:
            logins = load_demo(session, current_clock().now())
        except WorkflowConflict as refused:
            if already_there_is_fine and refused.code == "demo_loaded":
                print("The demo is already loaded; its logins were printed when it was.")
                return 0
            print(f"jifen demo: nothing loaded. {refused.detail}", file=sys.stderr)
            print("To load it into a new database instead: "
                  "JIFEN_DATABASE_URL=sqlite:///./demo.db jifen demo", file=sys.stderr)
            return 1
        session.commit()
    print("Demo data loaded: a 党委 with three branches, last year rated, this year so far.")
    print(f"Log in with any of these (password for all: {logins.password}):")
    for username, who in logins.accounts:
        print(f"  {username:<12} {who}")
    return 0


def cmd_demo(_: argparse.Namespace) -> int:
    _migrate()
    return _load_demo()


def cmd_backup(args: argparse.Namespace) -> int:
    from app.backup import BackupError, backup, human_size

    settings = get_settings()
    uploads = None if args.no_uploads else Path(settings.upload_dir)
    output = Path(args.output) if args.output else None
    if output and args.output.endswith("/"):  # a folder, made if need be
        output.mkdir(parents=True, exist_ok=True)
    try:
        report = backup(settings.database_url, output=output, upload_dir=uploads,
                        now=datetime.now().astimezone())
    except BackupError as error:
        print(f"jifen backup: {error}", file=sys.stderr)
        return 1
    db = report.database
    print(f"Database ({report.backend}) backed up to {db.path} ({human_size(db.size)}).")
    if report.counts is not None:
        print(f"  integrity_check ok; schema {report.revision}; "
              f"{report.counts.get('member', 0)} members, {report.counts.get('entry', 0)} "
              "entries.")
    if report.uploads:
        print(f"Evidence photos ({uploads}) archived to {report.uploads.path} "
              f"({human_size(report.uploads.size)}).")
    elif uploads is not None:
        print(f"No evidence photos folder at {uploads}; nothing else to archive.")
    print(f"Done in {report.seconds:.1f} s.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.backup import BackupError, TargetNotEmpty, restore

    settings = get_settings()
    try:
        report = restore(settings.database_url, args.path, uploads=args.uploads,
                         upload_dir=None if args.no_uploads else Path(settings.upload_dir),
                         overwrite=args.yes)
    except TargetNotEmpty as refused:
        print(f"jifen restore: nothing restored. {refused}", file=sys.stderr)
        return 1
    except BackupError as error:
        print(f"jifen restore: {error}", file=sys.stderr)
        return 1
    counts = report.counts
    print(f"Restored {args.path} into the {report.backend} database; schema {report.revision}.")
    print(f"  {counts.get('org', 0)} organisations, {counts.get('member', 0)} members, "
          f"{counts.get('account', 0)} accounts, {counts.get('entry', 0)} entries, "
          f"{counts.get('review', 0)} reviews, {counts.get('audit_log', 0)} audit records.")
    if report.uploads:
        files = "1 file" if report.upload_files == 1 else f"{report.upload_files} files"
        print(f"Evidence photos: {files} from {report.uploads} into {settings.upload_dir}.")
    print(f"Done in {report.seconds:.1f} s.")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from app.services.integrity import check_database, format_report

    try:
        report = check_database(get_read_engine(), current_clock().now())
    except SQLAlchemyError as error:
        print(f"jifen check: cannot read the database ({type(error).__name__}: "
              f"{str(error).splitlines()[0]}). Is the schema up to date? Try: jifen migrate",
              file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0 if report.ok else 1


# More photos on record nowhere than this, and more than half of the volume's: the sweep
# asks for --force (the database is likely not the volume's).
SWEEP_CAUTION = 10


def cmd_sweep_photos(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from app.backup import human_size
    from app.services.uploads import sweep_unrecorded

    folder = Path(get_settings().upload_dir)
    if not (folder / "evidence").is_dir():
        print(f"No evidence photos under {folder}; nothing to sweep.")
        return 0
    older_than, now = timedelta(hours=args.older_than), current_clock().now()
    try:
        with Session(get_read_engine()) as session:
            # Listed first: what the records say goes, before anything does.
            sweep = sweep_unrecorded(session, folder, older_than, now, dry_run=True)
            if len(sweep.removed) > max(SWEEP_CAUTION, sweep.seen // 2) and not args.force:
                print(f"jifen sweep-photos: nothing removed. {len(sweep.removed)} of the "
                      f"{sweep.seen} photos in {folder} are on record nowhere in the "
                      "database: is JIFEN_DATABASE_URL this volume's database (restored "
                      "from a backup older than the photos?) If so, --force.",
                      file=sys.stderr)
                return 1
            if not args.dry_run:
                sweep = sweep_unrecorded(session, folder, older_than, now)
    except SQLAlchemyError as error:
        print(f"jifen sweep-photos: cannot read the database ({type(error).__name__}: "
              f"{str(error).splitlines()[0]}). Is the schema up to date? Try: jifen migrate",
              file=sys.stderr)
        return 2
    verb = "would remove" if args.dry_run else "removed"
    print(f"{folder}: {verb} {len(sweep.removed)} photo(s) on record nowhere, "
          f"{human_size(sweep.bytes)}; kept {sweep.kept_recent} newer than "
          f"{args.older_than:g} h (a request may still be storing them).")
    for path in sweep.removed[:20]:
        print(f"  {path}")
    if len(sweep.removed) > 20:
        print(f"  ... and {len(sweep.removed) - 20} more")
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from app.services.rules_file import RulesFileInvalid, export_rule_set, import_rule_set

    now = current_clock().now()
    with Session(get_engine()) as session:
        if args.action == "export":
            sys.stdout.write(export_rule_set(session, args.year, now))
            session.commit()  # a year used for the first time keeps the rules it was given
            return 0
        try:
            data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as error:
            print(f"jifen rules import: cannot read {args.file}: {error.strerror}",
                  file=sys.stderr)
            return 2
        try:
            result = import_rule_set(session, None, args.year, data, now, dry_run=args.dry_run)
        except RulesFileInvalid as refused:
            print(f"jifen rules import: nothing imported; {len(refused.problems)} problem(s):",
                  file=sys.stderr)
            for problem in refused.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        session.commit()
    done = "checked, not imported" if args.dry_run else "imported"
    print(f"Rules for {args.year} {done}: {len(result.rules.items)} items; added "
          f"{', '.join(result.added) or 'none'}; removed {', '.join(result.removed) or 'none'}; "
          f"changed {', '.join(result.changed) or 'none'}.")
    return 0


def _hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < 1e6:
        raise argparse.ArgumentTypeError(f"not a number of hours (0 or more): {text!r}")
    return hours


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jifen", description="Jifen 积分: points and ratings "
                                     "for Party branches.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="upgrade the schema, then serve the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--demo", action="store_true",
                       help="load the demo data first, unless it is already there")
    serve.set_defaults(run=cmd_serve)
    commands.add_parser("migrate", help="upgrade the schema to the newest revision") \
        .set_defaults(run=cmd_migrate)
    admin = commands.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", help="(better left out: then typed at the terminal, or "
                       "the first line of stdin, out of `ps` and the shell's history)")
    admin.set_defaults(run=cmd_create_admin)
    reset = commands.add_parser("set-password", help="set an account's password (an "
                                "administrator locked out); logs out its sessions")
    reset.add_argument("--username", required=True)
    reset.add_argument("--password", help="as create-admin's")
    reset.set_defaults(run=cmd_set_password)
    commands.add_parser("demo", help="load a realistic demo (a 党委, three branches, two "
                        "years)").set_defaults(run=cmd_demo)
    backup = commands.add_parser("backup", help="back up the database and the evidence photos")
    backup.add_argument("--output", help="file or folder (default: "
                        "./jifen-backup-YYYYmmdd-HHMMSS.db, .dump on PostgreSQL)")
    backup.add_argument("--no-uploads", action="store_true",
                        help="leave out the evidence photos folder")
    backup.set_defaults(run=cmd_backup)
    restore = commands.add_parser("restore", help="replace the database with a backup, "
                                  "then upgrade its schema")
    restore.add_argument("path", type=Path, help="a file written by jifen backup")
    restore.add_argument("--uploads", type=Path, help="the photos archive (default: "
                         "PATH's -uploads.tar.gz beside it, if there)")
    restore.add_argument("--no-uploads", action="store_true",
                         help="leave the evidence photos folder alone")
    restore.add_argument("--yes", action="store_true",
                         help="overwrite a database that is not empty")
    restore.set_defaults(run=cmd_restore)
    check = commands.add_parser("check", help="verify the audit chain and the data's "
                                "invariants; exit 1 listing the problems if any")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=cmd_check)
    sweep = commands.add_parser("sweep-photos", help="remove evidence photos on the volume "
                                "that no record names (left by a failed request)")
    sweep.add_argument("--older-than", type=_hours, default=24.0, metavar="HOURS",
                       help="only photos older than this (default 24; 0 when no server runs)")
    sweep.add_argument("--dry-run", action="store_true", help="list them, remove nothing")
    sweep.add_argument("--force", action="store_true", help="remove them even when they are "
                       "more than half of the volume's photos (refused without it)")
    sweep.set_defaults(run=cmd_sweep_photos)
    rules = commands.add_parser("rules", help="export a year's rule set as YAML, or import "
                                "one (docs/rules/shuangshi-2026.yaml is the default)")
    rules_actions = rules.add_subparsers(dest="action", required=True)
    rules_export = rules_actions.add_parser("export", help="write the year's rules to stdout")
    rules_export.add_argument("year", type=int)
    rules_import = rules_actions.add_parser("import", help="replace the year's rules with a "
                                            "file's (refused for a frozen year)")
    rules_import.add_argument("year", type=int)
    rules_import.add_argument("file", help="a rule file, or - for stdin")
    rules_import.add_argument("--dry-run", action="store_true", help="only check the file")
    rules.set_defaults(run=cmd_rules)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except DomainError as error:
        print(f"jifen: {error.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
