"""What a person reads when the workflow refuses something, by error code (Chinese msgids)."""

from __future__ import annotations

from datetime import date

from babel.numbers import format_compact_decimal

from app.present.case_words import STEP_LABELS, day_text
from app.present.early_words import early_warning
from app.present.i18n import N_, _, current_language
from app.present.labels import quarter_name
from app.services.case_steps import DateBeforeStep
from app.services.early_steps import ReasonRequired
from app.services.entries import MemberLeft, NoteRequired, QuarterLocked
from app.services.errors import DomainError, TooManyAttempts
from app.services.evidence import PhotoTooManyPixels

# An entry dated on or after the day its member left (app/services/entries.MemberLeft; an
# imported row's problem too, app/web/committee/imports.py).
LEFT_BEFORE_ENTRY = N_("{name}已于{left_on}离开党员队伍，此后的积分记录不能再登记。")

# The API's detail is English for programs; people on the pages read these (translated
# by message_for in the language of the request).
MESSAGES: dict[str, str] = {
    "quarter_locked": N_("该季度已确认，不能再新增、审核或撤销其中的记录。"
                         "更正请在未确认季度新增一条记录，并在说明中注明原记录。"),
    "pending_entries": N_("本季度还有待审核的积分记录，请先审核通过或退回。"),
    "objections_open": N_("还有未答复的异议，请先答复。"),
    "notice_running": N_("公示期尚未结束，结束后才能确认。"),
    "previous_quarter_open": N_("上一季度尚未确认，请先确认上一季度。"),
    "review_not_draft": N_("评议已公示或确认，评议分不能再修改。"),
    "review_not_published": N_("只有公示中的评议才能进行此操作。"),
    "review_exists": N_("该季度的评议已经创建。"),
    "review_changed": N_("评议刚被其他人修改，请刷新后重试。"),
    "quarter_not_started": N_("该季度尚未开始。"),
    "quarters_not_finalized": N_("四个季度都确认后才能进行年度评星定级。"),
    "rating_exists": N_("该年度的评星定级已经创建。"),
    "rating_final": N_("年度评星定级已审定，不能再修改。"),
    "excellent_cap": N_("优秀人数已达上限（不超过参评人数的三分之一），请先调整其他人的等次。"),
    "vetoed_member": N_("被一票否决的党员只能评为不合格。"),
    "exempt_member": N_("该党员本年度免评，不参加定级。"),
    "not_graded": N_("该党员本年度不参加定级（免评或预备党员）。"),
    "not_probationary": N_("预备党员须先在党员信息中登记。"),
    "member_left": N_("该党员已不在党员名册中，记录保留不变。"),
    "committee_above_only": N_("只有上级党组织的委员或管理员可以进行此操作。"),
    "branch_committee_only": N_("这一步骤由本支部委员会办理；上级党委只预审、审批或退回。"),
    "suspension_ended": N_("该权利中止已经结束。"),
    "dates_reversed": N_("结束日期须晚于开始日期。"),
    "note_required": N_("选择“其他”原因须写明说明。"),
    "full_since_not_full": N_("转正日期只能与正式党员身份一起填写。"),
    "leave_required": N_("离开党员队伍须通过“离开”登记并写明类别。"),
    "exempt_not_marked": N_("免评须先在党员信息中标注并写明原因。"),
    "ballot_opened": N_("民主测评已经开启过：每年只能开启一次，"
                        "开启后本年度的免评也不能再登记或撤回。"),
    "already_full": N_("该党员已是正式党员。"),
    # The standing pages (web/standing.py).
    "standing_invalid": N_("请选择正式党员或预备党员。"),
    "suspension_kind_invalid": N_("请选择权利中止的类别。"),
    "exemption_reason_invalid": N_("请选择免评原因。"),
    "leave_kind_invalid": N_("请选择离开党组织的类别。"),
    "full_since_invalid": N_("请填写转正日期，格式如 2026-01-05。"),
    "starts_on_invalid": N_("请填写开始日期，格式如 2026-01-05。"),
    "ends_on_invalid": N_("请填写结束日期，格式如 2026-01-05。"),
    "left_on_invalid": N_("请填写离开日期，格式如 2026-01-05。"),
    "consent_on_invalid": N_("上级党组织同意日期格式不对，格式如 2026-01-05。"),
    "meeting_on_invalid": N_("支部党员大会日期格式不对，格式如 2026-01-05。"),
    "consent_on_required": N_("请填写上级党组织同意免评的日期：免评须经上级党组织同意。"),
    "meeting_on_required": N_("请填写支部党员大会决定免评的日期：免评由支部党员大会决定。"),
    "text_too_long": N_("填写的文字太长了，请不超过1000字。"),
    "rules_frozen": N_("该年度已有季度确认，积分规则已锁定。"),
    "rules_file_invalid": N_("规则文件有误，没有导入。请按下面的提示修改后再上传："),
    "rules_file_too_large": N_("规则文件太大（最多 256 KB），请上传导出的规则文件。"),
    "rules_file_missing": N_("请先选择要上传的规则文件。"),
    "own_entry": N_("不能审核或撤销关于自己的记录，请由其他支委处理。"),
    "own_objection": N_("不能答复自己提出的异议，请由其他支委答复。"),
    "self_report_kind": N_("党员只能申报正向得分和加分项目。"),
    "not_pending": N_("该记录已经处理过了。"),
    "not_approved": N_("只有已通过的记录才能撤销。"),
    # A rejected self-report corrected and sent again (issue 17).
    "not_own_entry": N_("只有党员本人可以修改后重新提交自己的记录；"
                        "支委可以直接为其登记一条正确的记录。"),
    "not_rejected": N_("只有未通过的记录才能修改后重新提交。"),
    "already_resubmitted": N_("这条记录已经重新提交过了，请看“我的记录”里新的那一条。"),
    "reason_required": N_("请填写理由。"),
    "response_required": N_("请填写答复内容。"),
    "text_required": N_("请写明异议内容。"),
    "future_date": N_("日期不能晚于今天。"),
    "before_joined": N_("日期早于入党（转入）日期。"),
    "unknown_rule": N_("没有这个积分项目。"),
    "category_not_applicable": N_("该项目不适用于这位党员的类别。"),
    # The attendance register (签到登记, app/services/attendance.py).
    "nothing_to_record": N_("没有人打勾，也没有要记的缺席：没有可记录的内容。"),
    "absences_not_for_item": N_("只有正向得分项目（如参加会议、学习）的签到才能记缺席。"),
    "form_unreadable": N_("提交的内容无法读取（可能是选项太多或文件不完整），请返回后重新提交。"),
    "one_at_a_time": N_("一票否决和一次扣分较多的记录不能用签到登记，请用“记一笔积分”逐人记录："
                        "那里会显示每人得分的变化，并要求写明理由。"),
    "absence_item_missing": N_("本年度积分规则中没有“无故缺席组织生活”（N01）项目，无法记缺席。"),
    "not_in_branch": N_("不是本支部的党员。"),
    "listed_twice": N_("名单中重复出现。"),
    "present_and_excused": N_("既打勾到会又标了请假。"),
    "too_many_members": N_("一次签到最多登记1000人。"),
    "points_required": N_("请填写分值。"),
    "points_out_of_range": N_("分值超出允许范围。"),
    "quantity_out_of_range": N_("次数须为1到100之间的整数。"),
    "username_taken": N_("用户名已被使用，请换一个。"),
    "exempt_reason_required": N_("标注免评须写明原因。"),
    "not_a_branch": N_("只有党支部可以进行此操作。"),
    "not_branch_member": N_("只有本支部党员可以提出异议。"),
    "objection_resolved": N_("该异议已经答复。"),
    "committee_only": N_("只有支委或管理员可以进行此操作。"),
    "admin_only": N_("只有管理员可以进行此操作。"),
    "bad_name": N_("名称只能用字母、数字和 _ . @ -，2到64个字符。"),
    "bad_note": N_("备注只能写一行，最多200个字。"),
    "too_many_keys": N_("这个服务账号在用的密钥已有5个，请先吊销一个再新增。"),
    "key_revoked": N_("这个密钥已经吊销了。"),
    "bad_access": N_("请选择只读或读写。"),
    "service_account": N_("服务账号（API密钥）不能进行此操作。"),
    "not_found": N_("没有找到，或不在您的权限范围内。"),
    "no_photo": N_("这条记录没有照片。"),
    "bad_credentials": N_("用户名或密码不正确。"),
    "concurrent_change": N_("其他人刚刚修改了同一内容，请刷新后重试。"),
    "value_out_of_range": N_("填写的数字或文字超出了允许的范围。"),
    "database_unavailable": N_("系统繁忙，请稍后再试。"),
    # A form's one-time key (app/web/once.py): sent again changed after it was saved, or
    # sent again while the first send is still being saved.
    "idempotency_key_reused": N_("这张表刚才已经提交过了，这次没有再保存。请先看看刚才提交的内容；"
                                 "要提交新的，请重新打开这一页填写。"),
    "idempotency_in_progress": N_("刚才提交的内容正在保存，请稍等几秒再看。"),
    # The photo volume (JIFEN_UPLOAD_DIR) full or failing: nothing of the form was stored.
    "storage_full": N_("服务器存储空间满了，这次没有保存。请过一会儿再试。"),
    "storage_unavailable": N_("系统繁忙，请稍后再试。"),
    "body_too_large": N_("提交的内容太多了，请删减后重试。"),
    "csrf_failed": N_("页面已过期，请刷新后重试。"),
    "validation_error": N_("填写的内容有误，请检查后重试。"),
    "text_control_character": N_("文字里有看不见的控制字符（多见于从 Word 或网页复制来的文字），"
                                 "没有保存。请删去这段文字后重新输入。"),
    "photo_unreadable": N_("这个文件不是照片，请选择手机拍摄的照片（JPG、PNG、WebP 等格式）。"),
    "photo_too_large": N_("照片太大了，请换一张照片，或用手机重新拍一张。"),
    # The administrator's pages (admin_*.py).
    "name_required": N_("请填写名称。"),
    "member_name_required": N_("请填写姓名。"),
    "name_too_long": N_("名称太长了，请缩短。"),
    "org_kind_invalid": N_("请选择组织类型：党委、党总支或党支部。"),
    "unknown_org": N_("请选择一个组织。"),
    "unknown_parent": N_("所选的上级组织不存在。"),
    "parent_is_branch": N_("党支部下面不能再设组织，请选择党委或党总支作为上级。"),
    "grant_exists": N_("该党员已经是这个组织的支委。"),
    "unknown_member": N_("没有找到这名党员，请重新搜索。"),
    "branch_required": N_("请选择所在支部。"),
    "category_invalid": N_("请选择党员类别。"),
    "joined_on_invalid": N_("请填写入党（转入）日期，格式如 2010-07-01。"),
    "date_invalid": N_("日期格式不对，格式如 2010-07-01。"),
    "username_invalid": N_("用户名须为2到64位字母、数字或 _ . @ -。"),
    "password_too_short": N_("密码至少8位（最多128位）。"),
    "reason_too_long": N_("原因太长了，请不超过500字。"),
    "year_out_of_range": N_("年度须在2000到2100之间。"),
    "points_not_fixed": N_("该项目没有固定分值（每次由支委选定，或为一票否决），"
                           "不能设置每次分值。"),
    "points_invalid": N_("每次分值须为1到100之间的整数。"),
    "cap_invalid": N_("年度上限须为0到1000之间的整数，留空表示不设上限。"),
    "cap_not_allowed": N_("一票否决项目没有年度上限。"),
    "categories_required": N_("请至少选择一个适用类别。"),
    "months_out_of_range": N_("限期改正月数须为1到12之间的整数。"),
    # The committee's pages (committee*.py).
    "review_score_out_of_range": N_("评议分须为0到5之间的整数。"),
    "notice_out_of_range": N_("公示天数须为0到60之间的整数。"),
    "min_notice_out_of_range": N_("最短公示天数须为0到60之间的整数。"),
    "veto_has_no_points": N_("一票否决项目不填次数和分值。"),
    "quantity_not_allowed": N_("该项目填写分值，不填次数。"),
    "points_not_allowed": N_("该项目按次数计分，不填分值。"),
    "invalid_grade": N_("请选择等次。"),
    # The annual rating's steps (appraisal.md §2: app/services/appraisal.py).
    "rating_not_draft": N_("评定表已公示或上报，不能再修改。公示中的可以先撤回公示；"
                           "已上报的须由上级党委退回。"),
    "rating_not_published": N_("只有公示中的评定表才能这样做。"),
    "rating_not_submitted": N_("这份评定表没有在等待审批（可能已被审批或退回）。"),
    "rating_changed": N_("评定表刚被其他人修改，请刷新后重试。"),
    "not_on_rating": N_("您不在本年度的评定名单中（或本年度免评），不能这样做。"),
    "ballot_not_open": N_("民主测评没有在进行，不能投票。"),
    "ballot_open": N_("民主测评还在进行，请先结束测评再公示。"),
    "ballot_required": N_("本年度规则要求先进行民主测评，测评结束后才能公示。"),
    "ballot_full": N_("选票已经全部收回（投票数已达到投票人数），不能再投票或录入。"),
    "already_voted": N_("您已经投过票了，选票投出后不能更改。"),
    "not_a_voter": N_("您不是本次民主测评的投票人。"),
    "no_voters": N_("评定名单中没有可以投票的党员（都已免评、离开或权利中止）。"),
    "own_line": N_("不能给自己投票，请只为其他党员选择等次。"),
    "not_a_graded_line": N_("选票上有一位不参加定级的党员，请刷新页面后重新投票。"),
    "unknown_grade": N_("每位党员只能选优秀、合格、基本合格或不合格，或者不选（弃权）。"),
    "notice_not_running": N_("公示期已结束（或还没有公示），不能再提出异议。"),
    "own_submission": N_("您发布或上报了这份评定，不能由您审批，须由上级党委的其他委员审批。"),
    # Passwords (passwords.py).
    "wrong_password": N_("当前密码不正确。"),
    "password_change_required": N_("请先设置自己的新密码。"),
    "password_too_long": N_("密码最多128位。"),
    "password_is_username": N_("密码不能与用户名相同。"),
    "password_too_simple": N_("密码太简单：不能全是同一个字符，不能是12345678这样的顺序，"
                              "也不能是12121212这样的重复。"),
    "password_unchanged": N_("新密码不能与当前密码相同。"),
    "password_mismatch": N_("两次输入的新密码不一样，请重新输入。"),
    "own_account": N_("不能在这里重置自己的密码，请用“修改密码”。"),
    "committee_member_account": N_("这名党员是支委，密码须由上级党组织的支委或管理员重置。"),
    "no_account": N_("这名党员还没有登录账号。"),
    # Importing members from a table (committee_import.py).
    "bad_file": N_("无法读取这个文件。请上传用模板填写的 Excel（.xlsx）或 CSV 文件；"
                   "旧的 .xls 文件请先另存为 .xlsx。"),
    "import_empty": N_("表格里没有党员，请从第二行起每行填写一名党员。"),
    "column_missing": N_("第一行缺少这一列，请使用导入模板的标题行。"),
    "too_many_rows": N_("一次最多导入300名党员，请分成几个文件。"),
    "branch_unknown": N_("没有这个支部，或不在您负责的范围内。请填写系统中的支部名称。"),
    "branch_ambiguous": N_("有几个支部同名，请改填支部编号。"),
    "category_unknown": N_("类别须填写：在职、流动、离退休或农村无职。"),
    "probation_too_long": N_("入党已满两年，不能是预备党员（预备期一年，延长不超过一年）；"
                             "请登记为正式党员。"),
    "full_not_undone": N_("该党员已经转正，转正不能撤销。"),
    "standing_unknown": N_("身份填“正式党员”或“预备党员”，留空为正式党员。"),
    "username_duplicate": N_("表中另一行用了同一个用户名，每人的用户名须不同。"),
    "import_invalid": N_("文件中有错误，一名党员也没有导入。请改正后重新上传。"),
    "import_expired": N_("检查结果已过期或被改动，请重新上传文件。"),
    "bad_time": N_("页面已过期，请刷新后再点“知道了”。"),
    # Printed notices (printing.py).
    "pdf_unavailable": N_("本服务器暂时不能生成PDF，请打开打印页面，用浏览器打印。"),
    # Importing entries from a sheet (committee_import_entries.py).
    "empty_import": N_("表格里没有记录，请从第二行起每行填写一条积分记录。"),
    "import_too_large": N_("文件太大了，请分成几个文件分别导入。"),
    "member_not_found": N_("没有找到这名党员，或不在您负责的支部。"),
    "member_ambiguous": N_("有几名党员同名，请填写用户名或支部。"),
    "member_required": N_("请填写用户名或姓名。"),
    "name_mismatch": N_("用户名与姓名不是同一个人。"),
    "branch_mismatch": N_("这名党员不在所填的支部。"),
    "date_required": N_("请填写日期。"),
    "date_outside_year": N_("日期不在导入的年度内。"),
    "rule_required": N_("请填写规则编号，如 P01。"),
    "quantity_invalid": N_("数量须为1到100之间的整数。"),
    "points_not_number": N_("分值须为整数。"),
    "note_too_long": N_("说明不能超过1000字。"),
    "status_invalid": N_("状态只能是待审核、已通过、未通过、已撤销，或空着。"),
    "duplicate_entry": N_("这位党员已有一条相同的记录，是否重复导入？"),
    "duplicate_row": N_("表中另有一行与此行完全相同。"),
    # Disposal cases (不合格党员处置, appraisal.md §5).
    "probationary": N_("预备党员不进行组织处置，其问题在转正时处理。"),
    "case_open": N_("该党员已有一件未办结的处置案件。"),
    "not_unqualified": N_("该党员在该年度已审定的评星定级中不是不合格等次。"),
    "already_disciplined": N_("该党员的不合格等次来自一票否决（已受党纪处分），"
                              "不再因同一问题进行组织处置。"),
    "invalid_ground": N_("请选择启动处置的理由。"),
    "measure_not_allowed": N_("本案件不能提出这一处置意见：自行脱党的只能除名；"
                              "限期改正期满仍未改正的，只能劝退或除名；劝而不退的，只能除名。"),
    "wrong_step": N_("案件当前不在这一步骤，请刷新后按顺序办理。"),
    "no_quorum": N_("到会有表决权的党员未超过应到会人数的一半，不能表决。"),
    "deadline_not_reached": N_("限期改正尚未期满，期满后才能进行考察。"),
    "member_only": N_("只有案件所涉党员本人可以办理这一步骤；"
                      "已离开的党员，由上级党委代为登记申诉。"),
    "own_case": N_("党员不能办理涉及本人的处置案件。"),
    "own_proposal": N_("提出处置意见的人不能预审该意见。"),
    "future_year": N_("年度不能晚于今年。"),
    "case_text_too_long": N_("填写的文字太长了，请不超过2000字。"),
    "step_text_required": N_("请填写这一步骤的内容。"),
    "return_note_required": N_("退回时须写明理由。"),
    "unknown_step": N_("没有这个步骤。"),
    "invalid_result": N_("请选择这一步骤的结果。"),
    "date_out_of_order": N_("日期不能早于前一步骤的日期。"),
    "filed_too_early": N_("启动日期不能早于案件年度的1月1日，也不能早于该党员入党的日期。"),
    "talkers_invalid": N_("谈话人须为本支部两名不同的正式党员（权利未被中止），"
                          "且不能是案件所涉党员本人。"),
    "measure_required": N_("请选择处置意见。"),
    "months_not_rectify": N_("只有限期改正需要填写月数。"),
    "counts_required": N_("请填写到会人数和赞成、反对、弃权票数。"),
    "counts_mismatch": N_("赞成、反对、弃权票数之和须等于到会人数。"),
    "present_over_eligible": N_("到会人数不能超过应到会有表决权的党员人数。"),
    "case_required": N_("除名和劝退只能通过处置案件登记。"),
}


