"""The English catalogue: every message of the code and templates translated, in step with them.

Chinese is the source language (the msgids); app/locale/en/LC_MESSAGES/messages.po carries
English. The messages are extracted here as `pybabel extract -F app/locale/babel.cfg` does,
so a text added without a translation, or a stale messages.pot, fails this test.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.points import GRADE_LABELS, default_rule_items
from app.present import case_words, i18n, labels
from app.present.early_words import early_warning
from app.present.labels import CATEGORY_LABELS, GRADE_MSGIDS, KIND_LABELS, STATUS_LABELS
from app.services.early_steps import Earliness

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "app" / "locale"
PO = LOCALE / "en" / "LC_MESSAGES" / "messages.po"
POT = LOCALE / "messages.pot"
CJK = re.compile(r"[\u3001-\u303f\u4e00-\u9fff\uff00-\uffef]")
# {name}, {name:02d} (str.format) and %(name)s (gettext's newstyle and ngettext in templates)
BRACE = re.compile(r"\{(\w*)(?:[:!][^{}]*)?\}")
PERCENT = re.compile(r"%\((\w+)\)[sd]")
TAG = re.compile(r"<[^>]+>")


def msgid(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def read(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale="en" if path == PO else None)


def extracted() -> dict[str, bool]:
    """msgid -> whether it is plural, from the code and templates as babel.cfg maps them."""
    with (LOCALE / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, bool] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        if isinstance(message, tuple):
            found[message[0]] = True
        else:
            found[message] = found.get(message, False)
    return found


@pytest.fixture(scope="module")
def code_messages() -> dict[str, bool]:
    return extracted()


@pytest.fixture(scope="module")
def english() -> Catalog:
    return read(PO)


def translations(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def markers(text: str) -> tuple[set[str], set[str], Counter[str]]:
    return set(BRACE.findall(text)), set(PERCENT.findall(text)), Counter(TAG.findall(text))


def test_pot_and_po_hold_exactly_the_messages_of_the_code(code_messages: dict[str, bool],
                                                          english: Catalog) -> None:
    assert len(code_messages) > 400
    pot = {msgid(m): m.pluralizable for m in read(POT) if m.id}
    po = {msgid(m): m.pluralizable for m in english if m.id}
    missing = sorted(set(code_messages) - set(pot))
    stale = sorted(set(pot) - set(code_messages))
    assert not missing and not stale, (
        f"messages.pot is out of date (missing {missing}, stale {stale}): re-run the "
        "extraction in app/locale/babel.cfg")
    assert pot == code_messages
    assert po == pot, "run pybabel update (see app/locale/babel.cfg)"
    assert not english.obsolete, sorted(english.obsolete)


def test_every_message_has_an_english_translation(english: Catalog) -> None:
    assert english.num_plurals == 2
    untranslated = [msgid(m) for m in english if m.id and not all(translations(m))]
    fuzzy = [msgid(m) for m in english if m.id and m.fuzzy]
    assert not untranslated, untranslated
    assert not fuzzy, fuzzy
    for message in english:
        if message.id:
            assert len(translations(message)) == (2 if message.pluralizable else 1), message.id


def test_translations_keep_placeholders_and_markup(english: Catalog) -> None:
    for message in english:
        if not message.id:
            continue
        source = msgid(message)
        for text in translations(message):
            assert markers(text) == markers(source), (source, text)
            assert not CJK.search(text), (source, text)
            # Template translations are Markup, some inside attributes, and newstyle gettext
            # applies %: no stray quote, ampersand, angle bracket, brace or percent sign.
            bare = TAG.sub("", PERCENT.sub("", BRACE.sub("", text)))
            assert not re.search(r'["&<>{}%]', bare), (source, text)


def test_labels_defined_in_the_engine_are_in_the_catalogue(english: Catalog) -> None:
    assert set(GRADE_MSGIDS) == set(GRADE_LABELS.values())
    assert {item.name for item in default_rule_items()} == i18n.DEFAULT_RULE_NAMES
    ids = {msgid(m) for m in english if m.id}
    for table in (KIND_LABELS, STATUS_LABELS, CATEGORY_LABELS):
        assert set(table.values()) <= ids
    assert ids >= i18n.DEFAULT_RULE_NAMES


def test_rule_names_translate_only_the_defaults() -> None:
    try:
        assert i18n.rule_item_name("参加集中学习") == "参加集中学习"
        old_form = "参与不良风气(赌博、大操大办等)"
        assert i18n.rule_item_name(old_form) == "参与不良风气（赌博、大操大办等）"
        i18n.set_language("en")
        assert i18n.rule_item_name("参加集中学习") == "Attend group study"
        assert i18n.rule_item_name("参加志愿服务（每小时）") == "Volunteer service (per hour)"
        # As rule sets made before the full-width brackets store it.
        assert i18n.rule_item_name("参加志愿服务(每小时)") == "Volunteer service (per hour)"
        assert i18n.rule_item_name("植树(春季)") == "植树(春季)"
        # A name an administrator typed is data, shown as it is, even if it is a msgid.
        assert i18n.rule_item_name("已通过") == "已通过"
        assert i18n.rule_item_name("Village clean-up") == "Village clean-up"
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)


@pytest.mark.parametrize(("language", "day", "said"), [
    ("zh", date(2027, 1, 6), "2027年1月6日"),
    ("en", date(2027, 1, 6), "6 January 2027"),
    ("en", date(2026, 12, 31), "31 December 2026"),
])
def test_a_day_with_its_year_reads_as_people_write_it(language: str, day: date,
                                                       said: str) -> None:
    try:
        i18n.set_language(language)
        assert labels.full_day_text(day) == said
        assert case_words.day_text(day) == said
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)


def test_an_early_warnings_sentences_are_spaced_in_english() -> None:
    early = Earliness(year=2026, quarter=4, step="publish", ends_on=date(2026, 12, 31),
                      notice_days=0, min_notice_days=5)
    chinese = early_warning(early)
    assert "。公示0天" in chinese and " " not in chinese.replace("12月31日", "")
    try:
        i18n.set_language("en")
        english = early_warning(early)
        assert not re.search(r"[.!?][A-Z]", english), english
        assert english.count(". ") >= 3
    finally:
        i18n.set_language(i18n.DEFAULT_LANGUAGE)
