"""The Socket.IO server's JSON codec reads and writes what the standard library does,
but for integers beyond 64 bits."""

from __future__ import annotations

import json
import math

import pytest

from signalling.sockets import codec


@pytest.mark.parametrize(
    "text",
    [
        '["chat_send",{"text":"Grüße aus Ostfildern"}]',
        '["x",[1.5,-0.0,null,true]]',
        '{"deep":' * 50 + "1" + "}" * 50,
    ],
)
def test_it_reads_what_the_standard_library_reads(text: str) -> None:
    assert codec.loads(text) == json.loads(text)


def test_an_integer_beyond_64_bits_reads_as_a_float() -> None:
    """orjson's one difference: no field of the protocol takes such a number either
    way (the validation answers ``invalid_payload`` for both)."""
    assert codec.loads('{"n":123456789012345678901234567890}') == {"n": 1.2345678901234568e29}


def test_infinity_and_nan_read_as_before() -> None:
    value = codec.loads("[Infinity,-Infinity,NaN]")
    assert value[:2] == [math.inf, -math.inf] and math.isnan(value[2])


def test_it_refuses_what_is_no_json_at_all() -> None:
    with pytest.raises(ValueError):
        codec.loads('["cut short",')


def test_it_writes_compact_json_the_standard_library_reads_back() -> None:
    data = ["queue_updated", {"position": 3, "name": "Jürgen", 7: None}]
    text = codec.dumps(data, separators=(",", ":"))
    assert " " not in text
    assert json.loads(text) == ["queue_updated", {"position": 3, "name": "Jürgen", "7": None}]
