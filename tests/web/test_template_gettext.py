"""The templates' `_()` (app/present/templating.py) answers what jinja2's newstyle gettext
answers: every message of the catalogue, in both languages, escaped the same, with and
without variables."""

from __future__ import annotations

from collections.abc import Iterator

import jinja2
import pytest
from babel.messages.pofile import read_po

from app.present import i18n
from app.present.templating import env


def _reference() -> jinja2.Environment:
    reference = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    reference.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True)
    return reference


def _messages() -> list[str]:
    with (i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale="en")
    return [m.id for m in catalog if m.id and isinstance(m.id, str)]


@pytest.fixture(params=list(i18n.LANGUAGES))
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(i18n.DEFAULT_LANGUAGE)


def _both(source: str, **context: object) -> tuple[str, str]:
    def render(environment: jinja2.Environment) -> str:
        try:
            return environment.from_string(source).render(**context)
        except (TypeError, ValueError, KeyError) as error:
            return f"{type(error).__name__}"
    return render(_reference()), render(env)


def test_every_message_renders_as_jinja2_would(language: str) -> None:
    messages = _messages()
    assert len(messages) > 500
    template = "".join(f"<{i}>{{{{ _(m[{i}]) }}}}|{{{{ gettext(m[{i}]) }}}}"
                       for i in range(len(messages)))
    reference, ours = _both(template, m=messages)
    assert ours == reference
    if language == "en":  # translated, not the Chinese
        assert "My score" in ours or "score" in ours


@pytest.mark.parametrize(("source", "context"), [
    ("{{ _('年度积分') }}", {}),
    ("{{ _('100%%完成') }}", {}),  # a literal % is written %% (formatted even without vars)
    ("{{ _('%(name)s的积分', name=who) }}", {"who": "<b>张三</b>"}),  # variables escaped
    ("{{ _('%(n)d分', n=5) }}", {}),
    ("{{ _(text) }}", {"text": "<script>"}),  # the message itself is not escaped, as jinja2
    ("{{ _('已收到 <strong>{x}</strong> / {n} 份').format(x=a, n=b) }}", {"a": "<i>", "b": 3}),
    ("{% autoescape false %}{{ _('%(name)s', name=who) }}{% endautoescape %}",
     {"who": "<b>"}),
])
def test_formatting_and_escaping_as_jinja2(language: str, source: str,
                                           context: dict[str, object]) -> None:
    reference, ours = _both(source, **context)
    assert ours == reference
