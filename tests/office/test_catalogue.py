"""The town configuration: the shipped Ostfildern file, and broken files refused."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path

import pytest

from office.catalogue import Delivery, Town, TownConfigError, load_town
from tests.helpers.towns import VALID

GERMAN_NAMES = {
    "abmeldung-ummeldung": "Abmeldung / Ummeldung",
    "meldebescheinigung": "Meldebescheinigung",
    "lebensbescheinigung": "Lebensbescheinigung",
    "fuehrungszeugnis": "Führungszeugnis",
    "gewerbezentralregister": "Auszug aus dem Gewerbezentralregister",
    "steuer-id": "Steuer-ID anfordern",
    "beratung": "Allgemeine Beratung",
}


SECOND_SERVICE = """
[[services]]
id = "{id}"
name = "Zweiter Dienst"
name_en = "Second service"
duration_minutes = {duration}
fee_cents = 0
verification_required = false
skill = "beratung"
delivery = "none"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "town.toml"
    path.write_text(text, "utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(TownConfigError) as info:
        load_town(write(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "town.toml") in message  # names the file it read
    return message


# -- the shipped configuration -----------------------------------------------------


def test_shipped_town_is_ostfildern_in_berlin_time() -> None:
    town = load_town()
    assert town.town.id == "ostfildern"
    assert town.town.timezone == "Europe/Berlin"
    assert town.town.state == "BW"
    assert town.booking.unit_minutes == 5
    assert town.booking.lead_minutes == 30
    assert town.booking.horizon_days == 42
    assert town.closing_days == (date(2026, 12, 24), date(2026, 12, 31))


def test_shipped_town_has_the_seven_services_named_in_german() -> None:
    town = load_town()
    assert {s.id: s.name for s in town.services} == GERMAN_NAMES
    assert len(town.services) == 7
    for service in town.services:
        assert service.display_name("de") == service.name
        assert service.display_name("en") == service.name_en != service.name
        assert service.duration_minutes % town.booking.unit_minutes == 0


def test_only_general_advice_needs_no_verification() -> None:
    town = load_town()
    advice = town.service("beratung")
    assert advice is not None
    assert advice.name == "Allgemeine Beratung"
    assert advice.verification_required is False
    assert advice.delivery is Delivery.NONE
    others = [s for s in town.services if s.id != "beratung"]
    assert all(s.verification_required for s in others)


def test_fuehrungszeugnis_is_delivered_by_the_bundeszentralregister() -> None:
    town = load_town()
    service = town.service("fuehrungszeugnis")
    assert service is not None
    assert service.delivery is Delivery.BZR
    assert service.delivery.value == "bzr"
    assert service.skill == "bundeszentralregister"
    registration = town.service("meldebescheinigung")
    assert registration is not None and registration.delivery is Delivery.TOWN


def test_shipped_town_skills_and_unknown_service() -> None:
    town = load_town()
    assert town.skills == {"meldewesen", "bundeszentralregister", "beratung"}
    assert town.service("reisepass") is None


def test_shipped_virtual_hours_parse_from_and_to() -> None:
    town = load_town()
    first = town.virtual_hours[0]
    assert (first.start, first.end) == (time(7, 0), time(8, 0))
    assert first.applies(date(2026, 6, 1))  # Monday
    assert not first.applies(date(2026, 6, 6))  # Saturday


def test_the_town_fixture_is_the_shipped_configuration(town: Town) -> None:
    assert town == load_town()


# -- files that are refused --------------------------------------------------------


def test_the_valid_sample_loads(tmp_path: Path) -> None:
    town = load_town(write(tmp_path, VALID))
    assert town.town.id == "musterstadt"
    assert [s.id for s in town.services] == ["meldebescheinigung"]


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TownConfigError, match="cannot read town configuration"):
        load_town(tmp_path / "nowhere.toml")


def test_bad_toml_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, VALID.replace('id = "musterstadt"', "id = musterstadt"))
    assert "not valid TOML" in message
    assert "line 4" in message  # the line of the unquoted value


def test_duplicate_service_ids_are_refused(tmp_path: Path) -> None:
    text = VALID + SECOND_SERVICE.format(id="meldebescheinigung", duration=15)
    message = refused(tmp_path, text)
    assert "service ids must be unique" in message


def test_duration_not_a_multiple_of_the_unit_is_refused(tmp_path: Path) -> None:
    text = VALID + SECOND_SERVICE.format(id="beratung", duration=12)
    message = refused(tmp_path, text)
    assert "service beratung: duration 12 is not a multiple of booking.unit_minutes (5)" in (
        message
    )


def test_duration_fits_another_unit(tmp_path: Path) -> None:
    text = VALID.replace("unit_minutes = 5", "unit_minutes = 3") + SECOND_SERVICE.format(
        id="beratung", duration=12
    )
    with pytest.raises(TownConfigError, match=r"meldebescheinigung: duration 10"):
        load_town(write(tmp_path, text))


def test_to_before_from_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, VALID.replace('to = "08:00"', 'to = "06:30"'))
    assert "virtual_hours.0" in message
    assert "'to' (06:30:00) must be after 'from' (07:00:00)" in message


def test_to_equal_to_from_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, VALID.replace('to = "08:00"', 'to = "07:00"'))
    assert "virtual_hours.0" in message and "must be after 'from'" in message


def test_unknown_timezone_is_refused(tmp_path: Path) -> None:
    text = VALID.replace('name = "Musterstadt"', 'name = "Musterstadt"\ntimezone = "Europe/Ostfi"')
    message = refused(tmp_path, text)
    assert re.search(r"town\.timezone: .*Europe/Ostfi", message), message


@pytest.mark.parametrize(
    ("anchor", "extra", "location"),
    [
        ("[booking]\n", "unit_minute = 5\n", "booking.unit_minute"),
        ('office_name = "Bürgerbüro Musterstadt"\n', 'colour = "#ffffff"\n', "town.colour"),
        ('delivery = "town"\n', "price = 10\n", "services.0.price"),
        ('closing_days = ["2026-12-24"]\n', 'closing_day = ["2026-12-31"]\n', "closing_day"),
    ],
)
def test_unknown_extra_key_is_refused(
    tmp_path: Path, anchor: str, extra: str, location: str
) -> None:
    assert anchor in VALID
    message = refused(tmp_path, VALID.replace(anchor, anchor + extra, 1))
    assert f"{location}: Extra inputs are not permitted" in message


def test_every_problem_is_named(tmp_path: Path) -> None:
    text = VALID.replace("duration_minutes = 10", "duration_minutes = 0").replace(
        'delivery = "town"', 'delivery = "pigeon"'
    )
    message = refused(tmp_path, text)
    assert "services.0.duration_minutes" in message
    assert "services.0.delivery" in message


# -- the data-protection officer -----------------------------------------------------


def test_the_dpo_contact_is_optional_and_its_address_checked(tmp_path: Path) -> None:
    assert load_town(write(tmp_path, VALID)).dpo is None
    section = '\n[dpo]\nemail = "datenschutz@musterstadt.test"\naddress = ["Rathaus", "1 Ort"]\n'
    dpo = load_town(write(tmp_path, VALID + section)).dpo
    assert dpo is not None
    assert (dpo.email, dpo.address, dpo.name) == (
        "datenschutz@musterstadt.test",
        ("Rathaus", "1 Ort"),
        "",
    )
    message = refused(tmp_path, VALID + '\n[dpo]\nemail = "keine Adresse"\n')
    assert "dpo.email" in message
    assert load_town().dpo is not None  # the shipped town names one
