"""The one Jinja environment of the pages and the printed notices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from jinja2.nodes import EvalContext
from markupsafe import Markup

from app.models import EntryStatus, ObjectionStatus, RatingStatus, ReviewStatus
from app.points import GRADE_LABELS, Grade
from app.present import i18n
from app.present.early_words import early_warning
from app.present.labels import (
    CATEGORY_LABELS,
    EXEMPTION_REASON_LABELS,
    EXEMPTION_STATUS_LABELS,
    KIND_LABELS,
    LEAVE_KIND_LABELS,
    LEFT_KIND_LABELS,
    QUARTER_NAMES,
    STANDING_LABELS,
    STATUS_LABELS,
    SUSPENSION_KIND_LABELS,
    beijing,
    quantity_text,
    quarter_name,
    signed,
)
from app.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"

# In production the templates are those of the installed release: no stat() per render.
env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                         extensions=["jinja2.ext.i18n"], autoescape=True,
                         auto_reload=get_settings().env == "development")
env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True)


@jinja2.pass_eval_context
def _gettext(eval_ctx: EvalContext, message: str, /, **variables: Any) -> str:
    """The templates' `_()` and `gettext()`: what jinja2's newstyle gettext does (escaped
    under autoescape, the variables %-formatted in), in one call where jinja2 makes three
    (`_` resolves `gettext`, which calls the function through the context). A member's
    page calls it some thirty times: it was a third of the template's time."""
    text = i18n.gettext(message)
    translated = Markup(text) if eval_ctx.autoescape else text
    # A text without "%" and no variables is itself (jinja2 formats it with {} anyway).
    return translated % variables if variables or "%" in text else translated


env.globals.update(gettext=_gettext, _=_gettext)
env.globals.update(
    Grade=Grade, EntryStatus=EntryStatus, ReviewStatus=ReviewStatus,
    ObjectionStatus=ObjectionStatus, RatingStatus=RatingStatus,
    rule_item_name=i18n.rule_item_name, signed=signed, bj=beijing,
    quantity_text=quantity_text,
    quarter_name=quarter_name, quarter_names=QUARTER_NAMES, kind_labels=KIND_LABELS,
    status_labels=STATUS_LABELS, category_labels=CATEGORY_LABELS,
    grade_labels={g.value: label for g, label in GRADE_LABELS.items()},
    standing_labels=STANDING_LABELS, leave_kind_labels=LEAVE_KIND_LABELS,
    left_kind_labels=LEFT_KIND_LABELS,
    suspension_kind_labels=SUSPENSION_KIND_LABELS,
    exemption_reason_labels=EXEMPTION_REASON_LABELS,
    exemption_status_labels=EXEMPTION_STATUS_LABELS, early_warning=early_warning)
