"""A town file that passes every check, for tests that change one thing in it."""

from __future__ import annotations

# A small but valid town file; each broken case below changes one thing in it.
VALID = """\
closing_days = ["2026-12-24"]

[town]
id = "musterstadt"
name = "Musterstadt"
office_name = "Bürgerbüro Musterstadt"
email = "buergerbuero@musterstadt.test"

[booking]
unit_minutes = 5

[[virtual_hours]]
days = ["mon", "tue"]
from = "07:00"
to = "08:00"

[[services]]
id = "meldebescheinigung"
name = "Meldebescheinigung"
name_en = "Registration certificate"
duration_minutes = 10
fee_cents = 1000
verification_required = true
skill = "meldewesen"
delivery = "town"
"""
