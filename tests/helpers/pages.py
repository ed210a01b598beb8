"""Reading the HTML pages the way a browser's form would."""

from __future__ import annotations

import re


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def slots_of(html: str) -> list[str]:
    """The slot start times a booking page offers, as ISO strings."""
    return re.findall(r'name="starts_at" value="([^"]+)"', html)
