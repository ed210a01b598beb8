"""The JSON codec of the Socket.IO server: orjson behind the ``json`` module's face.

python-socketio and python-engineio encode and decode every packet with the module
they are given (``dumps``/``loads``, called with the standard library's keyword
arguments). orjson does both several times faster, which counts on the relay path,
where each message is decoded once and encoded twice (the event and its ack). Its
output is always compact, as the library asks for anyway, and plain UTF-8 where the
standard library escapes non-ASCII: both are the same JSON to a client. It reads what
the standard library reads, but for integers beyond 64 bits, which orjson reads as
floats: no field of the protocol accepts such a number either way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Keys that are not strings (an int) become strings, as json.dumps makes them.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, option=_OPTIONS).decode()


def loads(text: str | bytes, **kwargs: Any) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # NaN and Infinity are no JSON, but the standard library reads them: as before.
        return json.loads(text, **kwargs)
