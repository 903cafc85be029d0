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


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import load_demo

    _migrate()
    with Session(get_engine()) as session:
        logins = load_demo(session, get_clock().now())
        session.commit()
    print("Demo data loaded. Log in with any of these (password for all: "
          f"{logins.password}):")
    for username, who in logins.accounts:
        print(f"  {username:<12} {who}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jifen", description="Jifen 积分: points and ratings "
                                     "for Party branches.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="upgrade the schema, then serve the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
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
