"""The `jifen` command's entry: the settings are read first, so a bad JIFEN_ variable is one
line saying what is wrong, not a traceback from whichever module read them first."""

from __future__ import annotations

import sys

from pydantic import ValidationError


def main(argv: list[str] | None = None) -> int:
    from app.settings import get_settings

    try:
        get_settings()
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(p) for p in problem.get("loc", ()))
            said = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
            name = f"JIFEN_{where.upper()}: " if where else ""
            print(f"jifen: {name}{said}", file=sys.stderr)
        return 2
    from app.cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
