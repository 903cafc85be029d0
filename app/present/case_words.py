"""A disposal case in words (appraisal.md §5), for its pages, its print and its notices: the
names of grounds, measures, states and steps, and each recorded step as people read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.clock import CHINA
from app.models import CaseStep, DisposalCase, StepKind
from app.present.i18n import N_, _, ngettext
from app.present.labels import full_day_text, moment_text
from app.services.case_view import CaseFile
from app.services.cases import Due, Party, step_day

GROUND_LABELS = {"unqualified_rating": N_("民主评议被评为不合格，经教育仍无转变"),
                 "lost_contact": N_("失去联系六个月以上"),
                 "no_participation": N_(
                     "无正当理由连续六个月不参加组织生活、不交纳党费或不做分配的工作"),
                 "other": N_("其他")}
MEASURE_LABELS = {"rectify": N_("限期改正"), "persuade": N_("劝其退党"), "expel": N_("除名")}
CASE_STATUS_LABELS = {"filed": N_("已启动"), "investigated": N_("已调查核实"),
                      "talked": N_("已谈话"), "proposed": N_("待上级预审"),
                      "prereviewed": N_("待支部大会表决"), "voted": N_("待上级审批"),
                      "rectifying": N_("限期改正中"), "persuading": N_("待劝退结果"),
                      "closed": N_("已办结")}
OUTCOME_LABELS = {"not_adopted": N_("支部大会未通过"), "refused": N_("上级未批准"),
                  "persuaded": N_("本人已退党（劝退）"), "expelled": N_("已除名"),
                  "rectified": N_("已改正")}
STEP_LABELS = {"file": N_("启动组织处置"), "investigation": N_("调查核实"),
               "talk": N_("谈话"), "proposal": N_("支委会提出处置意见"),
               "prereview": N_("上级预审"), "defence": N_("本人申辩"),
               "vote": N_("支部大会表决"), "decision": N_("上级审批"),
               "withdrawal": N_("劝退结果"), "followup": N_("期满考察"),
               "appeal": N_("申诉"), "appeal_answer": N_("申诉答复")}
PARTY_LABELS = {Party.branch_committee: N_("支部委员会"), Party.committee_above: N_("上级党委"),
                Party.member: N_("本人")}
RESULT_LABELS = {"approve": N_("同意"), "return": N_("退回重议"), "refuse": N_("不批准"),
                 "agreed": N_("本人同意退党"), "refused": N_("劝而不退"),
                 "rectified": N_("已改正"), "not_rectified": N_("仍未改正")}


def day_text(day: date) -> str:
    """2026年1月5日: a case's dates span years."""
    return full_day_text(day)


@dataclass(frozen=True)
class StepLine:
    """A recorded step: its name, who and when, its facts, its words."""

    kind: str
    title: str
    by: str
    at: str
    facts: list[str]
    text: str


def measure_text(measure: str | None, months: int | None) -> str:
    if measure is None:
        return ""
    if measure == "rectify" and months:
        return ngettext("限期改正（{n}个月）", "限期改正（{n}个月）", months).format(n=months)
    return _(MEASURE_LABELS[measure])


def case_state(case: DisposalCase) -> str:
    """已办结：已除名, or the state it waits in."""
    if case.outcome is not None:
        return _("{state}：{outcome}").format(state=_(CASE_STATUS_LABELS[case.status]),
                                             outcome=_(OUTCOME_LABELS[case.outcome]))
    return _(CASE_STATUS_LABELS[case.status])


def _facts(file: CaseFile, step: CaseStep) -> list[str]:
    names = file.member_names
    case = file.case
    match step.kind:
        case StepKind.file:
            return [_("启动日期：{d}").format(d=day_text(step_day(step))),
                    _("理由：{g}").format(g=_(GROUND_LABELS[case.ground])),
                    _("年度：{y}").format(y=case.year)]
        case StepKind.investigation:
            return [_("调查核实日期：{d}").format(d=day_text(step_day(step)))]
        case StepKind.talk:
            return [_("谈话日期：{d}").format(d=day_text(step.on)) if step.on else "",
                    _("谈话人：{a}、{b}").format(a=names.get(step.talker1_id or 0, ""),
                                             b=names.get(step.talker2_id or 0, ""))]
        case StepKind.proposal:
            return [_("处置意见：{m}").format(m=measure_text(step.measure, step.months))]
        case StepKind.vote:
            return [_("表决日期：{d}").format(d=day_text(step.on)) if step.on else "",
                    _("应到会有表决权的党员 {e} 名，实到 {p} 名").format(
                        e=step.eligible, p=step.present),
                    _("赞成 {f}，反对 {a}，弃权 {b}").format(
                        f=step.votes_for, a=step.against, b=step.abstain),
                    # Not 通过/未通过: those are an entry's Approve and Rejected.
                    _("表决通过") if step.passed else _("表决未通过")]
        case StepKind.decision:  # the level above's 批准 (a prereview's approve is 同意)
            return [_("予以批准") if step.result == "approve" else _(RESULT_LABELS["refuse"]),
                    _("审批日期：{d}").format(d=day_text(step.on)) if step.on else ""]
        case StepKind.appeal if step.on_behalf:
            return [_("本人已离开，由上级党委代为登记")]
    return [_(RESULT_LABELS[step.result])] if step.result in RESULT_LABELS else []


def step_lines(file: CaseFile) -> list[StepLine]:
    """The steps as people read them; one an administrator recorded (an account that is no
    member's) says 系统管理员, not a login name."""
    return [StepLine(kind=s.kind, title=_(STEP_LABELS[s.kind]),
                     by=file.by(s) or _("系统管理员"), at=moment_text(s.at),
                     facts=[f for f in _facts(file, s) if f], text=s.text) for s in file.steps]


# Steps whose name already says who takes them (上级审批, 本人申辩): "（上级党委办理）"
# after them would say it twice.
NAMES_ITS_PARTY = frozenset({"prereview", "decision", "defence", "proposal"})


def next_step_text(due: Due) -> str:
    """期满考察（支部委员会办理）: the step due and who takes it, nothing that changes by the
    day (the printed 审批表's 待办 is filed and read long after)."""
    if due.kind in NAMES_ITS_PARTY:
        return _(STEP_LABELS[due.kind])
    return _("{step}（{by}办理）").format(step=_(STEP_LABELS[due.kind]),
                                      by=_(PARTY_LABELS[due.by]))


def returned_text(file: CaseFile) -> str | None:
    """上级党委于2027年1月6日退回重议：…, while the case waits for the committee's new
    proposal after a prereview returned it (its state reads 已谈话 again)."""
    last = file.steps[-1] if file.steps else None
    if last is None or last.kind != "prereview" or last.result != "return":
        return None
    day = last.on or last.at.astimezone(CHINA).date()
    text = _("上级党委于{d}退回重议。").format(d=day_text(day))
    return text + (_("意见：{t}").format(t=last.text) if last.text else "")


def due_text(due: Due | None) -> str:
    """下一步：调查核实（支部委员会）, with the deadline and the days left for 期满考察."""
    if due is None:
        return _("案件已办结。")
    text = _("下一步：{step}").format(step=next_step_text(due))
    if due.deadline is not None and due.days_left is not None:
        if due.days_left > 0:
            text += _("。改正期限至 {d}，还有 {n} 天").format(d=day_text(due.deadline),
                                                       n=due.days_left)
        else:
            text += _("。改正期限 {d} 已到，可以进行期满考察").format(d=day_text(due.deadline))
    return text
