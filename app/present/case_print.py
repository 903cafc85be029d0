"""A disposal case (appraisal.md §5) printed as the paper 审批表 for the file: the member,
the branch, the ground and year, every step in order with who, when and its words, the
state and outcome, and blank lines for the branch's and the 党委's signatures and seals.
The print page and its PDF come from one template, as the printed notices do
(app/present/print_notice.py)."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from app.models import Org
from app.present import case_words
from app.present.i18n import _
from app.present.print_notice import Notice
from app.services.case_view import CaseFile


def case_notice(session: Session, file: CaseFile) -> Notice:
    """The case's 审批表: one template for the page and the PDF."""
    case, org, member = file.case, file.org, file.member
    above = session.get(Org, org.parent_id) if org.parent_id is not None else None
    heading = _("不合格党员处置审批表")
    context = {
        "case": case, "org_name": org.name, "member_name": member.name,
        "above_name": above.name if above is not None else _("上级党委"),
        "heading": heading, "title": f"{org.name} {heading} {member.name}",
        "ground": _(case_words.GROUND_LABELS[case.ground]),
        "measure": case_words.measure_text(case.measure, case.months),
        "deadline": case_words.day_text(case.deadline) if case.deadline else None,
        "state": case_words.case_state(case),
        "due": case_words.next_step_text(file.due) if file.due is not None else None,
        "lines": [_filing_once(line) for line in case_words.step_lines(file)],
        "draft_mark": None, "signed_on": None,
    }
    return Notice("print/case.html", context,
                  f"{org.name}{member.name}{case.year}年处置审批表.pdf", f"case-{case.id}.pdf")


def _filing_once(line: case_words.StepLine) -> case_words.StepLine:
    """The form's head already says the ground, the year and the filing's note: its first
    step keeps only its date."""
    if line.kind != "file":
        return line
    return replace(line, facts=line.facts[:1], text="")
