"""A year's rule set as a file: the import's answer and its refusal."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import Problem, RulesOut


class RulesImportOut(RulesOut):
    dry_run: bool
    # The year had no rule set before (answered 201).
    created: bool
    added: list[str]
    removed: list[str]
    changed: list[str]
    params_changed: bool


class RulesFileProblemOut(BaseModel):
    """Shaped like a request validation error's; `path` names the field in the file."""

    loc: list[str | int]
    msg: str
    type: str
    path: str | None = None


class RulesFileErrorOut(Problem):
    """422 for a bad file: every problem, each in `errors` (none when no file was sent)."""

    errors: list[RulesFileProblemOut] = Field(default_factory=list)
