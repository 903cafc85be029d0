"""The rule file (jifen-rules/1): written and read back, and every way of getting it wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.points import Category, Kind, RatingParams, RuleItem, RuleSet, default_rule_set
from app.services.rules_file import (
    MAX_FILE_BYTES,
    RulesFileInvalid,
    RulesFileTooLarge,
    dump_rule_set,
    read_rules_file,
)

SHIPPED = Path(__file__).resolve().parents[2] / "docs" / "rules" / "shuangshi-2026.yaml"


def doc(items: str, params: str = "", head: str = "format: jifen-rules/1\n") -> str:
    return head + params + "items:\n" + items


P01 = "- {code: P01, kind: positive, name: 学习, points: 2, cap: 8}\n"


def errors_of(text: str | bytes) -> list[tuple[str, str]]:
    with pytest.raises(RulesFileInvalid) as refused:
        read_rules_file(text, 2027)
    return [(p.path, p.code) for p in refused.value.problems]


def test_the_default_rule_set_survives_a_round_trip() -> None:
    rules = default_rule_set(2026)
    text = dump_rule_set(rules)
    assert read_rules_file(text, 2026) == rules
    assert read_rules_file(text.encode(), 2026) == rules
    assert dump_rule_set(read_rules_file(text, 2026)) == text
    assert "name: 参加“三会一课”" in text  # UTF-8 kept, not \u escapes
    assert text.startswith("# Jifen 积分规则文件") and "\nformat: jifen-rules/1\n" in text


def test_a_variant_with_ranges_categories_and_params_survives_a_round_trip() -> None:
    rules = RuleSet(year=2030, items=(
        RuleItem("P01", Kind.positive, "参加集中学习", 3, cap=12,
                 categories=frozenset({Category.rural, Category.retired})),
        RuleItem("P02", Kind.positive, "yes", None, cap=None, min_points=1, max_points=3),
        RuleItem("N01", Kind.negative, "无故缺席", 2, cap=20),
        RuleItem("V01", Kind.veto, "违法犯罪", None, categories=frozenset({Category.active})),
    ), params=RatingParams(review_max=10, review_default=8, star_thresholds=(50, 60, 70, 80, 90),
                           unqualified_below=50, basic_below=60, basic_single_deduction=8,
                           excellent_min=85, excellent_divisor=4))
    text = dump_rule_set(rules)
    assert "categories: [retired, rural]" in text and "name: 'yes'" in text
    assert read_rules_file(text, 2030) == rules
    # The year is the importer's: the same file read for another year.
    assert read_rules_file(text, 2031).items == rules.items


def test_the_shipped_example_is_the_exporters_default_and_says_what_scoring_md_says() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text == dump_rule_set(default_rule_set(2026))
    rules = read_rules_file(text, 2026)
    # The items' table (docs/scoring.md, Rule items): code, kind, points per unit (or range),
    # cap per year.
    table = {
        "P01": (2, 8), "P02": (1, 8), "P03": (2, 8), "P04": (2, 8), "P05": (2, 8),
        "P06": (4, 8), "P07": (1, 8), "P08": (2, 8), "P09": (2, 8), "P10": (4, 8),
        "N01": (2, None), "N02": (3, None), "N03": (2, None), "N04": (3, None),
        "N05": (3, None), "N06": (10, None), "N07": (10, None), "N08": (5, None),
        "N09": (5, None), "N10": (5, None),
        "B01": ((1, 5), 10), "D01": ((1, 10), None),
        "V01": (None, None), "V02": (None, None), "V03": (None, None), "V04": (None, None),
    }
    kinds = {"P": Kind.positive, "N": Kind.negative, "B": Kind.bonus, "D": Kind.deduction,
             "V": Kind.veto}
    assert [i.code for i in rules.items] == list(table)
    for item in rules.items:
        points, cap = table[item.code]
        assert item.kind is kinds[item.code[0]]
        if isinstance(points, tuple):
            assert (item.points, (item.min_points, item.max_points)) == (None, points)
        else:
            assert (item.points, item.min_points, item.max_points) == (points, None, None)
        assert item.cap == cap and item.categories == frozenset(Category)
    assert rules.params == RatingParams(5, 5, (60, 70, 80, 90, 96), 60, 70, 10, 90, 3)


def test_params_left_out_take_the_defaults() -> None:
    rules = read_rules_file(doc(P01, "params:\n  excellent_divisor: 4\n"), 2027)
    assert rules.params == RatingParams(excellent_divisor=4)
    assert rules.items[0].categories == frozenset(Category)


BAD = [
    ("not a mapping", "- 1\n- 2\n", [("file", "not_a_mapping")]),
    ("no format", "items:\n" + P01, [("format", "format_missing")]),
    ("other format", doc(P01, head="format: jifen-rules/2\n"), [("format", "format_unknown")]),
    ("bad year", doc(P01, head="format: jifen-rules/1\nyear: 1900\n"),
     [("year", "year_invalid")]),
    ("unknown top key", doc(P01) + "extra: 1\n", [("extra", "unknown_field")]),
    ("no items", "format: jifen-rules/1\nitems: []\n", [("items", "items_required")]),
    ("item not a mapping", doc("- P01\n"), [("items[0]", "not_a_mapping")]),
    ("unknown item key", doc("- {code: P01, kind: positive, name: a, points: 2, pts: 1}\n"),
     [("items[0].pts", "unknown_field")]),
    ("duplicate code", doc(P01 + P01), [("items[1].code", "code_duplicate")]),
    ("lower-case code", doc("- {code: p01, kind: positive, name: a, points: 2}\n"),
     [("items[0].code", "code_invalid")]),
    ("numeric code", doc("- {code: 101, kind: positive, name: a, points: 2}\n"),
     [("items[0].code", "code_required")]),
    ("unknown kind", doc("- {code: P01, kind: plus, name: a, points: 2}\n"),
     [("items[0].kind", "kind_invalid")]),
    ("no name", doc("- {code: P01, kind: positive, points: 2}\n"),
     [("items[0].name", "name_required")]),
    ("blank name", doc("- {code: P01, kind: positive, name: '  ', points: 2}\n"),
     [("items[0].name", "string_too_short")]),
    ("signed bottom line",
     doc(P01 + "- {code: N01, kind: negative, name: 缺席, points: -2}\n"),
     [("items[1].points", "points_signed")]),
    ("zero points", doc("- {code: P01, kind: positive, name: a, points: 0}\n"),
     [("items[0].points", "greater_than_equal")]),
    ("fractional points", doc("- {code: P01, kind: positive, name: a, points: 1.5}\n"),
     [("items[0].points", "int_type")]),
    ("points as text", doc("- {code: P01, kind: positive, name: a, points: '2'}\n"),
     [("items[0].points", "int_type")]),
    ("points true", doc("- {code: P01, kind: positive, name: a, points: true}\n"),
     [("items[0].points", "int_type")]),
    ("no points", doc("- {code: P01, kind: positive, name: a}\n"),
     [("items[0].points", "points_required")]),
    ("half a range", doc("- {code: B01, kind: bonus, name: a, min_points: 1}\n"),
     [("items[0].points", "points_required")]),
    ("points and range", doc("- {code: B01, kind: bonus, name: a, points: 2, min_points: 1, "
                             "max_points: 5}\n"), [("items[0].points", "points_and_range")]),
    ("reversed range", doc("- {code: B01, kind: bonus, name: a, min_points: 5, "
                           "max_points: 1}\n"), [("items[0].max_points", "range_reversed")]),
    ("range too wide", doc("- {code: D01, kind: deduction, name: a, min_points: 1, "
                           "max_points: 500}\n"), [("items[0].max_points", "less_than_equal")]),
    ("negative cap", doc("- {code: P01, kind: positive, name: a, points: 2, cap: -1}\n"),
     [("items[0].cap", "greater_than_equal")]),
    ("veto with a cap", doc("- {code: V01, kind: veto, name: a, cap: 5}\n"),
     [("items[0].cap", "cap_not_allowed")]),
    ("veto with points", doc("- {code: V01, kind: veto, name: a, points: 5}\n"),
     [("items[0].points", "veto_points")]),
    ("unknown category", doc("- {code: P01, kind: positive, name: a, points: 2, "
                             "categories: [active, student]}\n"),
     [("items[0].categories[1]", "enum")]),
    ("no category", doc("- {code: P01, kind: positive, name: a, points: 2, categories: []}\n"),
     [("items[0].categories", "too_short")]),
    ("thresholds falling", doc(P01, "params:\n  star_thresholds: [60, 70, 65, 90, 96]\n"),
     [("params.star_thresholds", "star_thresholds_order")]),
    ("four thresholds", doc(P01, "params:\n  star_thresholds: [60, 70, 80, 90]\n"),
     [("params.star_thresholds", "star_thresholds_count")]),
    ("default above max", doc(P01, "params:\n  review_max: 5\n  review_default: 6\n"),
     [("params.review_default", "review_default_invalid")]),
    ("grades out of order", doc(P01, "params:\n  basic_below: 95\n"),
     [("params.basic_below", "grade_order")]),
    ("divisor zero", doc(P01, "params:\n  excellent_divisor: 0\n"),
     [("params.excellent_divisor", "excellent_divisor_invalid")]),
    ("param as text", doc(P01, "params:\n  review_max: five\n"),
     [("params.review_max", "not_an_integer")]),
    ("unknown param", doc(P01, "params:\n  stars: 5\n"), [("params.stars", "unknown_field")]),
    ("repeated key", doc(P01, "params:\n  review_max: 5\n  review_max: 6\n"),
     [("file", "not_yaml")]),
    ("alias", doc("- &p {code: P01, kind: positive, name: a, points: 2}\n- *p\n"),
     [("file", "not_yaml")]),
    ("python tag", "!!python/object/apply:os.system ['true']\n", [("file", "not_yaml")]),
    ("broken yaml", "format: [jifen\n", [("file", "not_yaml")]),
    ("deep nesting", "[" * 20_000 + "]" * 20_000, [("file", "not_yaml")]),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BAD],
                         ids=[name for name, _, _ in BAD])
def test_a_bad_file_names_each_problem(text: str, expected: list[tuple[str, str]]) -> None:
    assert errors_of(text) == expected


def test_every_problem_is_listed_at_once() -> None:
    text = doc("- {code: P01, kind: positive, name: a, points: -2}\n"
               "- {code: V01, kind: veto, name: b, cap: 1}\n"
               "- {code: V01, kind: veto, name: c}\n",
               "params:\n  excellent_divisor: 0\n", head="format: x\n")
    with pytest.raises(RulesFileInvalid) as refused:
        read_rules_file(text, 2027)
    assert [str(p) for p in refused.value.problems] == [
        "format: must be jifen-rules/1",
        "params.excellent_divisor: must be from 1 to 100",
        "items[0].points: write it without a sign (2): the kind positive already makes it "
        "an addition",
        "items[1].cap: a veto item has no cap",
        "items[2].code: V01 is already the code of items[1]",
    ]
    assert refused.value.code == "rules_file_invalid" and refused.value.status_code == 422


def test_the_place_of_a_yaml_error_is_given() -> None:
    with pytest.raises(RulesFileInvalid) as refused:
        read_rules_file("format: jifen-rules/1\nitems:\n  - code: [P01\n", 2027)
    assert "(line 4, column 1)" in refused.value.problems[0].message


def test_a_huge_file_is_refused_before_it_is_read() -> None:
    with pytest.raises(RulesFileTooLarge) as refused:
        read_rules_file("#" * (MAX_FILE_BYTES + 1), 2027)
    assert refused.value.status_code == 413
    room = MAX_FILE_BYTES - len(doc(P01).encode()) - 1
    read_rules_file(doc(P01) + "#" * room + "\n", 2027)


def test_not_utf8_and_a_bom() -> None:
    assert errors_of("名称".encode("gbk") + b": x") == [("file", "not_utf8")]
    assert read_rules_file(b"\xef\xbb\xbf" + doc(P01).encode(), 2027).items[0].code == "P01"
