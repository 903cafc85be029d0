"""What the two import pages share (committee_import.py, committee_import_entries.py): the
Chinese text of a row's problem, and the preview's rows carried to its confirm.

A preview's rows are carried to its confirm in the page itself, signed: nothing is kept
between the two requests, any app server can take the confirm, and what is imported is
exactly what was previewed. The rows read from the file travel as compressed JSON in a
hidden field, with an HMAC-SHA256 (the app's secret key) over the account, the purpose, the
time it was issued and the rows. A changed payload, another account, another purpose
(another year) or a preview older than CARRY_HOURS is refused. The confirm checks every row
again under the locks before writing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib

from app.present.i18n import N_, _
from app.present.labels import QUARTER_NAMES
from app.present.messages import ENTRY_NOTE_REQUIRED, LEFT_BEFORE_ENTRY, MESSAGES
from app.services.access import Actor
from app.services.sheets import Row, RowProblem
from app.settings import get_settings

CARRY_HOURS = 2
# The payload field: a confirm is a plain form under JIFEN_MAX_BODY_KB (1 MB by default).
PAYLOAD_MAX = 900 * 1024
UNPACKED_MAX = 8 * 1024 * 1024

# Chinese texts with the row's details (RowProblem.params); the rest come from MESSAGES.
DETAILED = {
    "points_out_of_range": N_("{code}的分值须为{low}到{high}分。"),
    "points_required": N_("{code}须填写分值（{low}到{high}分）。"),
    "date_outside_year": N_("日期须在{year}年内（正在导入{year}年的记录）。"),
    "name_mismatch": N_("这个用户名是{name}的，与姓名不符。"),
    "branch_mismatch": N_("这名党员在{branch}，与支部不符。"),
    "before_joined": N_("日期早于入党（转入）日期 {joined_on}。"),
    "quarter_locked": N_("{quarter_name}已确认，不能再新增其中的记录。"),
    "note_required": ENTRY_NOTE_REQUIRED,  # an entry's (the exemption's is in MESSAGES)
    "member_left": LEFT_BEFORE_ENTRY,
    "duplicate_entry": N_("这位党员已有一条相同的记录（编号{id}），是否重复导入？"),
    "entries_already_imported": N_("您已于{at}导入过这个文件，共{n}条积分记录，不需要再次导入。"
                                   "如确需重新导入，请先撤销那次导入的记录。"),
    "members_already_imported": N_("您已于{at}导入过这个文件，共{n}名党员，所以下面的用户名都已"
                                   "被使用；不需要再次导入。"),
}


def _named(params: dict[str, object]) -> dict[str, object]:
    """The row's details with a quarter's number also as its name (第四季度), the one form
    the pages use."""
    quarter = params.get("quarter")
    if isinstance(quarter, int) and quarter in QUARTER_NAMES:
        params["quarter_name"] = _(QUARTER_NAMES[quarter])
    return params


def row_message(problem: RowProblem) -> str:
    """What a person reads about one problem: Chinese, with its details where known (the
    English message if no code is known)."""
    detailed = DETAILED.get(problem.code)
    if detailed and problem.params:
        try:
            return _(detailed).format_map(_named(dict(problem.params)))
        except (KeyError, ValueError, IndexError):
            pass
    text = MESSAGES.get(problem.code)
    return _(text) if text else problem.message


def _mac(actor: Actor, purpose: str, issued: int, payload: str) -> str:
    key = get_settings().secret_key.encode()
    text = f"{purpose}|{actor.account_id}|{issued}|{payload}".encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def pack_rows(rows: list[Row]) -> str:
    """Rows as compressed JSON in URL-safe base64: what the payload field holds."""
    text = json.dumps([[r.number, r.values] for r in rows], ensure_ascii=False,
                      separators=(",", ":"))
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 6)).decode()


def unpack_rows(payload: str) -> list[Row] | None:
    """The rows of a payload, None if it is not one (or unpacks beyond UNPACKED_MAX)."""
    try:
        unpacker = zlib.decompressobj()
        text = unpacker.decompress(base64.urlsafe_b64decode(payload), UNPACKED_MAX)
        if unpacker.unconsumed_tail:
            return None
        return [Row(int(number), {str(k): str(v) for k, v in values.items()})
                for number, values in json.loads(text)]
    except (binascii.Error, ValueError, TypeError, AttributeError, zlib.error):
        return None


def carry(actor: Actor, purpose: str, rows: list[Row], now: float) -> dict[str, str]:
    """The hidden fields (payload, token) that bring the rows back with the confirm."""
    payload = pack_rows(rows)
    issued = int(now)
    return {"payload": payload, "token": f"{issued}.{_mac(actor, purpose, issued, payload)}"}


def uncarry(actor: Actor, purpose: str, payload: str, token: str,
            now: float) -> list[Row] | None:
    """The rows this account previewed for `purpose` lately, else None."""
    issued_text, _sep, mac = token.partition(".")
    if not (issued_text.isascii() and issued_text.isdigit() and len(issued_text) <= 12):
        return None
    issued = int(issued_text)
    if not 0 <= now - issued <= CARRY_HOURS * 3600:
        return None
    if not hmac.compare_digest(_mac(actor, purpose, issued, payload), mac):
        return None
    return unpack_rows(payload)
