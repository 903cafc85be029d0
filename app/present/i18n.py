"""Translations from gettext catalogues (Babel). Chinese is the source language.

Message ids in templates and code are the Chinese text itself, so zh_CN needs no
catalogue and can never show a missing translation; `app/locale/en` carries English.
The .po files are compiled in memory at start-up, so there is no build step.

Texts defined at import time (label tables, messages by error code) are marked with
`N_()` for extraction and translated with `_()` where they are shown, in the language of
the request. Rule item names are data; only the default names are translated
(`rule_item_name`).
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"

_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


@lru_cache
def translations(language: str) -> gettext_module.NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def set_language(language: str) -> None:
    _language.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _language.get()


def gettext(message: str) -> str:
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a text for extraction (babel.cfg: keywords = N_); `_()` translates it later."""
    return message


# The names of app.points.rules.default_rule_items (a test keeps the two the same). Names
# are data, editable per year: a name changed by an administrator is shown as typed.
DEFAULT_RULE_NAMES = frozenset({
    N_("参加集中学习"),
    N_("参加“三会一课”"),
    N_("参加主题党日"),
    N_("按时足额交纳党费"),
    N_("完成组织交办任务"),
    N_("公开承诺并践诺"),
    N_("参加志愿服务（每小时）"),
    N_("联系服务群众"),
    N_("提交思想汇报或心得"),
    N_("急难险重任务中发挥先锋作用"),
    N_("无故缺席组织生活"),
    N_("不参加学习或无学习记录"),
    N_("经催缴仍未交纳党费"),
    N_("不完成或推诿组织任务"),
    N_("不作承诺或承诺未兑现"),
    N_("发表不当言论"),
    N_("违反中央八项规定精神"),
    N_("违反法律法规或单位规章"),
    N_("损害群众利益"),
    N_("参与不良风气（赌博、大操大办等）"),
    N_("现实表现加分"),
    N_("现实表现扣分"),
    N_("受到党纪处分或被纪委通报"),
    N_("违法犯罪"),
    N_("参加邪教或非法组织"),
    N_("严重违背社会公德造成恶劣影响"),
})


# Rule sets made before the default names took full-width brackets keep "(每小时)" stored.
_ASCII_BRACKETS = str.maketrans("()", "（）")


def rule_item_name(name: str) -> str:
    """A rule item's name as shown: a default name translated (also in its older form with
    ASCII brackets), a custom one as typed."""
    default = name.translate(_ASCII_BRACKETS)
    return gettext(default) if default in DEFAULT_RULE_NAMES else name
