"""Bar charts drawn on the server as SVG: no script, no library, and readable
without sight (a title and a description that the SVG is labelled by; the page puts
the same figures in a table beside it).

The colours are set as SVG attributes, not styles, so the page's strict Content
Security Policy (no inline styles) lets them through. Each has a contrast of at
least 3:1 against white (WCAG 1.4.11, graphical objects), and a legend names them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#1d4f91", "#a34a00", "#2e6b30", "#6a1b9a", "#00695c", "#b3140d")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, BOTTOM = 56, 12, 40  # room for the axis and its labels
LEGEND_LINE = 20
CHAR_WIDTH = 6.6  # about, for 12 px text: where the legend wraps
MIN_LABELLED_BAR = 18  # narrower bars carry no figure above them (the table has it)


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]  # one per group; None: not shown (hidden or none)


def nice_top(largest: float, whole: bool = False) -> tuple[float, float]:
    """A round top of the axis at or above ``largest``, and its tick step (a whole
    number for counts)."""
    if largest <= 0:
        return 1.0, 1.0
    magnitude = 10 ** math.floor(math.log10(largest))
    for step in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0):
        tick = step * magnitude
        if whole and tick != int(tick):
            continue
        if largest / tick <= 5:
            return tick * math.ceil(largest / tick), tick
    return 10 * magnitude, 2 * magnitude  # unreachable: 10x magnitude covers it


def _number(value: float) -> str:
    """German: a decimal comma, at most one decimal."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    groups: Sequence[str],
    series: Sequence[Series],
) -> Markup:
    """Grouped vertical bars: one group per entry of ``groups`` (the periods), one bar
    per series in each."""
    legend, top_margin = _legend([s.label for s in series])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - top_margin - BOTTOM
    values = [v for s in series for v in s.values if v is not None]
    top, tick = nice_top(max(values, default=0.0), all(v == int(v) for v in values))
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    base = top_margin + plot_h  # the y of the axis
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bb-chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        *legend,
    ]

    def y_of(value: float) -> float:
        return base - (value / top) * plot_h

    steps = round(top / tick)
    for n in range(steps + 1):
        y = y_of(n * tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#c8c8c8" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#1b1b1b">{_number(n * tick)}</text>'
        )
    every = max(1, math.ceil(len(groups) / 12))  # at most a dozen labels on the axis
    for g, group in enumerate(groups):
        x0 = LEFT + g * group_w + group_w * 0.1
        for index, one in enumerate(series):
            value = one.values[g]
            x = x0 + index * bar_w
            if value is None:
                if bar_w >= MIN_LABELLED_BAR:
                    parts.append(_label(x + bar_w / 2, base - 4, "–"))
                continue
            y = y_of(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{base - y:.1f}" fill="{PALETTE[index % len(PALETTE)]}"/>'
            )
            if bar_w >= MIN_LABELLED_BAR:
                parts.append(_label(x + bar_w / 2, y - 4, _number(value)))
        if g % every == 0:
            parts.append(
                f'<text x="{LEFT + (g + 0.5) * group_w:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                f'text-anchor="middle" font-size="12" fill="#1b1b1b">{escape(group)}</text>'
            )
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" '
        f'stroke="#1b1b1b" stroke-width="1"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


def _legend(labels: Sequence[str]) -> tuple[list[str], int]:
    """The legend, flowed into lines across the chart's width; the room it takes."""
    parts, x, y = [], float(LEFT), 8
    for index, label in enumerate(labels):
        width = 16 + len(label) * CHAR_WIDTH + 16
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, y = float(LEFT), y + LEGEND_LINE
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16:.1f}" y="{y + 10}" font-size="12" fill="#1b1b1b">'
            f"{escape(label)}</text>"
        )
        x += width
    return parts, y + LEGEND_LINE + 16


def _label(x: float, y: float, text: str) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="11" '
        f'fill="#1b1b1b">{escape(text)}</text>'
    )
