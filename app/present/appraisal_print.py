"""The A4 forms of the annual appraisal (appraisal.md §3): the level above's 汇总表, and the
blank forms of a branch meeting held on paper, the 民主评议党员测评表 and a member's
年度积分登记表. Printed from the browser or made into a PDF like the notices
(app/present/print_notice.py): one template, two outputs.
"""

from __future__ import annotations

from app.models import Entry
from app.points import Kind
from app.present.exports import NOT_RATED, RATING_STATES
from app.present.i18n import _
from app.present.labels import rule_name
from app.present.print_notice import Notice
from app.services.appraisal_summary import GRADES, AppraisalSummary, BranchAppraisal
from app.services.paper_forms import BallotForm, Register


def percent_text(ratio: float | None) -> str:
    """0.8333 → 83.3%; no ballot → —."""
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def rating_state(branch: BranchAppraisal) -> str:
    return _(RATING_STATES[branch.status]) if branch.status else _(NOT_RATED)


def appraisal_notice(summary: AppraisalSummary) -> Notice:
    """The 汇总表: a line per branch in tree order, and the totals, A4 across."""
    org = summary.org
    heading = _("{year}年度民主评议党员汇总表").format(year=summary.year)
    context = {
        "summary": summary, "org_name": org.name, "heading": heading,
        "title": f"{org.name} {heading}", "grades": GRADES, "rating_state": rating_state,
        "percent_text": percent_text, "draft_mark": None,
    }
    return Notice("print/appraisal_summary.html", context,
                  f"{org.name}{summary.year}年度民主评议汇总表.pdf")


def ballot_form_notice(form: BallotForm) -> Notice:
    """The 民主评议党员测评表: the graded members, four boxes each, nothing else."""
    heading = _("{year}年度民主评议党员测评表").format(year=form.rating.year)
    context = {"org_name": form.org.name, "heading": heading,
               "title": f"{form.org.name} {heading}", "lines": form.lines, "grades": GRADES,
               "draft_mark": None}
    return Notice("print/ballot_form.html", context,
                  f"{form.org.name}{form.rating.year}年度民主评议党员测评表.pdf")


def register_notice(register: Register) -> Notice:
    """The member's 年度积分登记表."""
    score, org = register.score, register.org
    rules = score.rules

    def item_name(code: str) -> str:
        item = rules.item(code)
        return rule_name(item) if item is not None else code

    def quantity(entry: Entry) -> str:
        """The count of a per-time item; a chosen-points or veto item has none."""
        item = rules.item(entry.rule_code)
        if item is None or item.chosen_points or item.kind is Kind.veto:
            return ""
        return str(entry.quantity)

    heading = _("{year}年度党员积分登记表").format(year=score.year)
    context = {"org_name": org.name, "heading": heading,
               "title": f"{org.name} {register.member.name} {heading}",
               "register": register, "item_name": item_name, "quantity": quantity,
               "max_stars": len(rules.params.star_thresholds), "draft_mark": None}
    return Notice("print/register.html", context,
                  f"{org.name}{register.member.name}{score.year}年度党员积分登记表.pdf")
