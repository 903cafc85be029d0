"""The year's progress as numbers for an inline SVG bar chart: no script, no chart library."""

from __future__ import annotations

from dataclasses import dataclass

from app.present.i18n import _, ngettext

# viewBox units; the SVG scales to the phone's width (about 1 unit = 1 CSS pixel at 360 px).
WIDTH, HEIGHT = 320, 210
PLOT = 290  # bars on the left; the reference line's number in the margin on the right
TOP, BOTTOM = 34, 170  # the plot area: bar values above TOP, quarter names below BOTTOM
SLOT = PLOT / 4
BAR = 44


@dataclass(frozen=True)
class Bar:
    quarter: int
    label: str
    value: int | None  # None: the quarter has not started
    x: float
    y: float
    height: float
    text_x: float
    current: bool


@dataclass(frozen=True)
class ReferenceLine:
    value: int
    y: float
    label: str
    name: str  # what the line is (合格线), written on it at the left


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_width: int
    bar_width: int
    bars: tuple[Bar, ...]
    baseline: float
    line: ReferenceLine | None
    description: str


def _nice_top(highest: int) -> int:
    """The top of the scale: 100 for the usual year, more if the score is higher."""
    top = max(100, highest)
    return -(-top // 10) * 10


def progress_chart(year: int, points: list[tuple[int, str, int | None, bool]],
                   qualifying: int | None) -> Chart:
    """Bars of the running total after each quarter: (quarter, label, ytd or None, current),
    and the dashed 合格线 at the year's `qualifying` score (app/present/rule_words.py).

    The line's name is written at its left end, where the lowest bar is: the bars are
    running totals, so the first quarter's is the shortest."""
    top = _nice_top(max((v for _, _, v, _ in points if v is not None), default=0))
    scale = (BOTTOM - TOP) / top
    bars = []
    parts = []
    for quarter, label, value, current in points:
        centre = SLOT * (quarter - 1) + SLOT / 2
        height = (value or 0) * scale
        bars.append(Bar(quarter=quarter, label=label, value=value, x=centre - BAR / 2,
                        y=BOTTOM - height, height=height, text_x=centre, current=current))
        parts.append(ngettext("{q}{n}分", "{q}{n}分", value).format(q=label, n=value)
                     if value is not None else _("{q}未开始").format(q=label))
    line = None
    if qualifying is not None and 0 < qualifying <= top:
        line = ReferenceLine(value=qualifying, y=BOTTOM - qualifying * scale,
                             label=ngettext("{n}分", "{n}分", qualifying).format(n=qualifying),
                             name=_("合格线"))
        parts.append(_("合格线{n}分").format(n=qualifying))
    description = _("{year}年累计得分：").format(year=year) + _("，").join(parts)
    return Chart(width=WIDTH, height=HEIGHT, plot_width=PLOT, bar_width=BAR, bars=tuple(bars),
                 baseline=BOTTOM, line=line, description=description)
