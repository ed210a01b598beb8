"""``buergerbuero analyse``: the support command prints what the analysis found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signalling.cli import main
from tests.helpers.constants import SAMPLES


def test_analyse_prints_the_mrz_and_every_check_as_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = SAMPLES / "deu_idcard_2021_back.png"
    if not image.exists():
        pytest.skip(f"the shared specimen {image} is not there")
    assert main(["analyse", str(image), "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["mrz"]["valid"] is True
    assert result["mrz"]["line_valid"] == [True, True, None]  # TD1: the names unchecked
    assert set(result["mrz"]["checks"]) == {
        "document_number",
        "birth_date",
        "expiry_date",
        "composite",
    }
    assert result["mrz"]["fields"]["document_number"] == "L01X00T47"
    assert result["mrz"]["lines"] == [
        "IDD<<L01X00T471<<<<<<<<<<<<<<<",
        "8308126<3108011D<<2108<<<<<<<7",
        "MUSTERMANN<<ERIKA<<<<<<<<<<<<<",
    ]


def test_analyse_says_when_an_image_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "nicht-lesbar.png"
    broken.write_bytes(b"not an image")
    assert main(["analyse", str(broken)]) == 1
