"""What a person reads when the workflow refuses something, by error code (Chinese msgids)."""

from __future__ import annotations

from app.services.errors import DomainError
from app.web.i18n import _

# The API's detail is English for programs; people on the pages read these.
MESSAGES: dict[str, str] = {
    "quarter_locked": ("该季度已定稿，不能再新增、审核或撤销其中的记录。"
                       "更正请在未定稿季度新增一条记录，并在说明中注明原记录。"),
    "pending_entries": "本季度还有待审核的积分记录，请先审核通过或退回。",
    "objections_open": "还有未答复的异议，请先答复。",
    "notice_running": "公示期尚未结束，结束后才能定稿。",
    "previous_quarter_open": "上一季度尚未定稿，请先定稿上一季度。",
    "review_not_draft": "评议已公示或定稿，评议分不能再修改。",
    "review_not_published": "只有公示中的评议才能进行此操作。",
    "review_exists": "该季度的评议已经创建。",
    "review_changed": "评议刚被其他人修改，请刷新后重试。",
    "quarter_not_started": "该季度尚未开始。",
    "quarters_not_finalized": "四个季度都定稿后才能进行年度评星定级。",
    "rating_exists": "该年度的评星定级已经创建。",
    "rating_final": "年度评星定级已审定，不能再修改。",
    "excellent_cap": "优秀人数已达上限（不超过参评人数的三分之一），请先调整其他人的等次。",
    "vetoed_member": "被一票否决的党员只能评为不合格。",
    "exempt_member": "该党员本年度免评，不参加定级。",
    "exempt_not_marked": "免评须先在党员信息中标注并写明原因。",
    "rules_frozen": "该年度已有季度定稿，积分规则已锁定。",
    "own_entry": "不能审核或撤销关于自己的记录，请由其他支委处理。",
    "self_report_kind": "党员只能申报正向得分和加分项目。",
    "not_pending": "该记录已经处理过了。",
    "not_approved": "只有已通过的记录才能撤销。",
    "reason_required": "请填写理由。",
    "response_required": "请填写答复内容。",
    "text_required": "请写明异议内容。",
    "future_date": "日期不能晚于今天。",
    "before_joined": "日期早于入党（转入）日期。",
    "unknown_rule": "没有这个积分项目。",
    "category_not_applicable": "该项目不适用于这位党员的类别。",
    "points_required": "请填写分值。",
    "points_out_of_range": "分值超出允许范围。",
    "quantity_out_of_range": "次数须为1到100之间的整数。",
    "username_taken": "用户名已被使用，请换一个。",
    "exempt_reason_required": "标注免评须写明原因。",
    "not_a_branch": "只有党支部可以进行此操作。",
    "not_branch_member": "只有本支部党员可以提出异议。",
    "objection_resolved": "该异议已经答复。",
    "committee_only": "只有支委可以进行此操作。",
    "admin_only": "只有管理员可以进行此操作。",
    "not_found": "没有找到，或不在您的权限范围内。",
    "too_many_attempts": "登录失败次数过多，请15分钟后再试。",
    "bad_credentials": "用户名或密码不正确。",
    "concurrent_change": "其他人刚刚修改了同一内容，请刷新后重试。",
    "csrf_failed": "页面已过期，请刷新后重试。",
    "validation_error": "填写的内容有误，请检查后重试。",
}


def message_for(error: DomainError) -> str:
    text = MESSAGES.get(error.code)
    return _(text) if text else error.detail
