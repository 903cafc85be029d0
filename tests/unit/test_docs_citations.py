"""Every place the code cites the rules ("docs/scoring.md, Workflow 2") names a section that
is there: the repository explains itself, and a renamed heading cannot leave a dead citation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("scoring", "api", "appraisal")
# "(docs/scoring.md, Workflow 1, 3)" → "Workflow 1, 3", over a line break too (the comment
# marks and the indentation of the next line are left out).
CITATION = re.compile(r"\(docs/(scoring|api|appraisal)\.md,\s*([^)]+)\)")


def headings(doc: str) -> list[str]:
    text = (ROOT / "docs" / f"{doc}.md").read_text(encoding="utf-8")
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def has_section(found: list[str], name: str) -> bool:
    return any(h == name or h.startswith((f"{name}:", f"{name} (")) for h in found)


def cited_names(text: str) -> list[str]:
    """'Workflow 2 and 3' → Workflow 2, Workflow 3; 'The score; Stars and Grades' → both."""
    names: list[str] = []
    for part in re.split(r";", text):
        part = part.strip().rstrip(",")
        if not part:
            continue
        words = [w.strip() for w in re.split(r",| and (?=\d)", part) if w.strip()]
        prefix = ""
        for word in words:
            if word.isdigit() and prefix:
                names.append(f"{prefix} {word}")
                continue
            names.append(word)
            prefix = word.rsplit(" ", 1)[0] if word[-1:].isdigit() else ""
    return names


def citations() -> list[tuple[str, str, str]]:
    found = []
    for folder in ("app", "tests", "migrations", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for doc, text in CITATION.findall(path.read_text(encoding="utf-8")):
                for name in cited_names(re.sub(r"[\s#]+", " ", text).strip()):
                    found.append((str(path.relative_to(ROOT)), doc, name))
    return found


def test_the_code_cites_the_docs_not_a_folder_outside_the_repository() -> None:
    outside = [str(p.relative_to(ROOT)) for folder in ("app", "tests", "migrations")
               for p in (ROOT / folder).rglob("*.py")
               if "shared/spec" in p.read_text(encoding="utf-8")
               and p.name != "test_docs_citations.py"]
    assert outside == []
    assert len(citations()) >= 20


@pytest.mark.parametrize(("where", "doc", "name"), citations())
def test_each_cited_section_exists(where: str, doc: str, name: str) -> None:
    assert has_section(headings(doc), name), f"{where} cites docs/{doc}.md, {name!r}"


@pytest.mark.parametrize(("text", "names"), [
    ("Workflow 1, 3", ["Workflow 1", "Workflow 3"]),
    ("Workflow 2 and 3", ["Workflow 2", "Workflow 3"]),
    ("Stars, Grades, Workflow 4", ["Stars", "Grades", "Workflow 4"]),
    ("The score; Stars and Grades", ["The score", "Stars and Grades"]),
])
def test_citations_are_read_as_people_write_them(text: str, names: list[str]) -> None:
    assert cited_names(text) == names
