"""The server-drawn SVG bar charts: labelled for screen readers, escaped, and honest
about figures that are not shown."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from signalling.charts import Series, bar_chart, nice_top

SVG = "{http://www.w3.org/2000/svg}"


def test_a_chart_is_an_image_with_a_title_and_a_description() -> None:
    svg = str(
        bar_chart(
            "chart-x",
            "Termine <&>",
            "Buchungen je Monat",
            ["06/2026", "07/2026"],
            [Series("Buchungen", [17, None]), Series("Abgehalten", [13, 0])],
        )
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output, well-formed or the test fails
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-x-title chart-x-desc"
    assert root.findtext(f"{SVG}title") == "Termine <&>"  # escaped in the markup
    assert root.findtext(f"{SVG}desc") == "Buchungen je Monat"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "17" in texts and "13" in texts and "–" in texts  # hidden: a dash, no bar
    bars = [r for r in root.iter(f"{SVG}rect") if float(r.get("height", "0")) > 12]
    assert len(bars) == 2  # 17 and 13 (a zero has no height; the legend's squares are 12)
    assert not re.search(r"style=", svg)  # the CSP allows no inline styles


def test_the_axis_is_round_and_counts_in_whole_steps() -> None:
    assert nice_top(13, whole=True) == (15, 5)
    assert nice_top(2, whole=True) == (2, 1)
    assert nice_top(7.5) == (8, 2)
    assert nice_top(0) == (1, 1)
