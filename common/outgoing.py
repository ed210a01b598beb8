"""What a server-to-client event is, for every layer that makes one: the socket layer
sends them, and the capture desk in ``media`` makes its own without knowing sockets."""

from __future__ import annotations

from typing import Any, Protocol


class Outgoing(Protocol):
    """A server-to-client event: its name and its JSON payload."""

    @property
    def name(self) -> str: ...

    def payload(self) -> Any: ...
