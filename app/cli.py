"""The `jifen` command: serve, migrate, create-admin, demo."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import Session

from app.clock import get_clock
from app.db import get_engine
from app.migrate import upgrade
from app.services.errors import DomainError
from app.settings import get_settings


def _migrate() -> None:
    upgrade(get_settings().database_url)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    _migrate()
    if args.demo and _load_demo(already_there_is_fine=True) != 0:
        return 1
    uvicorn.run("app.main:app", host=args.host, port=args.port, workers=args.workers,
                proxy_headers=True, forwarded_allow_ips="*")
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    _migrate()
    print("The database schema is up to date.")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from app.services.accounts import create_admin

    if len(args.password) < 8:
        print("The password needs at least 8 characters.", file=sys.stderr)
        return 2
    _migrate()
    with Session(get_engine()) as session:
        create_admin(session, args.username, args.password, get_clock().now())
        session.commit()
    print(f"Administrator {args.username} created.")
    return 0


def _load_demo(already_there_is_fine: bool = False) -> int:
    from app.demo import load_demo
    from app.services.errors import WorkflowConflict

    with Session(get_engine()) as session:
        try:
            logins = load_demo(session, get_clock().now())
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
    admin.add_argument("--password", required=True)
    admin.set_defaults(run=cmd_create_admin)
    commands.add_parser("demo", help="load a realistic demo (a 党委, three branches, two "
                        "years)").set_defaults(run=cmd_demo)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except DomainError as error:
        print(f"jifen: {error.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