# An entry's note_required (NoteRequired), apart from the exemption's and the case's above;
# {points} is the year's basic_single_deduction (10 by default). Also an import row's text.
ENTRY_NOTE_REQUIRED = N_("一票否决或扣{points}分以上，须写明理由（党员本人能看到）。")


def message_for(error: DomainError) -> str:
    if isinstance(error, PhotoTooManyPixels):
        return too_many_pixels(error)
    if isinstance(error, ReasonRequired):
        # Why this step needs one, as the page said before the button.
        return early_warning(error.earliness)
    if isinstance(error, NoteRequired):
        return _(ENTRY_NOTE_REQUIRED).format(points=error.threshold)
    if isinstance(error, MemberLeft):
        return _(LEFT_BEFORE_ENTRY).format(name=error.name, left_on=error.left_on)
    if isinstance(error, DateBeforeStep):
        return _("日期不能早于上一步骤（{step}，{date}）。").format(
            step=_(STEP_LABELS[error.before_kind]), date=day_text(error.before_on))
    if isinstance(error, TooManyAttempts) and error.code not in MESSAGES:
        # The minutes until a try can succeed, as Retry-After says in seconds.
        # Counted per device (app/services/accounts.py): the person's own phone, where they
        # logged in before, is not locked out by someone guessing elsewhere.
        return _("这台手机或电脑登录失败次数过多，请{n}分钟后再试。"
                 "以前登录过的手机或电脑不受影响。").format(n=-(-error.retry_after // 60))
    text = MESSAGES.get(error.code)
    return _(text) if text else error.detail


# A member's own pages (self-report, objections) say what the member can do, where the
# committee's words (MESSAGES) would tell them to do what only a committee member can. The
# API's code is the same; committee pages keep MESSAGES.
MEMBER_MESSAGES: dict[str, str] = {
    "quarter_locked": N_("这个季度已经确认，不能再申报这个季度的事情。"
                         "如果有漏记或记错，请找支部委员更正。"),
    "category_not_applicable": N_("这个项目不适用于您这一类党员，请选择别的项目。"),
    "before_joined": N_("这个日期在您入党（转入）之前，请检查日期。"),
    "review_not_published": N_("这个季度的评议已经不在公示期，不能再提出异议。"
                               "如有疑问，请找支部委员。"),
}


def member_message_for(error: DomainError) -> str:
    """message_for, in the member's words where the member has their own."""
    text = MEMBER_MESSAGES.get(error.code)
    return _(text) if text else message_for(error)


def member_quarter_locked(error: QuarterLocked, open_since: date | None) -> str:
    """A self-report dated in a confirmed quarter: which quarter, from when the member can
    still report this year (`open_since`, None: every quarter so far is confirmed), and
    who corrects what was missed."""
    head = _("{y}年{q}已经确认，不能再申报这个季度的事情。").format(
        y=error.year, q=quarter_name(error.quarter))
    if open_since is not None:
        can = _("现在可以申报{day}及以后的事情；如果日期填错了，请改正后再提交。").format(
            day=_("{y}年{m}月{d}日").format(y=open_since.year, m=open_since.month,
                                          d=open_since.day))
    else:
        can = _("今年到现在的各个季度都已经确认，现在不能申报。")
    return head + can + _("如果有漏记或记错，请找支部委员更正。")


def too_many_pixels(error: PhotoTooManyPixels) -> str:
    """The photo's size and the limit, the limit as people say it (2500万, 25 million)."""
    limit = format_compact_decimal(error.limit, format_type="long", locale=current_language(),
                                   fraction_digits=1)
    return _("照片的像素太多（{width}×{height}），最多{limit}像素。"
             "请换一张照片，或用手机的普通拍照模式重新拍一张。").format(
        width=error.width, height=error.height, limit=limit)
