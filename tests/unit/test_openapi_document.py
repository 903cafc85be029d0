"""The OpenAPI document generates clean clients (docs/api/schema.md): walked here, so a new
route that breaks a rule fails a test, named, rather than a generator somewhere else.

Each rule is one test over every operation, and lists every offender at once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from app.main import app

Operation = tuple[str, str, dict[str, Any]]
PROBLEM = "application/problem+json"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "code"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[Operation]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]


def alternatives(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema, or each non-null alternative of an anyOf/oneOf, resolved."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if options is None:
        return [resolve(document, schema)]
    return [resolve(document, s) for s in options if s.get("type") != "null"]


def test_title_is_ascii_and_the_chinese_is_in_the_description(document: dict[str, Any]) -> None:
    info = document["info"]
    assert info["title"].isascii() and re.fullmatch(r"[A-Za-z][A-Za-z0-9 -]*", info["title"])
    assert "积分" in info["description"]


def test_every_operation_is_tagged_with_a_declared_tag(document: dict[str, Any]) -> None:
    declared = {t["name"]: t for t in document.get("tags", [])}
    assert all(t.get("description") for t in declared.values()), declared
    wrong = [f"{m} {p}: {op.get('tags')}" for m, p, op in operations(document)
             if not op.get("tags") or not set(op["tags"]) <= set(declared)]
    assert not wrong, wrong
    used = {t for _, _, op in operations(document) for t in op.get("tags", ())}
    assert set(declared) <= used, set(declared) - used


def test_operation_ids_are_unique_snake_case_and_described(document: dict[str, Any]) -> None:
    ids = Counter(op.get("operationId") for _, _, op in operations(document))
    assert not [i for i, n in ids.items() if n > 1], ids
    wrong = [f"{m} {p}: {op.get('operationId')}" for m, p, op in operations(document)
             if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", op.get("operationId") or "")
             or not op.get("description") or not op.get("summary")]
    assert not wrong, wrong


def test_every_parameter_is_described(document: dict[str, Any]) -> None:
    wrong = [f"{m} {p}: {param['in']} {param['name']}" for m, p, op in operations(document)
             for param in op.get("parameters", ()) if not param.get("description")]
    # Form fields are parameters too, in the body.
    for method, path, op in operations(document):
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            if media.startswith(("multipart/", "application/x-www-form")):
                for schema in alternatives(document, content["schema"]):
                    wrong += [f"{method} {path}: form {name}"
                              for name, field in schema.get("properties", {}).items()
                              if not field.get("description")]
    assert not wrong, wrong


def _inline_enums(node: Any, where: str, top: bool) -> Iterator[str]:
    if isinstance(node, dict):
        if "enum" in node and not top:
            yield where
        for key, value in node.items():
            yield from _inline_enums(value, f"{where}/{key}", False)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _inline_enums(value, f"{where}/{index}", False)


def test_enums_are_named_components(document: dict[str, Any]) -> None:
    """An enum written inline becomes an anonymous copy in each generated client (one per
    use): every enum is a component schema of its own, referenced where it is used."""
    wrong = list(_inline_enums(document["paths"], "#/paths", True))
    for name, schema in document["components"]["schemas"].items():
        wrong += _inline_enums(schema, f"#/components/schemas/{name}", True)
    assert not wrong, wrong


def test_no_answer_is_a_union_with_null(document: dict[str, Any]) -> None:
    wrong = [f"{m} {p} {status}" for m, p, op in operations(document)
             for status, answer in op["responses"].items()
             for content in answer.get("content", {}).values()
             if any(s.get("type") == "null"
                    for s in content.get("schema", {}).get("anyOf", ()))]
    assert not wrong, wrong


def test_errors_are_problem_details_with_their_codes(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in operations(document):
        for status, answer in op["responses"].items():
            if status[0] not in "45":
                continue
            content = answer.get("content", {})
            where = f"{method} {path} {status}"
            if set(content) != {PROBLEM}:
                wrong.append(f"{where}: media types {sorted(content)}")
                continue
            schema = resolve(document, content[PROBLEM]["schema"])
            if not set(schema.get("required", ())) >= PROBLEM_MEMBERS:
                wrong.append(f"{where}: not a problem: {content[PROBLEM]['schema']}")
            if status == "422" and schema.get("properties", {}).get("errors", {}) \
                    .get("type") != "array":
                wrong.append(f"{where}: no `errors` list")
            if not re.search(r"Codes: `[a-z0-9_]+`", answer.get("description", "")):
                wrong.append(f"{where}: no codes listed")
    assert not wrong, wrong


def test_files_are_binary(document: dict[str, Any]) -> None:
    """A download's every media type is bytes, so a generated client answers bytes. (The
    YAML rule file is text, which readers parse as YAML: it has no schema.)"""
    wrong = [f"{m} {p} {status} {media}" for m, p, op in operations(document)
             for status, answer in op["responses"].items() if status[0] == "2"
             for media, content in answer.get("content", {}).items()
             if not media.endswith("json") and not media.startswith("text/yaml")
             and content.get("schema") != {"type": "string", "format": "binary"}]
    assert not wrong, wrong


def _has_examples(document: dict[str, Any], media: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schemas = alternatives(document, media.get("schema", {}))
    return bool(schemas) and all(
        s.get("examples") or (s.get("properties") and all(
            f.get("examples") for f in s["properties"].values()))
        for s in schemas)


def test_uploaded_files_are_binary(document: dict[str, Any]) -> None:
    """A form's file field is `format: binary`, so a generated client sends it as a file."""
    files = [f"{m} {p} {name}" for m, p, op in operations(document)
             for media, content in op.get("requestBody", {}).get("content", {}).items()
             if media.startswith("multipart/")
             for schema in alternatives(document, content["schema"])
             for name, field in schema.get("properties", {}).items()
             if field.get("type") == "string" and field.get("format") != "binary"
             and name in ("file", "photo")]
    assert not files, files
    uploads = [p for _, p, op in operations(document)
               if "multipart/form-data" in op.get("requestBody", {}).get("content", {})]
    assert len(uploads) >= 3, uploads


def test_request_bodies_have_examples(document: dict[str, Any]) -> None:
    wrong = [f"{m} {p} {media}" for m, p, op in operations(document)
             for media, content in op.get("requestBody", {}).get("content", {}).items()
             if not _has_examples(document, content)]
    assert not wrong, wrong


def test_no_field_shadows_what_a_generated_client_imports(document: dict[str, Any]) -> None:
    """openapi-python-client names each field's local variable after it: a field `cast`
    shadows typing.cast in the model's from_dict (and the model fails at run time)."""
    wrong = [f"{name}.{field}" for name, schema in document["components"]["schemas"].items()
             for field in schema.get("properties", {}) if field in {"cast"}]
    assert not wrong, wrong


def test_problem_schema_documents_every_member(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ErrorOut"]
    assert set(schema["properties"]) == PROBLEM_MEMBERS | {"errors"}
    assert all(p.get("description") for p in schema["properties"].values()), schema
    field = resolve(document, schema["properties"]["errors"]["items"])
    assert set(field["required"]) == {"loc", "msg", "type"}
