"""Geometry of the staff report's questions-per-day chart, for inline SVG in admin.html.

Numbers only: where each bar, label and tick goes, and a sentence describing the chart for
screen readers. No markup (the template draws it) and no data access (the report's `daily`
table is passed in).
"""

from __future__ import annotations

from qa.questionlog.report import REPLY_NAMES

# The stacks of a day's bar, bottom up: the gaps first, where staff look.
CHART_KINDS = ("not_covered", "related", "answered", "smalltalk")
CHART_NAMES = {**REPLY_NAMES, "smalltalk": "hilsen eller takk"}


def chart(daily: list[dict], width: int = 720, height: int = 220) -> dict:
    """Geometry of the questions-per-day bar chart: one stack per day, CHART_KINDS bottom up."""
    left, right, top, bottom = 40, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((d["count"] for d in daily), default=0)
    scale_max = _nice_ceiling(peak)
    slot = plot_w / max(len(daily), 1)
    bar_w = max(slot * 0.8, 1.0)
    bars = []
    for i, day in enumerate(daily):
        x = left + i * slot + (slot - bar_w) / 2
        parts, below = [], 0
        for kind in CHART_KINDS:
            if day[kind]:
                y_top = top + plot_h - plot_h * (below + day[kind]) / scale_max
                parts.append({"kind": kind, "y": round(y_top, 1), "height": round(plot_h * day[kind] / scale_max, 1)})
                below += day[kind]
        counts = ", ".join(f"{day[kind]} {CHART_NAMES[kind]}" for kind in CHART_KINDS if day[kind])
        bars.append(
            {
                "label": f"{_short(day['day'])}: {day['count']} spørsmål" + (f" ({counts})" if counts else ""),
                "x": round(x, 1),
                "width": round(bar_w, 1),
                "parts": parts,
            }
        )
    step = max(1, round(len(daily) / 6))  # about six dates along the axis
    labelled = list(range(0, len(daily), step))
    if labelled and len(daily) - 1 - labelled[-1] >= step / 2:
        labelled.append(len(daily) - 1)  # the last day too, unless it would crowd its neighbour
    xlabels = [{"x": round(left + i * slot + slot / 2, 1), "text": _short(daily[i]["day"])} for i in labelled]
    yticks = [
        {"y": round(top + plot_h - plot_h * v / scale_max, 1), "text": str(v)} for v in (0, scale_max // 2, scale_max)
    ]
    busiest = max(daily, key=lambda d: d["count"], default=None)
    total = sum(d["count"] for d in daily)
    desc = f"{total} spørsmål over {len(daily)} dager."
    if busiest and busiest["count"]:
        desc += f" Flest {_short(busiest['day'])}: {busiest['count']}."
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": top + plot_h,
        "label_y": height - 8,
        "bars": bars,
        "xlabels": xlabels,
        "yticks": yticks,
        "description": desc,
    }


def _nice_ceiling(value: int) -> int:
    """The smallest round number at least `value` (2, 4, 6, 8, 10, 12, 16, 20, 30, ... 80, 100,
    120, ...): even, so the midline label is whole."""
    magnitude = 1
    while True:
        for nice in (2, 4, 6, 8, 10, 12, 16, 20, 30, 40, 50, 60, 80):
            if nice * magnitude >= value:
                return nice * magnitude
        magnitude *= 10


def _short(day: str) -> str:
    """'2026-11-27' as '27.11.'"""
    return f"{int(day[8:10])}.{int(day[5:7])}."
